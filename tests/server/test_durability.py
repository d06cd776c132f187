"""Durability of a real server process: an acknowledged write survives kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import requests

from service.store import EmbeddedStore
from tests.app.test_writes import AUTH, tool
from tests.support import WRITE_TOKEN, Server, run_cli


def kill_tree(server: Server) -> None:
    """kill -9 the server and its worker, the moment after."""
    children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
    for pid in [*children, str(server.proc.pid)]:
        os.kill(int(pid), signal.SIGKILL)
    server.proc.wait(timeout=10)


def test_acknowledged_writes_survive_kill_9(server_factory: Callable[..., Server], tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {"CAREERKG_WRITE_TOKEN": WRITE_TOKEN}
    first = server_factory("--store", str(store), env=env)
    response = requests.put(first.url + "/api/v1/tools/example-tool", json=tool(), headers=AUTH, timeout=30)
    assert response.status_code == 201
    kill_tree(first)
    second = server_factory("--store", str(store), env=env)
    assert requests.get(second.url + "/api/v1/tools/example-tool", timeout=30).json()["label"] == "Example Tool"
    log = requests.get(second.url + "/api/v1/changes", timeout=30).json()
    assert log["items"][0]["operation"] == "rest PUT tool/example-tool"


def test_a_bulk_load_killed_half_way_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    """kill -9 of `careerkg load` adding a large file in bulk to a store that holds data, the moment RocksDB has
    taken the new quads in (its bulk files are gone) but before the load has recorded it: the next open removes them
    again, and the store holds what it held before, quad for quad (or, if the load won the race and recorded its log
    entry, all of the file)."""
    store = tmp_path / "store"
    assert run_cli("query", "ASK {}", "--store", str(store)).code == 0  # created and filled
    before = EmbeddedStore(store)
    held, entries = set(before.quads()), before.change_entries(0, 1)[1]
    before.close()
    data = tmp_path / "generated.nt"
    root = Path(__file__).resolve().parents[2]
    generate = [sys.executable, str(root / "bench" / "generate.py"), "--triples", "300000", "--out", str(data)]
    subprocess.run(generate, check=True, capture_output=True)
    undo = tmp_path / "store.adding.nq"
    load = subprocess.Popen(
        [sys.executable, "-m", "service", "load", str(data), "--store", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not undo.exists():  # the undo file is in place: the bulk addition begins
            assert load.poll() is None, "the load ended before it began adding"
            assert time.monotonic() < deadline
            time.sleep(0.001)
        written = False
        while load.poll() is None and time.monotonic() < deadline:
            bulk = list(store.glob("bulk-*.sst"))
            if written and not bulk:
                break  # taken in
            written = written or bool(bulk)
            time.sleep(0.0002)
        load.send_signal(signal.SIGKILL)
    finally:
        load.kill()
        load.wait(timeout=30)
    assert written, "the load ended before RocksDB's bulk files were seen: the kill came too late to test anything"
    again = EmbeddedStore(store)
    try:
        # All or nothing, and the log says which: killed after its entry was recorded, the addition is whole.
        if again.change_entries(0, 1)[1] == entries:
            assert set(again.quads()) == held
        else:
            assert again.change_entries(0, 1)[1] == entries + 1
            assert set(again.quads()) == held | set(ox.parse(path=str(data)))
        assert not undo.exists()
        assert not list(store.glob("bulk-*.sst"))
    finally:
        again.close()
