"""`govbus demo`: the whole bus on the local embedded platform, narrated for a newcomer.

1. the platform (Kafka + schema registry) comes up, or is reused;
2. the catalogue's topics and schemas are created under a prefix of this run's own;
3. several departments publish through every path: the SDK, a bulk file, the HTTP gateway and a
   PostgreSQL outbox;
4. the stream processors start and run until the end: the normaliser (department and local-dialect
   topics -> canonical events or dead letters, in Kafka transactions) and the profile builder;
5. the walking skeleton: market regulation's existing producer publishes enterprise registrations,
   the normaliser dead-letters the bad ones with their reasons, and the rest is pushed to a
   subscriber over HTTP;
6. local dialects are normalised while two subscribers receive live (a signed webhook, the public
   feed); duplicates are dropped and profiles joined;
7. each part ends with what flowed where and what was rejected, and why;
8. every party runs as its own principal (departments, processors, the subscriber and its connector,
   the public feed; the platform's own steps, topic and schema sync and the walking skeleton's reference
   HTTP pusher, as the administrator): the last table shows forbidden requests and what the broker and
   registry answered.

Processes the demo starts are stopped by PID when it ends; the platform keeps running
(`govbus dev down` stops it).
"""

from __future__ import annotations

import uuid

from rich.console import Console

from govbus.demo.access_step import print_access, secure_run
from govbus.demo.context import DemoContext, start_platform
from govbus.demo.paths import publish_through_every_path
from govbus.demo.skeleton import run_skeleton
from govbus.demo.streams_step import (
    normaliser_app_id,
    print_streams_summary,
    profiles_app_id,
    run_streams,
    stream_processors,
)
from govbus.demo.summary import print_paths_summary


def run_demo(count: int, invalid_share: float, console: Console, with_outbox: bool = True) -> None:
    console.rule("[bold]govbus demo: sharing government data items as event streams")
    context = DemoContext(start_platform(console), run=uuid.uuid4().hex[:6], console=console,
                          invalid_share=invalid_share)
    context.prepare_catalogue()
    secure_run(context, {"normaliser": normaliser_app_id(context), "profiles": profiles_app_id(context)})
    results = publish_through_every_path(context, with_outbox=with_outbox)
    print_paths_summary(console, results)
    with stream_processors(context) as processors:
        run_skeleton(context, count, processors)
        sent = run_streams(context, processors)
    print_streams_summary(context, sent)
    print_access(context)
    console.print(f"logs of this run: {context.logs}; the platform keeps running: stop it with `govbus dev down`")
