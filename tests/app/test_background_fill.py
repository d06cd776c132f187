"""Filling an empty store in the background, as ``careerkg serve`` does: /health answers at once, the rest 503
until the data is in and validated; data that does not conform is reported and never served."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from service import core, dataset
from service.app import create_app
from service.errors import CareerKGError, ValidationFailed
from tests.inprocess import Site, raw_call


def _until(check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time given")
        time.sleep(0.05)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Holds the background fill back until set, so a test sees the service while it fills; the real fill follows."""
    opened = threading.Event()
    real = core.ensure_filled

    def held(*args: Any, **kwargs: Any) -> None:
        assert opened.wait(60)
        real(*args, **kwargs)

    monkeypatch.setattr(core, "ensure_filled", held)
    yield opened
    opened.set()


def _site(data: list[Path], failures: list[CareerKGError]) -> Site:
    return Site(create_app({"store": "memory", "data": data}, fill_failed=failures.append))


def test_health_answers_while_the_store_fills_and_the_rest_waits(gate: threading.Event) -> None:
    failures: list[CareerKGError] = []
    site = _site(dataset.default_paths(), failures)
    try:
        assert site.http.get(site.url + "/health").status_code == 200
        ready = site.http.get(site.url + "/ready")
        assert (ready.status_code, ready.json()["status"]) == (503, "filling")
        for path in ("/api/v1/roles", "/sparql?query=ASK%7B%7D", "/"):
            waiting = site.http.get(site.url + path)
            assert waiting.status_code == 503, path
            assert waiting.headers["Content-Type"] == "application/problem+json"
            assert waiting.headers["Retry-After"] == "5"
            assert waiting.json()["title"] == "Filling"
        # What is wrong with a request itself is said at once; OPTIONS * is about the server, not its data.
        status, headers, _ = raw_call(site, "OPTIONS", "*")
        assert status.startswith("204")
        assert "GET" in headers["Allow"]
        status, _, body = raw_call(site, "get", "/api/v1/roles")
        assert status.startswith("400"), body[:200]
        status, _, _ = raw_call(site, "CONNECT", "127.0.0.1:8080")
        assert status.startswith("405")
        gate.set()
        _until(lambda: site.http.get(site.url + "/ready").status_code == 200)
        roles = site.http.get(site.url + "/api/v1/roles")
        assert roles.status_code == 200
        assert roles.json()["total"] >= 20
        asked = site.http.get(site.url + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
        assert asked.status_code == 200
        assert int(asked.json()["results"]["bindings"][0]["n"]["value"]) == site.core.size()
        assert failures == []
        _until(lambda: gc.get_freeze_count() > 0)  # after the warm-up, what it holds is kept out of its GC's way
    finally:
        site.close()
        gc.unfreeze()


def test_data_that_does_not_conform_is_reported_and_never_served(data_copy: Path) -> None:
    roles = data_copy / "data" / "roles.trig"
    roles.write_text(
        roles.read_text(encoding="utf-8").replace(
            "    a ckg:Role ;\n",
            "    a ckg:Role ;\n    ckg:usesTool <https://w3id.org/careerkg/id/skill/robotics> ;\n",
            1,
        ),
        encoding="utf-8",
    )
    failures: list[CareerKGError] = []
    site = _site([data_copy / "ontology" / "careerkg.ttl", data_copy / "data"], failures)
    try:
        _until(lambda: bool(failures))
        assert isinstance(failures[0], ValidationFailed)
        ready = site.http.get(site.url + "/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not filled: the data cannot be served"
        assert site.http.get(site.url + "/api/v1/roles").status_code == 503
        assert site.core.store.is_empty()
    finally:
        site.close()


def test_the_filling_thread_stays_until_the_store_closes() -> None:
    """Its malloc arena holds the holes the fill freed among the store's memory: while it lives no request thread
    (which forks the query workers) is given that arena. It ends when the store closes."""
    before = set(threading.enumerate())
    site = _site(dataset.default_paths(), [])
    try:
        _until(lambda: site.http.get(site.url + "/ready").status_code == 200)
        filling = [t for t in set(threading.enumerate()) - before if t.name == "careerkg-fill"]
        assert len(filling) == 1
        time.sleep(0.2)  # it would have ended by now
        assert filling[0].is_alive()
    finally:
        site.close()
    filling[0].join(30)
    assert not filling[0].is_alive()
