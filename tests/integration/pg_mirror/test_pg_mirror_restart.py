"""PostgreSQL restarts (crash-like: ``pg_ctl stop -m immediate``) while events flow: nothing is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mirror_support import MirrorProcess, as_rows, keyed_rows, restart_cluster, table_rows, wait_for

from govbus.platform.postgres import PrivateCluster
from schemas.catalogue import load_catalogue
from testsupport.canonical import CanonicalWriter, change_scenario, last_state


def test_mirror_survives_a_postgres_restart_mid_stream(
        canonical: Callable[..., CanonicalWriter], mirror: Callable[..., MirrorProcess], mirror_dsn: str,
        mirror_cluster: PrivateCluster) -> None:
    item = load_catalogue().get("affordable_housing_allocation")
    writer = canonical(item.name, partitions=3)
    steps = change_scenario(item, keys=1500, updates=1500, deletes=200, tombstones=100, seed=11)
    process = mirror(GOVBUS_MIRROR_ITEM=item.name, GOVBUS_MIRROR_DSN=mirror_dsn, GOVBUS_MIRROR_TABLE="housing",
                     GOVBUS_MIRROR_BATCH_SIZE="50")
    chunks = [steps[i:i + 100] for i in range(0, len(steps), 100)]

    def produce() -> None:  # about 100 events every 0.2 s: the stream outlives the outage
        for chunk in chunks:
            writer.write(chunk)
            time.sleep(0.2)

    producer = threading.Thread(target=produce)
    producer.start()
    wait_for(lambda: len(table_rows(mirror_dsn, "housing")) > 100, 30, "the first rows", process)
    restart_cluster(mirror_cluster, down_seconds=3)
    producer.join()

    expected = as_rows(last_state(steps), set())
    wait_for(lambda: keyed_rows(table_rows(mirror_dsn, "housing"), item.key_fields) == expected, 90,
             "the table to equal the last state per key after the restart", process)
    assert process.metric("govbus_mirror_errors_total", cause="OperationalError") >= 1, process.log()[-2000:]
    assert process.metric("govbus_mirror_errors_total", cause="bad_event") == 0
    assert process.alive()
