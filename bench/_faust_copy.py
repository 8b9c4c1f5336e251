"""A faust agent doing nothing but copying bytes (the floor of faust's own cost), for bench_normaliser.

    BENCH_SOURCES=a,b,c BENCH_SINK=t BENCH_APP_ID=x BENCH_METRICS_PORT=n BENCH_BOOTSTRAP=h:p python -m bench._faust_copy

Same app settings as the normaliser (memory store, acks=-1, linger 5 ms, 1 MiB batches); counts what
it read in ``govbus_normaliser_records_processed_total`` so the benchmark measures it the same way.
"""

from __future__ import annotations

import os
from typing import Any

import faust
from prometheus_client import CollectorRegistry, Counter, start_http_server


def main() -> None:
    collector = CollectorRegistry()
    processed = Counter("govbus_normaliser_records_processed", "Records read", registry=collector)
    start_http_server(int(os.environ["BENCH_METRICS_PORT"]), addr="127.0.0.1", registry=collector)
    app = faust.App(os.environ["BENCH_APP_ID"], broker=f"kafka://{os.environ['BENCH_BOOTSTRAP']}",
                    store="memory://", topic_partitions=3, broker_session_timeout=10, broker_heartbeat_interval=2,
                    consumer_auto_offset_reset="earliest", web_enabled=False, producer_acks=-1,
                    producer_linger_ms=5, producer_max_batch_size=1_048_576)
    source = app.topic(*os.environ["BENCH_SOURCES"].split(","), key_serializer="raw", value_serializer="raw")
    sink = app.topic(os.environ["BENCH_SINK"], key_serializer="raw", value_serializer="raw")

    async def copy(stream: Any) -> None:
        async for event in stream.events():
            processed.inc()
            await sink.send(key=event.key, value=event.value)

    app.agent(source, name="copy")(copy)
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
