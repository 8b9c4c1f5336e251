"""Departments publishing through every path: the SDK, a bulk file, the HTTP gateway, a PostgreSQL outbox."""

from __future__ import annotations

import csv
import json

from connectors.file_source import load_file
from govbus.demo.context import DemoContext
from govbus.demo.gateway_path import via_gateway
from govbus.demo.outbox_path import via_outbox
from govbus.demo.results import PathResult, jsonable
from govbus.demo.synthetic_items import records_for
from govbus.exceptions import GovbusError, ValidationError
from govbus.identities import principal_key
from govbus.publisher import Publisher, PublisherSettings
from schemas.catalogue import load_catalogue


def publisher_settings(context: DemoContext, department: str) -> PublisherSettings:
    """A Publisher of ``department``, authenticating as that department's principal."""
    key = principal_key("department", department)
    return PublisherSettings(kafka=context.kafka_as(key), registry=context.registry_as(key),
                             topic_prefix=context.prefix)


def via_sdk(context: DemoContext, count: int = 150) -> PathResult:
    """Civil affairs' registration system calls the Publisher SDK directly."""
    item = "social_organisation_registration"
    result = PathResult("civil-affairs", "Python SDK", item)
    records = records_for(load_catalogue().get(item), count, context.invalid_share, seed=11)
    settings = publisher_settings(context, "civil-affairs")
    with Publisher("civil-affairs", "social-org-registry", settings=settings) as publisher:
        for synthetic in records:
            result.sent += 1
            try:
                publisher.publish(item, synthetic.record)
            except ValidationError as error:
                result.reject(error.field, error.rule, str(error))
        report = publisher.flush()
    result.accepted = report.delivered
    for failure in report.failures:
        result.reject("", "delivery", failure)
    return result


def via_bulk_file(context: DemoContext, count: int = 200) -> PathResult:
    """Education exports degree certifications to CSV and bulk-loads the file (`govbus publish`)."""

    item = "degree_certification"
    synthetic = records_for(load_catalogue().get(item), count, context.invalid_share, seed=12)
    records = [jsonable(s.record) for s in synthetic]
    context.logs.mkdir(parents=True, exist_ok=True)
    source = context.logs / "degrees.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    result = PathResult("education", "bulk CSV file", item, sent=len(records))
    with Publisher("education", "degree-archive", settings=publisher_settings(context, "education")) as publisher:
        report = load_file(publisher, item, source)
    result.accepted = report.accepted
    for rejection in report.rejected:
        result.reject(rejection.field, rejection.rule, f"line {rejection.line}: {rejection.reason}")
    (context.logs / "degrees-report.json").write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    result.note = f"govbus publish {item} {source.name} --department education --report degrees-report.json"
    return result


def publish_through_every_path(context: DemoContext, with_outbox: bool = True) -> list[PathResult]:

    steps = [("civil affairs: SDK", via_sdk), ("education: bulk CSV", via_bulk_file),
             ("taxation: HTTP gateway", via_gateway)]
    if with_outbox:
        steps.append(("natural resources: PostgreSQL outbox", via_outbox))
    results = []
    with context.progress() as progress:
        task = progress.add_task("departments publishing", total=len(steps))
        for label, step in steps:
            progress.update(task, description=f"publishing: {label}")
            try:
                results.append(step(context))
            except GovbusError as error:
                context.console.print(f"[yellow]{label} could not run: {error}[/]")
            progress.advance(task)
    return results
