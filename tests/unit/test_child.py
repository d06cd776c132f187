"""Forked children (service/child.py): an answer comes back, a child that dies is reported, none outlives its
parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.child import ChildFailed, Forked

pytestmark = pytest.mark.unit


def test_the_answer_comes_back_from_the_child() -> None:
    parent = os.getpid()
    pid, square = Forked(lambda n: (os.getpid(), n * n), 12).result()
    assert (square, pid != parent) == (144, True)


def test_a_large_answer_is_read_whole() -> None:
    assert Forked(lambda: "x" * 5_000_000).result() == "x" * 5_000_000  # far past a pipe's buffer


@pytest.mark.parametrize("death", ["exit", "raise", "kill"])
def test_a_child_that_ends_without_an_answer_is_reported(death: str) -> None:
    def dies() -> None:
        if death == "exit":
            os._exit(3)
        if death == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise ValueError("broken")

    with pytest.raises(ChildFailed):
        Forked(dies).result()


def test_a_child_dies_with_its_parent(tmp_path: Path) -> None:
    """A parent killed while its child computes leaves no child behind (a stopped server, no validation running)."""
    pid_file = tmp_path / "child.pid"
    script = (
        "import os, time, sys\n"
        "from service.child import Forked\n"
        f"def work():\n    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n    time.sleep(60)\n"
        "Forked(work).result()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        child = int(pid_file.read_text())
    finally:
        parent.kill()
        parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and "Z" not in _state(child):
        assert time.monotonic() < deadline, "the child outlived its parent"
        time.sleep(0.01)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_a_cancelled_child_is_stopped_and_reaped() -> None:
    child = Forked(time.sleep, 60)
    pid = child._pid
    child.cancel()
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped: not even a zombie


def test_a_child_that_takes_too_long_is_killed_and_reported() -> None:
    child = Forked(time.sleep, 60)
    pid = child._pid
    started = time.monotonic()
    with pytest.raises(ChildFailed, match="no answer within"):
        child.result(timeout=0.3)
    assert time.monotonic() - started < 10
    assert not Path(f"/proc/{pid}").exists()


def test_no_child_to_be_had_is_reported_and_leaks_no_descriptor(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_process() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "fork", no_process)
    with pytest.raises(ChildFailed, match="no child"):
        Forked(print)
    assert len(os.listdir("/proc/self/fd")) == before


def test_the_answer_is_read_from_a_descriptor_past_1024() -> None:
    """A busy server holds more than 1024 descriptors; select() cannot wait on those, poll() can."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.fail(f"the hard descriptor limit {hard} leaves no room for the test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    try:
        child = Forked(lambda: "answer")
        high = os.dup2(child._read, 1500)
        os.close(child._read)
        child._read = high
        assert child.result(timeout=30) == "answer"
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
