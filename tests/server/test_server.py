"""``careerkg serve`` as a real process: it serves, answers problems, and keeps an on-disk store."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support import run_cli


def test_serve_default_dataset_in_memory(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = server_factory("--store", "memory")
    assert requests.get(server.url + "/health", timeout=5).json() == {"status": "ok"}
    ready = requests.get(server.url + "/ready", timeout=5).json()
    assert ready["status"] == "ready"
    assert ready["quads"] > 1000
    assert "(granian, uvloop loop)" in server.log.read_text()  # the loop the benchmarks measure (a dependency)
    own_tmp = server.log.with_name(server.log.stem + "-tmp")  # (its TMPDIR: tests.support.start_server)
    assert [p.name[:15] for p in own_tmp.iterdir()] == ["careerkg-serve-"]  # the server's private state
    server.stop()
    assert server.proc.returncode == 0
    assert list(own_tmp.iterdir()) == []  # removed when it stops


def test_unknown_route_is_a_problem_document(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = server_factory("--store", "memory")
    response = requests.get(server.url + "/no/such/route", timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["title"] == "Not Found"
    assert body["instance"] == "/no/such/route"


def test_every_request_leaves_one_access_log_line(server_factory) -> None:  # type: ignore[no-untyped-def]
    """Requests answered at once by several threads each get their line (the log is written by a thread of its own)."""
    server = server_factory("--store", "memory")
    paths = [f"/no/such/page-{n}" for n in range(40)]
    with ThreadPoolExecutor(8) as clients:
        statuses = list(clients.map(lambda path: requests.get(server.url + path, timeout=5).status_code, paths))
    assert statuses == [404] * len(paths)
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in server.log.read_text(errors="replace").splitlines() if "/no/such/page-" in line]
        if len(lines) >= len(paths) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for path in paths:
        assert sum(f'"GET {path} HTTP/1.1" 404 ' in line for line in lines) == 1, path
    last = [f"/no/such/last-{n}" for n in range(5)]
    for path in last:
        requests.get(server.url + path, timeout=5)
    server.stop()  # at once: the worker writes out its queued lines as it ends
    logged = server.log.read_text(errors="replace")
    for path in last:
        assert f'"GET {path} HTTP/1.1" 404 ' in logged, path


def test_on_disk_store_survives_restart(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    first = server_factory("--store", str(store))
    quads = requests.get(first.url + "/ready", timeout=5).json()["quads"]
    first.stop()
    # Write while the server is down, then serve again: the store keeps both.
    extra = tmp_path / "extra.ttl"
    extra.write_text(
        "<https://w3id.org/careerkg/id/role/ml-engineer> <https://w3id.org/careerkg/ontology#demandOutlook> "
        '"Still growing."@en .\n'
    )
    assert run_cli("load", str(extra), "--store", str(store)).code == 0
    second = server_factory("--store", str(store))
    assert requests.get(second.url + "/ready", timeout=5).json()["quads"] == quads + 1


def test_serve_data_files(server_factory, data_copy: Path) -> None:  # type: ignore[no-untyped-def]
    server = server_factory(
        "--store",
        "memory",
        "--data",
        str(data_copy / "ontology" / "careerkg.ttl"),
        str(data_copy / "data" / "sources.ttl"),
    )
    assert requests.get(server.url + "/ready", timeout=5).json()["quads"] < 400


def test_serve_refuses_violating_data(server_factory, data_copy: Path) -> None:  # type: ignore[no-untyped-def]
    roles = data_copy / "data" / "roles.trig"
    roles.write_text(roles.read_text().replace('rdfs:label "AI Engineer"@en ;', "", 1))
    server = server_factory("--store", "memory", "--data", str(data_copy), wait=False)
    assert server.proc.wait(timeout=60) == 3  # stopped, not a new worker started to fail again
    log = server.log.read_text()
    assert "ai-engineer" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("missing.ttl", "missing.ttl: no such file or folder"),
        ("data.txt", "data.txt: unknown RDF file type '.txt'"),
        ("pipe.ttl", "pipe.ttl: not a regular file"),
    ],
)
def test_serve_refuses_a_data_path_it_cannot_read_before_it_starts(tmp_path: Path, name: str, said: str) -> None:
    path = tmp_path / name
    if name == "data.txt":
        path.write_text('<http://example.org/a> <http://example.org/b> "c" .\n', encoding="utf-8")
    elif name == "pipe.ttl":
        os.mkfifo(path)
    done = run_cli("serve", "--store", "memory", "--data", str(path))
    assert done.code == 2
    assert said in done.err
    assert "Traceback" not in done.err
