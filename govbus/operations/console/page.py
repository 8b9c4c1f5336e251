"""The console's page (pure): the last :class:`~govbus.operations.status.BusStatus` as tables, and the samples
as charts; one HTML document with inline CSS and SVG, no script, nothing fetched from elsewhere.

The page reloads itself every sample interval (``<meta http-equiv="refresh">``). Every text that comes from
the bus (topic, group, subscription, item, department and system names, Chinese titles, error messages) goes
through :func:`html.escape`; the document is UTF-8.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from govbus.operations.console.charts import legend, svg_chart
from govbus.operations.console.history import Sample, Series, dead_letters, lag, throughput
from govbus.operations.status import BusStatus
from govbus.operations.status import duration as age

STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .3em} h2{font-size:1.1em;margin:1.4em 0 .4em}
.badge{display:inline-block;padding:.15em .6em;border-radius:.3em;color:#fff;font-weight:bold}
.healthy{background:#2e7d32} .unhealthy{background:#c62828} .waiting{background:#757575}
table{border-collapse:collapse;background:#fff;margin-bottom:.5em} caption{text-align:left;font-weight:bold}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;font-size:.9em} th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums} .down,.silent{color:#c62828;font-weight:bold}
.up{color:#2e7d32} .charts{display:flex;flex-wrap:wrap;gap:1em} figure{margin:0;background:#fff;padding:.5em;
border:1px solid #ddd} figcaption{font-weight:bold} .chart text{font-size:11px;fill:#555}
.chart text.empty{font-size:14px} ul.legend{list-style:none;padding:0;margin:.2em 0;font-size:.85em}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em} .problems li{color:#c62828}
footer{margin-top:2em;font-size:.85em;color:#666}
"""


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "never"


def _cell(value: object, css: str = "") -> str:
    text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
    kind = " num" if isinstance(value, int | float) and not isinstance(value, bool) else ""
    classes = f"{css}{kind}".strip()
    return f'<td class="{classes}">{escape(text)}</td>' if classes else f"<td>{escape(text)}</td>"


def table(table_id: str, caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]],
          empty: str) -> str:
    """A ``<table>`` of already rendered ``<td>`` cells (see :func:`_cell`), or one paragraph when ``rows`` is
    empty."""
    if not rows:
        return f'<p id="{escape(table_id)}">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows)
    return (f'<table id="{escape(table_id)}"><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _platform(status: BusStatus) -> str:
    rows = [[_cell(name), _cell(check.address), _cell("up" if check.reachable else "down",
                                                       "up" if check.reachable else "down"),
             _cell(f"{check.seconds:.3f} s"), _cell(_when(status.checked_at) if check.reachable else "-"),
             _cell(check.error or "")]
            for name, check in (("broker", status.broker), ("registry", status.registry))]
    rows += [[_cell(c.name), _cell(c.url), _cell("up" if c.up else "down", "up" if c.up else "down"),
              _cell(f"{c.seconds:.3f} s"), _cell(_when(c.last_scrape_at)), _cell(c.error or "")]
             for c in status.components]
    return table("platform", "Broker, registry and components",
                 ("name", "address", "state", "check took", "last answer", "error"), rows, "")


def _subscriptions(status: BusStatus) -> str:
    rows = [[_cell(s.name), _cell(s.group), _cell(s.lag_events), _cell(age(s.lag_seconds)), _cell(age(s.idle_seconds)),
             _cell("silent" if s.silent else "", "silent" if s.silent else "")] for s in status.subscriptions]
    return table("subscriptions", "Subscriptions (their connectors' groups, running or not)",
                 ("subscription", "group", "events waiting", "oldest waiting", "idle", ""), rows,
                 "no subscription" if status.offsets_read else "subscriptions not read")


def _groups(status: BusStatus) -> str:
    rows = [[_cell(g.group), _cell(g.lag_events), _cell(age(g.lag_seconds))] for g in status.groups]
    return table("groups", "Other consumer groups", ("group", "events waiting", "oldest waiting"), rows,
                 "no other consumer group")


def _dead_letters(status: BusStatus) -> str:
    rows = [[_cell(t.topic), _cell(t.kind), _cell(t.last_hour if t.last_hour is not None else "-"),
             _cell(t.end_offset)]
            for t in status.topics if t.kind in ("dead-letter", "parked")]
    caption = (f"Dead letters ({status.dead_letters_last_hour:,}) and parked events ({status.parked_last_hour:,}) "
               "in the last hour")
    return table("dead-letters", caption, ("topic", "kind", "last hour", "end offset"), rows,
                 "no dead-letter or parked topic")


def _silent_sources(status: BusStatus) -> str:
    rows = [[_cell(s.department), _cell(f"{s.item} {s.item_title}"), _cell(s.source_system), _cell(s.update_cycle),
             _cell(_when(s.last_event_at)), _cell(age(s.silent_for_seconds), "silent")] for s in status.silent_sources]
    judged = "sources not judged" if status.sources_judged is None else \
        f"no silent source among {status.sources_judged}"
    return table("silent-sources", "Silent sources", ("department", "item", "source system", "update cycle",
                                                      "last event", "silent for"), rows, judged)


def _silent_systems(status: BusStatus) -> str:
    rows = [[_cell(f"{s.system} {s.name}"), _cell(s.department), _cell(_when(s.last_event_at)),
             _cell("never published" if s.never_published else age(s.silent_for_seconds), "silent")]
            for s in status.silent_systems]
    return table("silent-systems", "Silent systems (register)", ("system", "department", "last event", "silent"),
                 rows, "no silent system")


def _grants(status: BusStatus) -> str:
    rows = [[_cell(g.grant), _cell(g.department), _cell(g.subscriber), _cell(g.item), _cell(_when(g.expires_at)),
             _cell(age(max(g.expires_in_seconds, 0)))] for g in status.grants_expiring]
    return table("grants", "Grants expiring soon", ("grant", "department", "subscriber", "item", "expires at",
                                                    "in"), rows, "no grant expires soon")


def _figure(chart_id: str, title: str, series: Sequence[Series], unit: str) -> str:
    return f"<figure><figcaption>{escape(title)}</figcaption>{svg_chart(chart_id, title, series)}" \
           f"{legend(series, unit)}</figure>"


def charts(samples: Sequence[Sample]) -> str:
    """The throughput, lag and dead-letter charts of ``samples``."""
    return ('<section class="charts">'
            + _figure("chart-throughput", "Throughput (events/s)", [throughput(samples, "dept"),
                                                                   throughput(samples, "canonical")], "events/s")
            + _figure("chart-lag", "Lag per subscription (events waiting)", lag(samples), "events")
            + _figure("chart-dead-letters", "Dead letters and parked events (in the hour before each sample)",
                      dead_letters(samples), "events")
            + "</section>")


def _items(list_id: str, css: str, texts: Sequence[str]) -> str:
    if not texts:
        return ""
    return f'<ul id="{list_id}" class="{css}">' + "".join(f"<li>{escape(t)}</li>" for t in texts) + "</ul>"


def problems(count: int) -> str:
    return "1 problem" if count == 1 else f"{count} problems"


def _header(status: BusStatus | None, samples: int, interval: float) -> str:
    if status is None:
        return '<h1>Bus status <span class="badge waiting">waiting for the first sample</span></h1>'
    word, css = ("healthy", "healthy") if status.healthy else (problems(len(status.problems)), "unhealthy")
    return (f'<h1>Bus status, topic prefix {escape(status.topic_prefix)} <span id="health" class="badge {css}">'
            f"{escape(word)}"
            f'</span></h1><p>checked at {escape(_when(status.checked_at))} (took {status.seconds:.2f} s); '
            f"{samples} samples, one every {interval:g} s</p>"
            + _items("problems", "problems", status.problems) + _items("notes", "notes", status.notes))


def render(status: BusStatus | None, samples: Sequence[Sample], interval: float) -> str:
    """The whole page (UTF-8 HTML)."""
    body = [_header(status, len(samples), interval), charts(samples)]
    if status is not None:
        body += ["<h2>Platform</h2>", _platform(status), "<h2>Lag</h2>", _subscriptions(status), _groups(status),
                 "<h2>Dead letters and parked events</h2>", _dead_letters(status), "<h2>Silence</h2>",
                 _silent_sources(status), _silent_systems(status), "<h2>Grants</h2>", _grants(status)]
    refresh = max(1, round(interval))
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="{refresh}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>govbus console</title><style>{STYLE}</style></head><body>{''.join(body)}"
            '<footer>Also: <a href="status.json">status.json</a> (as <code>govbus status --json</code>), '
            '<a href="history.json">history.json</a>, <a href="metrics">metrics</a>.</footer></body></html>')
