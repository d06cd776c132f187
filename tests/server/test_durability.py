"""Durability of a real server process: an acknowledged write survives kill -9."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import requests

from tests.app.test_writes import AUTH, tool
from tests.support import WRITE_TOKEN, Server


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
