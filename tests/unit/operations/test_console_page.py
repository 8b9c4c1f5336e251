"""The console without a broker: SVG charts (points -> polyline, empty series, scaling, escaping), the ring buffer
of samples and the series made from it, the page (escaped, UTF-8, no script) and its routes."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from govbus.operations.console.charts import Box, legend, polyline_points, round_up, svg_chart, x_range
from govbus.operations.console.history import History, Sample, Series, dead_letters, lag, throughput
from govbus.operations.console.page import render
from govbus.operations.console.server import Console, ConsoleMetrics
from govbus.operations.console.settings import ConsoleSettings
from govbus.operations.status import BusStatus, Check, SilentSource, SubscriptionRow, TopicActivity, duration
from govbus.ports import free_port

BARE = Box(width=100, height=60, left=0, right=0, top=0, bottom=0)
T0 = 1_796_000_000.0


def test_points_become_a_polyline_in_the_box() -> None:
    assert polyline_points([(T0, 0.0), (T0 + 10, 5.0), (T0 + 5, 10.0)], (T0, T0 + 10), 10.0, BARE) == \
        "0.0,60.0 100.0,30.0 50.0,0.0"
    margins = Box(width=120, height=80, left=10, right=10, top=5, bottom=15)
    assert polyline_points([(T0, 0.0), (T0 + 1, 2.0)], (T0, T0 + 1), 2.0, margins) == "10.0,65.0 110.0,5.0"


def test_an_empty_chart_says_so_and_draws_no_line() -> None:
    for series in ([], [Series("lag", ())]):
        svg = svg_chart("chart-lag", "Lag", series)
        assert "no data yet" in svg and "<polyline" not in svg and svg.startswith('<svg id="chart-lag"')
    assert legend([Series("lag", ())], "events") == ""


def test_a_chart_draws_each_series_with_its_raw_values_escaped() -> None:
    svg = svg_chart("c", "Lag <per> subscription", [Series("订阅<a&b>", ((T0, 1.0), (T0 + 15, 3.0))),
                                                     Series("other", ((T0 + 15, 7.0),))])
    lines = re.findall(r'<polyline class="series" data-series="([^"]*)" data-values="([^"]*)" points="([^"]*)"', svg)
    assert [(name, values) for name, values, _ in lines] == [("订阅&lt;a&amp;b&gt;", "1 3"), ("other", "7")]
    assert lines[0][2] == polyline_points(((T0, 1.0), (T0 + 15, 3.0)), (T0, T0 + 15), 10.0, Box())
    assert "Lag &lt;per&gt; subscription" in svg and "<per>" not in svg
    assert ">10</text>" in svg, "the y axis ends at a round number above the largest value"
    assert "订阅&lt;a&amp;b&gt;: 3 events" in legend([Series("订阅<a&b>", ((T0, 3.0),))], "events")


def test_a_single_time_gets_a_one_second_span() -> None:
    assert x_range([Series("a", ((T0, 1.0),))]) == (T0 - 1, T0)
    assert x_range([Series("a", ((T0, 1.0),)), Series("b", ((T0 + 4, 1.0),))]) == (T0, T0 + 4)


@pytest.mark.parametrize(("value", "top"), [(0, 1), (-3, 1), (0.3, 0.5), (1, 1), (7, 10), (12, 20), (100, 100),
                                            (101, 200), (4_999, 5_000)])
def test_round_up(value: float, top: float) -> None:
    assert round_up(value) == pytest.approx(top)


def sample(at: float, dept: int | None, lags: dict[str, int], dead: int = 0) -> Sample:
    ends = None if dept is None else {"dept": dept, "canonical": dept * 2}
    return Sample(at=at, ends=ends, lag=lags, dead_letters=None if dept is None else dead,
                  parked=None if dept is None else 0)


def test_the_history_keeps_the_window_and_the_series_follow_the_samples() -> None:
    history = History(window=60, interval=15)
    for index in range(8):
        history.add(sample(T0 + 15 * index, dept=100 + 30 * index, lags={"a": index, "b": 10 - index}))
    kept = history.samples()
    assert [s.at for s in kept] == [T0 + 15 * i for i in range(3, 8)], "60 s back from the last sample"
    assert throughput(kept, "dept").points == tuple((T0 + 15 * i, 2.0) for i in range(4, 8))
    assert throughput(kept, "canonical").points[0] == (T0 + 60, 4.0)
    assert [s.name for s in lag(kept)] == ["a", "b"] and lag(kept)[0].points[-1] == (T0 + 105, 7.0)
    assert [s.name for s in lag(kept, limit=1)] == ["a"]


def test_a_sample_without_offsets_breaks_the_throughput_and_a_fall_counts_zero() -> None:
    samples = [sample(T0, 10, {}), sample(T0 + 10, None, {}), sample(T0 + 20, 50, {}), sample(T0 + 30, 40, {}, dead=3)]
    assert throughput(samples, "dept").points == ((T0 + 30, 0.0),)
    assert dead_letters(samples)[0].points == ((T0, 0.0), (T0 + 20, 0.0), (T0 + 30, 3.0))


def status(healthy: bool = False) -> BusStatus:
    now = dt.datetime.fromtimestamp(T0, dt.UTC)
    return BusStatus(
        checked_at=now, seconds=0.4, topic_prefix="govbus", healthy=healthy,
        problems=[] if healthy else ["source credit/credit_record/x<script> is silent"], notes=["a <b>note</b>"],
        broker=Check(address="127.0.0.1:9092", reachable=True, seconds=0.01),
        registry=Check(address="http://127.0.0.1:8081", reachable=False, seconds=0.2, error="refused <here>"),
        components=[], subscriptions=[SubscriptionRow(name="sub-<a>", group="govbus.subscription.sub-<a>",
                                                      lag_events=1234, lag_seconds=90, idle_seconds=90, silent=True)],
        groups=[], offsets_read=True,
        topics=[TopicActivity(topic="govbus.dead-letter.credit_record", kind="dead-letter", end_offset=9, last_hour=2)],
        dead_letters_last_hour=2, parked_last_hour=0, sources_judged=1,
        silent_sources=[SilentSource(department="credit", item="credit_record", item_title="行政许可和行政处罚信用信息",
                                     source_system="x<script>", update_cycle="daily", last_event_at=now,
                                     silent_for_seconds=3 * 86_400, allowed_silence_seconds=90_000)],
        silent_systems=[], grants_expiring=[])


def test_the_page_is_utf8_escaped_script_free_and_reloads_itself() -> None:
    page = render(status(), [sample(T0, 10, {"sub-<a>": 1}), sample(T0 + 15, 40, {"sub-<a>": 5})], 15)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert '<meta http-equiv="refresh" content="15">' in page
    assert "<script" not in page and "x&lt;script&gt;" in page and "a &lt;b&gt;note&lt;/b&gt;" in page
    assert "行政许可和行政处罚信用信息" in page and "refused &lt;here&gt;" in page
    assert 'id="chart-lag"' in page and 'data-values="1 5"' in page and 'data-values="2"' in page
    assert '<span id="health" class="badge unhealthy">1 problem</span>' in page
    assert "1,234" in page and "3 d 0 h" in page
    waiting = render(None, [], 0.5)
    assert "waiting for the first sample" in waiting and '<meta http-equiv="refresh" content="1">' in waiting


@pytest.mark.parametrize(("seconds", "text"), [(None, "-"), (5, "5 s"), (65, "1 min 5 s"), (3_700, "1 h 1 min"),
                                                (90_000, "1 d 1 h")])
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_the_routes_answer_from_the_last_sample() -> None:
    settings = ConsoleSettings(console_port=free_port(), console_sample_seconds=1)
    statuses = iter([status(healthy=True)])
    console = Console(settings, lambda: next(statuses), ConsoleMetrics(CollectorRegistry()))
    try:
        code, kind, body = console.respond("/status.json")
        assert code == 503 and json.loads(body)["error"] == "no_sample_yet"
        console.sample()
        console.sample()  # the iterator is empty now: a failed sample keeps the last one, and is counted
        code, kind, body = console.respond("/status.json?x=1")
        assert (code, kind) == (200, "application/json") and json.loads(body)["healthy"] is True
        assert json.loads(console.respond("/history.json")[2])["samples"][0]["dead_letters"] == 2
        metrics = console.respond("/metrics")[2].decode()
        assert "govbus_console_samples_total 1.0" in metrics and "govbus_console_sample_failures_total 1.0" in metrics
        assert console.respond("/")[1] == "text/html; charset=utf-8"
        assert console.respond("/nowhere")[0] == 404 and console.respond("/healthz")[2] == b"ok\n"
        serving = threading.Thread(target=console.server.serve_forever, daemon=True)
        serving.start()
        with urllib.request.urlopen(console.url, timeout=5) as answer:  # the real server: headers and body
            assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert "healthy" in answer.read().decode()
        console.server.shutdown()
        serving.join(timeout=5)
    finally:
        console.server.server_close()
