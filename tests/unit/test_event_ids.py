"""Event ids cut from blocks of os.urandom are version-4 UUIDs, unique, also when threads share the source."""

from __future__ import annotations

import threading
import uuid

from govbus.event_ids import EventIds


def test_ids_are_random_version_4_uuids_and_unique_across_blocks() -> None:
    ids = EventIds()
    made = [ids.new() for _ in range(5000)]  # about 20 blocks
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in made)
    assert len(set(made)) == len(made)


def test_threads_sharing_the_source_never_get_the_same_id() -> None:
    ids, found = EventIds(), []
    lock = threading.Lock()

    def take() -> None:
        mine = [ids.new() for _ in range(2000)]
        with lock:
            found.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8000 and len(set(found)) == 8000
