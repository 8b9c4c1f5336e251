"""A registry restarted on the same topic serves exactly what it served before; ids are never reused."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from govbus.platform.registry_process import RegistryProcess


def schema(name: str, *fields: str) -> dict[str, str]:
    record = {
        "type": "record",
        "name": name,
        "fields": [{"name": f, "type": ["null", "string"], "default": None} for f in fields],
    }
    return {"schema": json.dumps(record)}


def snapshot(url: str) -> dict[str, Any]:
    """Everything a client can read: subjects, versions (deleted too), schemas by id, configs, modes."""
    with httpx.Client(base_url=url, timeout=20) as http:

        def read(path: str, **params: str) -> tuple[int, Any]:
            response = http.get(path, params=params)
            return response.status_code, response.json()

        subjects = http.get("/subjects", params={"deleted": "true"}).json()
        state: dict[str, Any] = {
            "subjects": subjects,
            "live": read("/subjects"),
            "global": (read("/config"), read("/mode")),
        }
        for subject in subjects:
            numbers = http.get(f"/subjects/{subject}/versions", params={"deleted": "true"}).json()
            state[subject] = {
                "versions": [read(f"/subjects/{subject}/versions/{n}", deleted="true") for n in numbers],
                "live": read(f"/subjects/{subject}/versions"),
                "latest": read(f"/subjects/{subject}/versions/latest"),
                "config": read(f"/config/{subject}"),
                "mode": read(f"/mode/{subject}"),
            }
        ids = sorted({v[1]["id"] for s in subjects for v in state[s]["versions"]})
        state["ids"] = {i: (read(f"/schemas/ids/{i}"), read(f"/schemas/ids/{i}/versions", deleted="true")) for i in ids}
        return state


def test_everything_survives_a_restart_and_ids_are_not_reused(
    start_registry: Callable[..., RegistryProcess], registry_topic: str
) -> None:
    first = start_registry(registry_topic)
    with httpx.Client(base_url=first.url, timeout=20) as http:

        def register(subject: str, body: dict[str, str]) -> int:
            response = http.post(f"/subjects/{subject}/versions", json=body)
            assert response.status_code == 200, response.text
            return int(response.json()["id"])

        shared = register("orders-value", schema("Order", "a"))
        assert register("orders-value", schema("Order", "a", "b")) == shared + 1
        assert register("invoices-value", schema("Order", "a")) == shared
        register("archive-value", schema("Archive", "x"))
        register("archive-value", schema("Archive", "x", "y"))
        assert http.delete("/subjects/archive-value/versions/1").json() == 1
        gone = register("temporary-value", schema("Temporary", "t"))
        assert http.delete("/subjects/temporary-value").json() == [1]
        assert http.delete("/subjects/temporary-value", params={"permanent": "true"}).json() == [1]
        assert http.put("/config", json={"compatibility": "FORWARD"}).status_code == 200
        assert http.put("/config/orders-value", json={"compatibility": "NONE"}).status_code == 200
        assert http.put("/mode/invoices-value", json={"mode": "READONLY"}).status_code == 200
        assert http.get(f"/schemas/ids/{gone}").status_code == 404

    before = snapshot(first.url)
    assert before["subjects"] == ["archive-value", "invoices-value", "orders-value"]
    assert before["global"][0] == (200, {"compatibilityLevel": "FORWARD"})
    assert before["invoices-value"]["mode"] == (200, {"mode": "READONLY"})

    first.stop()
    assert not first.running()
    second = start_registry(registry_topic, port=int(first.url.rsplit(":", 1)[1]))  # same address
    assert snapshot(second.url) == before

    with httpx.Client(base_url=second.url, timeout=30) as http:
        response = http.post("/subjects/fresh-value/versions", json=schema("Fresh", "f"))
        assert response.status_code == 200, response.text
        fresh = response.json()["id"]
        assert fresh == gone + 1  # the permanently deleted schema's id is not handed out again
        assert fresh not in before["ids"]
        blocked = http.post("/subjects/invoices-value/versions", json=schema("Order", "a", "c"))
        assert blocked.json()["error_code"] == 42205  # the subject's READONLY mode survived too
