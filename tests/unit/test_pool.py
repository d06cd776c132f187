"""The query pool driven directly: forking, answering, timeouts that kill, invalidation, crashes, busy workers."""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.sparql.pool import QueryPool, QueryTimeout, StreamAborted, WorkerCrashed, WorkersBusy

Send = Callable[[bytes, bytes], None]
FIRST_PART = bytes(range(256)) * 256  # 64 KiB
PIECES = [bytes([n % 251]) * size for n, size in enumerate((200_000, 1, 0, 70_000, 3, 65_531, 65_536))]


def job(request: dict[str, Any], send: Send) -> None:
    """A test job: echo, sleep, stream, crash or fail on demand."""
    action = request["do"]
    if action == "echo":
        send(b"H", json.dumps({"media_type": "text/plain"}).encode())
        send(b"D", f"{request['text']} from {os.getpid()}".encode())
        send(b"E", b"{}")
    elif action == "sleep":
        time.sleep(request["seconds"])
        send(b"H", json.dumps({"media_type": "text/plain"}).encode())
        send(b"E", b"{}")
    elif action == "pieces":
        send(b"H", json.dumps({"media_type": "application/octet-stream"}).encode())
        for piece in PIECES:
            send(b"D", piece)
        send(b"E", b"{}")
    elif action == "stream-then-hang":  # the first 64 KiB of an answer (a worker writes smaller data with what follows)
        send(b"H", json.dumps({"media_type": "text/plain"}).encode())
        send(b"D", FIRST_PART)
        time.sleep(60)
    elif action == "crash":
        faulthandler.disable()  # pytest's handler would print this expected crash's traceback to the log
        os.kill(os.getpid(), signal.SIGSEGV)
    elif action == "problem":
        send(b"X", json.dumps({"status": 400, "title": "Bad", "detail": "no"}).encode())
    elif action == "network":
        import socket

        try:
            socket.create_connection(("127.0.0.1", 9), timeout=1)
            outcome = "connected"
        except PermissionError:
            outcome = "refused by the sandbox"
        except OSError:
            outcome = "no listener"
        send(b"H", json.dumps({"media_type": "text/plain"}).encode())
        send(b"D", outcome.encode())
        send(b"E", b"{}")


@pytest.fixture
def pool() -> Iterator[QueryPool]:
    made = QueryPool(job, size=2, fork_gate=threading.Lock(), busy_wait=0.2)
    yield made
    made.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return False


def test_a_worker_answers_and_is_reused(pool: QueryPool) -> None:
    first = pool.run({"do": "echo", "text": "a"}, timeout=5)
    assert first.head.media_type == "text/plain"
    body = first.read().decode()
    assert body.startswith("a from ")
    second = pool.run({"do": "echo", "text": "b"}, timeout=5).read().decode()
    assert second.split(" from ")[1] == body.split(" from ")[1]  # the same process served both
    assert len(pool.pids()) == 1


def test_a_problem_is_the_head(pool: QueryPool) -> None:
    answer = pool.run({"do": "problem"}, timeout=5)
    assert answer.head.problem == {"status": 400, "title": "Bad", "detail": "no"}


def test_a_timeout_kills_the_worker(pool: QueryPool) -> None:
    pool.run({"do": "echo", "text": "warm"}, timeout=5).read()
    (pid,) = pool.pids()
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        pool.run({"do": "sleep", "seconds": 30}, timeout=0.5)
    assert time.monotonic() - started < 5
    assert pool.timeouts == 1
    assert not alive(pid)
    assert pool.run({"do": "echo", "text": "after"}, timeout=5).read().startswith(b"after")


def test_an_answer_in_pieces_of_any_size_arrives_whole_and_in_order(pool: QueryPool) -> None:
    for _ in range(2):  # the second answer on the same worker starts clean
        answer = pool.run({"do": "pieces"}, timeout=10)
        assert answer.head.media_type == "application/octet-stream"
        assert answer.read() == b"".join(PIECES)
    assert len(pool.pids()) == 1


def test_a_worker_whose_abandoned_answer_had_ended_takes_the_next_job(pool: QueryPool) -> None:
    """A client that goes away after a small answer was sent costs no worker; one that leaves a running answer does."""
    answer = pool.run({"do": "echo", "text": "x"}, timeout=5)
    time.sleep(0.2)  # the rest of the answer reaches the pipe
    answer.close()  # without reading the body
    [first] = pool.pids()
    assert pool.run({"do": "echo", "text": "y"}, timeout=5).read() == f"y from {first}".encode()
    running = pool.run({"do": "stream-then-hang"}, timeout=30)
    running.close()
    assert first not in pool.pids()
    assert pool.run({"do": "echo", "text": "z"}, timeout=5).read().startswith(b"z from ")


def test_a_timeout_after_the_first_bytes_aborts_the_stream(pool: QueryPool) -> None:
    answer = pool.run({"do": "stream-then-hang"}, timeout=1)
    assert next(answer.chunks) == FIRST_PART
    with pytest.raises(StreamAborted):
        next(answer.chunks)
    assert pool.timeouts == 1


def test_an_answer_nobody_reads_is_stopped_at_its_deadline_and_frees_its_place(pool: QueryPool) -> None:
    """A client that stops reading stops the server asking for the next part: the deadline still holds. The worker
    is killed then, its place in the pool is free for other queries, and the answer ends cut off when read."""
    answers = [pool.run({"do": "stream-then-hang"}, timeout=1) for _ in range(2)]  # the whole pool
    workers = pool.pids()
    assert len(workers) == 2
    for answer in answers:
        assert next(answer.chunks) == FIRST_PART  # then nobody asks for more
    with pytest.raises(WorkersBusy):
        pool.run({"do": "echo", "text": "early"}, timeout=5)
    time.sleep(1.5)
    assert not any(alive(pid) for pid in workers)
    assert pool.timeouts == 2
    assert pool.run({"do": "echo", "text": "later"}, timeout=5).read().startswith(b"later from ")
    for answer in answers:
        with pytest.raises(StreamAborted, match="timeout"):
            next(answer.chunks)
    assert pool.timeouts == 2  # each counted once


def test_a_crashed_worker_fails_its_request_only(pool: QueryPool) -> None:
    with pytest.raises(WorkerCrashed, match="SIGSEGV"):
        pool.run({"do": "crash"}, timeout=5)
    assert pool.pids() == []
    assert pool.run({"do": "echo", "text": "still"}, timeout=5).read().startswith(b"still")


def test_invalidated_workers_never_answer_again(pool: QueryPool) -> None:
    before = pool.run({"do": "echo", "text": "x"}, timeout=5).read().decode().split(" from ")[1]
    pool.invalidate()
    after = pool.run({"do": "echo", "text": "x"}, timeout=5).read().decode().split(" from ")[1]
    assert before != after
    assert not alive(int(before))


def test_a_busy_pool_answers_503_at_once(pool: QueryPool) -> None:
    held = [pool.run({"do": "stream-then-hang"}, timeout=30) for _ in range(2)]
    started = time.monotonic()
    with pytest.raises(WorkersBusy) as busy:
        pool.run({"do": "echo", "text": "x"}, timeout=30)
    assert time.monotonic() - started < 2  # not queued until a worker frees up
    assert busy.value.status == 503
    assert busy.value.retry_after == 1
    for answer in held:
        answer.close()  # abandoned answers: their workers are stopped, the slots freed
    assert pool.run({"do": "echo", "text": "x"}, timeout=5).read().startswith(b"x")


def test_forks_and_writers_interleave_without_deadlock(pool: QueryPool) -> None:
    """Many threads running jobs while another keeps taking the fork gate and invalidating (as writers do)."""
    gate_holder_done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        for _ in range(50):
            with pool._fork_gate:
                time.sleep(0.001)
            pool.invalidate()
        gate_holder_done.set()

    def reader() -> None:
        try:
            for _ in range(20):
                with contextlib.suppress(WorkersBusy):
                    pool.run({"do": "echo", "text": "r"}, timeout=10).read()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer), *(threading.Thread(target=reader) for _ in range(4))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert gate_holder_done.is_set()
    assert not errors


def test_sandboxed_workers_have_no_network_and_the_others_do(pool: QueryPool) -> None:
    if not pool.sandbox:
        pytest.skip("no seccomp filter for this architecture")
    boxed = pool.run({"do": "network"}, timeout=5, sandboxed=True).read()
    assert boxed == b"refused by the sandbox"
    free = pool.run({"do": "network"}, timeout=5, sandboxed=False).read()
    assert free in (b"no listener", b"connected")


def _reader_with(data: bytes) -> tuple[Any, int]:
    from service.sparql.pool import _FrameReader

    read, write = os.pipe()
    os.write(write, data)
    return _FrameReader(read), write


def _frame(kind: bytes, payload: bytes) -> bytes:
    return struct.pack("!cI", kind, len(payload)) + payload


def test_the_frame_reader_refuses_a_frame_no_worker_sends() -> None:
    """A header announcing more than any worker sends is read as a worker out of step (EOFError: it is stopped)."""
    reader, write = _reader_with(struct.pack("!cI", b"D", 2**31))
    with pytest.raises(EOFError):
        reader.frame(time.monotonic() + 5)
    os.close(write)


def test_the_frame_reader_knows_when_an_abandoned_answer_has_ended() -> None:
    reader, write = _reader_with(_frame(b"H", b"{}") + _frame(b"D", b"x" * 10))
    assert reader.frame(time.monotonic() + 5) == (b"H", b"{}")
    assert not reader.finished()  # data, but no end yet: the worker may still be computing
    assert not reader.empty()
    os.write(write, _frame(b"E", b"{}"))
    assert reader.finished()  # the end arrived: the rest is dropped, the worker can take a job
    assert reader.empty()
    os.write(write, _frame(b"E", b"{}") + _frame(b"D", b"late"))
    assert not reader.finished()  # something after an end: out of step
    os.close(write)
    assert not reader.finished()  # the pipe closed: the worker is gone
