"""What the six govbus dashboards show, panel by panel (:mod:`deploy.grafana.panels` builds them).

1. throughput: records per second into every topic (the rate of the exporter's end offsets, by kind and topic),
   what the publishing paths published or refused, what the normaliser read, made canonical and rejected, and
   what the delivery connectors delivered;
2. latency: p50/p95/p99 of every histogram, publish-to-delivery (``published_at`` to the receiver's 2xx or the
   delivery topic's acknowledgement) first;
3. lag: each subscription's and consumer group's lag in events and seconds (the exporter), and the lag the stream
   processors and sink runtimes see themselves;
4. dead letters: the dead-letter and parked topics' growth, the normaliser's rejections by item, stage and rule,
   parked deliveries, refused outbox rows and the sink runtime's bad records;
5. silence: sources, source systems and subscriptions that went quiet (the exporter's 0/1 gauges and seconds);
6. grants: days left before each active grant expires.

Metric names are the exporter's (issue #12's shared spec) and the components' own, as prometheus_client exposes
them (a Counter ``x`` is scraped as ``x_total``); a unit test checks each name against the code.
"""

from __future__ import annotations

from collections.abc import Callable

from grafana_foundation_sdk.models.dashboard import Dashboard

from deploy.grafana.panels import (
    NEUTRAL,
    Column,
    Query,
    Section,
    Steps,
    dashboard,
    quantiles,
    rate,
    stat,
    table,
    timeseries,
)

DAY = 86400
EXPIRING_DAYS = 30
URGENT_DAYS = 7
DAYS_LEFT: Steps = ((None, "red"), (URGENT_DAYS, "orange"), (EXPIRING_DAYS, "green"))
STALE_AFTER: Steps = ((None, "green"), (60, "orange"), (300, "red"))
"""seconds since the exporter's last refresh (it refreshes every 15 s by default; the broker alert fires at 300)"""


def throughput() -> Dashboard:
    topics = Section("Topics (the exporter's end offsets)", [
        timeseries("Records per second by kind of topic", "rate of govbus_topic_end_offset summed by kind "
                   "(dept, local, canonical, dead-letter, parked, profile, delivery, audit, control, other)",
                   "recps", Query(rate("govbus_topic_end_offset", "kind"), "{{kind}}")),
        timeseries("Records per second by topic", "rate of govbus_topic_end_offset per topic", "recps",
                   Query(rate("govbus_topic_end_offset", "kind, topic"), "{{topic}}")),
    ])
    publishing = Section("Publishing", [
        timeseries("Published per second, by path", "records the broker acknowledged: the Publisher SDK per topic, "
                   "the HTTP gateway per item, the PostgreSQL outbox per connector", "recps",
                   Query(rate("govbus_publisher_records_published_total", "topic"), "SDK {{topic}}"),
                   Query(rate("govbus_gateway_records_total", "item", '{outcome="accepted"}'), "gateway {{item}}"),
                   Query(rate("govbus_outbox_rows_published_total", "connector"), "outbox {{connector}}")),
        timeseries("Not published, per second", "records the broker did not acknowledge (SDK) and gateway records "
                   "rejected or failed", "recps",
                   Query(rate("govbus_publisher_records_failed_total", "topic"), "SDK failed {{topic}}"),
                   Query(rate("govbus_gateway_records_total", "item, outcome", '{outcome!="accepted"}'),
                         "gateway {{outcome}} {{item}}")),
    ])
    normaliser = Section("Normaliser", [
        timeseries("Normaliser: read, canonical, rejected per second", "records read from the department topics, "
                   "written to the canonical topics and sent to the dead-letter topics, per item", "recps",
                   Query(rate("govbus_normaliser_records_processed_total", "item"), "read {{item}}"),
                   Query(rate("govbus_normaliser_records_canonical_total", "item"), "canonical {{item}}"),
                   Query(rate("govbus_normaliser_records_rejected_total", "item"), "rejected {{item}}"),
                   width=24),
    ])
    delivery = Section("Delivery", [
        timeseries("Delivered per second, by subscription", "events the webhook receivers acknowledged, events "
                   "written to the delivery topics, events the PostgreSQL mirrors read, events the reference push "
                   "delivered", "eps",
                   Query(rate("govbus_webhook_delivered_total", "subscription"), "webhook {{subscription}}"),
                   Query(rate("govbus_kafka_delivery_delivered_total", "subscription"), "kafka {{subscription}}"),
                   Query(rate("govbus_mirror_events_total", "mirror"), "mirror {{mirror}}"),
                   Query("sum(rate(govbus_push_delivered_total[$__rate_interval]))", "reference push"),
                   width=24),
    ])
    return dashboard("govbus-throughput", "govbus: throughput", "Records per second through the bus: topics, "
                     "publishing paths, the normaliser and delivery", [topics, publishing, normaliser, delivery])


def latency() -> Dashboard:
    delivery = Section("Publish to delivery (from the event's published_at)", [
        quantiles("Webhook: published to the receiver's 2xx", "govbus_webhook_end_to_end_seconds",
                  "govbus_webhook_end_to_end_seconds", "subscription"),
        quantiles("Kafka delivery: published to acknowledged", "govbus_kafka_delivery_end_to_end_seconds",
                  "govbus_kafka_delivery_end_to_end_seconds", "subscription"),
    ])
    processing = Section("Processing", [
        quantiles("Normaliser: one record", "govbus_normaliser_latency_seconds, per item",
                  "govbus_normaliser_latency_seconds", "item"),
        quantiles("Profile builder: one message", "govbus_profile_latency_seconds, per stage",
                  "govbus_profile_latency_seconds", "stage"),
    ])
    steps = Section("Delivery and publishing steps", [
        quantiles("Webhook: one POST that got a 2xx", "govbus_webhook_request_seconds",
                  "govbus_webhook_request_seconds", "subscription"),
        quantiles("Webhook: one batch, retries included", "govbus_webhook_batch_seconds",
                  "govbus_webhook_batch_seconds", "subscription"),
        quantiles("Kafka delivery: one batch, retries included", "govbus_kafka_delivery_batch_seconds",
                  "govbus_kafka_delivery_batch_seconds", "subscription"),
        quantiles("PostgreSQL mirror: one batch", "govbus_mirror_batch_duration_seconds",
                  "govbus_mirror_batch_duration_seconds", "mirror"),
        quantiles("Outbox: one batch", "govbus_outbox_batch_duration_seconds",
                  "govbus_outbox_batch_duration_seconds", "connector"),
        quantiles("Reference push: one POST", "govbus_push_request_seconds", "govbus_push_request_seconds", "instance"),
        quantiles("Schema registry: one request", "govbus_registry_request_seconds, per route",
                  "govbus_registry_request_seconds", "endpoint"),
    ])
    return dashboard("govbus-latency", "govbus: latency", "p50, p95 and p99 of every govbus histogram, "
                     "publish-to-delivery first", [delivery, processing, steps])


def lag() -> Dashboard:
    subscriptions = Section("Subscriptions (the exporter)", [
        timeseries("Subscription lag, events", "govbus_subscription_lag_events: events waiting for the "
                   "subscription's connector group, running or not", "short",
                   Query("govbus_subscription_lag_events", "{{subscription}}")),
        timeseries("Subscription lag, seconds", "govbus_subscription_lag_seconds: age of the oldest event "
                   "waiting (0 when caught up)", "s", Query("govbus_subscription_lag_seconds", "{{subscription}}")),
        timeseries("Subscription idle", "govbus_subscription_idle_seconds: seconds since the group's committed "
                   "offsets last advanced while events waited", "s",
                   Query("govbus_subscription_idle_seconds", "{{subscription}}"), width=24),
    ])
    groups = Section("Consumer groups (the exporter)", [
        timeseries("Group lag, events", "govbus_group_lag_events: end offset minus committed offset, summed over "
                   "partitions", "short", Query("govbus_group_lag_events", "{{group}} {{topic}}")),
        timeseries("Group lag, seconds", "govbus_group_lag_seconds: age of the oldest unconsumed record", "s",
                   Query("govbus_group_lag_seconds", "{{group}} {{topic}}")),
    ])
    runtimes = Section("As the workers see it", [
        timeseries("Stream processors", "govbus_streams_consumer_lag_records: records after each worker's position, "
                   "summed over partitions", "short",
                   Query("sum by (processor, topic) (govbus_streams_consumer_lag_records)", "{{processor}} {{topic}}")),
        timeseries("Sink runtimes", "govbus_sink_lag_records: records after each sink's committed offset",
                   "short", Query("sum by (sink, topic) (govbus_sink_lag_records)", "{{sink}} {{topic}}")),
    ])
    exporter = Section("The exporter (what the panels above read)", [
        stat("Since the exporter's last refresh", "seconds since the exporter last read the whole broker: the "
             "lag, silence and grant panels are that old", "time() - govbus_exporter_last_refresh_timestamp_seconds",
             unit="s", steps=STALE_AFTER),
        stat("Exporter refresh errors, 1 h", "refresh steps that failed in the last hour (each keeps serving its "
             "last values)", "sum(increase(govbus_exporter_refresh_errors_total[1h])) or vector(0)"),
    ])
    return dashboard("govbus-lag", "govbus: lag", "How far subscriptions, consumer groups and workers are "
                     "behind, in events and seconds", [exporter, subscriptions, groups, runtimes])


def dead_letters() -> Dashboard:
    dead_letter, parked = '{kind="dead-letter"}', '{kind="parked"}'
    totals = Section("Last 24 hours", [
        stat("Dead letters, 24 h", "records added to the dead-letter topics in the last 24 hours",
             f"sum(increase(govbus_topic_end_offset{dead_letter}[1d])) or vector(0)"),
        stat("Parked, 24 h", "records added to the parked topics in the last 24 hours",
             f"sum(increase(govbus_topic_end_offset{parked}[1d])) or vector(0)"),
        stat("Normaliser rejections, 24 h", "govbus_normaliser_records_rejected_total, last 24 hours",
             "sum(increase(govbus_normaliser_records_rejected_total[1d])) or vector(0)"),
        stat("Sink bad records, 24 h", "govbus_sink_bad_messages_total, last 24 hours",
             "sum(increase(govbus_sink_bad_messages_total[1d])) or vector(0)"),
    ])
    topics = Section("Dead-letter and parked topics", [
        timeseries("Dead letters per second, by topic", "rate of the dead-letter topics' end offsets", "recps",
                   Query(rate("govbus_topic_end_offset", "topic", dead_letter), "{{topic}}")),
        timeseries("Parked per second, by topic", "rate of the parked topics' end offsets", "recps",
                   Query(rate("govbus_topic_end_offset", "topic", parked), "{{topic}}")),
    ])
    reasons = Section("Why", [
        timeseries("Normaliser rejections by reason", "govbus_normaliser_records_rejected_total by item, stage and "
                   "rule broken", "recps",
                   Query(rate("govbus_normaliser_records_rejected_total", "item, stage, rule"),
                         "{{item}} {{stage}} {{rule}}"), width=24),
        timeseries("Parked deliveries", "events parked after the last attempt (webhook) or undecodable (Kafka "
                   "delivery), per subscription and item", "eps",
                   Query(rate("govbus_webhook_parked_total", "subscription, item"),
                         "webhook {{subscription}} {{item}}"),
                   Query(rate("govbus_kafka_delivery_parked_total", "subscription, item"),
                         "kafka {{subscription}} {{item}}")),
        timeseries("Refused outbox rows and bad sink records", "outbox rows recorded as rejected by rule; records a "
                   "sink could not handle, by policy applied", "recps",
                   Query(rate("govbus_outbox_rows_rejected_total", "connector, rule"), "outbox {{connector}} {{rule}}"),
                   Query(rate("govbus_sink_bad_messages_total", "sink, policy"), "sink {{sink}} {{policy}}")),
    ])
    return dashboard("govbus-dead-letters", "govbus: dead letters and parked", "What did not go through, where it "
                     "went and why", [totals, topics, reasons])


def silence() -> Dashboard:
    overview = Section("Now", [
        stat("Silent sources", "sources with no event within their item's update cycle plus the grace",
             "sum(govbus_source_silent) or vector(0)"),
        stat("Silent source systems", "systems silent, or declared active and never published",
             "sum(govbus_system_silent) or vector(0)"),
        stat("Systems that never published", "govbus_system_never_published",
             "sum(govbus_system_never_published) or vector(0)"),
        stat("Silent subscriptions", "subscriptions idle longer than GOVBUS_EXPORTER_SUBSCRIBER_SILENT_AFTER_SECONDS",
             "sum(govbus_subscription_silent) or vector(0)"),
    ])
    sources = Section("Sources", [
        table("Sources, silent first", "per department, item and source system: silent or not, and the time since "
              "its last event", Column("silent", "govbus_source_silent", flag=True),
              Column("since last event", "govbus_source_silent_seconds", unit="s")),
        timeseries("Silent sources by department", "sum of govbus_source_silent per department", "short",
                   Query("sum by (department) (govbus_source_silent)", "{{department}}"), width=24),
    ])
    systems = Section("Source systems", [
        table("Source systems, silent first", "per system: silent, never published, and the time since its last "
              "event (empty when it never published)", Column("silent", "govbus_system_silent", flag=True),
              Column("never published", "govbus_system_never_published", flag=True),
              Column("since last event", "time() - (govbus_system_last_event_timestamp_seconds > 0)", unit="s")),
    ])
    subscriptions = Section("Subscriptions", [
        table("Subscriptions, silent first", "per subscription: silent (idle too long while events waited), idle "
              "seconds and events waiting", Column("silent", "govbus_subscription_silent", flag=True),
              Column("idle", "govbus_subscription_idle_seconds", unit="s"),
              Column("events waiting", "govbus_subscription_lag_events")),
    ])
    return dashboard("govbus-silence", "govbus: silent sources, systems and subscriptions", "Who stopped "
                     "publishing or consuming", [overview, sources, systems, subscriptions])


def grants() -> Dashboard:
    days_left = f"(govbus_grant_expiry_timestamp_seconds - time()) / {DAY}"
    overview = Section("Now", [
        stat(f"Grants expiring within {EXPIRING_DAYS} days", "active grants whose expiry is less than "
             f"{EXPIRING_DAYS} days away", f"count({days_left} < {EXPIRING_DAYS}) or vector(0)"),
        stat("Active grants with an expiry", "count of govbus_grant_expiry_timestamp_seconds",
             "count(govbus_grant_expiry_timestamp_seconds) or vector(0)", steps=NEUTRAL),
        stat("Soonest expiry, days", "days left before the next grant expires", f"min({days_left})",
             steps=DAYS_LEFT),
    ])
    table_ = Section("Every active grant", [
        table("Days left per grant", "per department, subscriber, item and grant: days before it expires, soonest "
              "first", Column("days left", days_left, decimals=1, colors=DAYS_LEFT), descending=False),
    ])
    return dashboard("govbus-grants", "govbus: grants", "Days left before each active grant expires",
                     [overview, table_])


DASHBOARDS: tuple[Callable[[], Dashboard], ...] = (throughput, latency, lag, dead_letters, silence, grants)
"""every dashboard, each written to deploy/grafana/dashboards/<uid>.json"""
