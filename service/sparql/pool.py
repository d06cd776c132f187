"""Query workers: pre-forked processes that evaluate SPARQL queries and can be killed at the timeout.

pyoxigraph cannot cancel a running query. To stop a runaway query *and free its CPU*, each
query runs in a worker process forked from the server (copy-on-write: it sees the store as it
was at fork time). The parent streams the worker's answer to the client and sends SIGKILL when
the deadline passes. Forking costs milliseconds, so workers are forked ahead of use and reused;
after a write they are retired (they would show the old data) and new ones are forked on demand.

Wire format, worker -> parent: frames of ``kind (1 byte) + length (4 bytes) + payload``:
``H`` head (JSON: media type), ``D`` data, ``E`` end (JSON: bytes sent), ``X`` error (JSON problem).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import select
import signal
import stat
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from service.errors import CareerKGError

_HEADER = struct.Struct("!cI")
_CHUNK = 64 * 1024


class QueryTimeout(CareerKGError):
    """The query ran past the timeout and was stopped."""

    status = 503
    title = "Query timeout"


class WorkersBusy(CareerKGError):
    """No query worker became free before the deadline."""

    status = 503
    title = "Service busy"


@dataclass
class Head:
    """What the worker decided before sending data: the media type, or a problem."""

    media_type: str | None = None
    problem: dict[str, Any] | None = None


@dataclass
class Answer:
    """A query's answer: its head, and the body as a stream of chunks (close it when done)."""

    head: Head
    chunks: Iterator[bytes]
    stats: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        """Give the worker back (or stop it, if its answer was not read to the end)."""
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


# The job a worker runs: receives the request mapping and a ``send(kind, payload)`` callable.
Job = Callable[[dict[str, Any], Callable[[bytes, bytes], None]], None]


class _Worker:
    def __init__(self, pid: int, requests: int, responses: int, generation: int) -> None:
        self.pid = pid
        self.requests = requests
        self.responses = responses
        self.generation = generation
        self.alive = True

    def kill(self) -> None:
        if not self.alive:
            return
        self.alive = False
        for fd in (self.requests, self.responses):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class QueryPool:
    """Up to ``size`` worker processes; ``fork_lock`` is held by writers so no fork sees half a write."""

    def __init__(self, job: Job, size: int, fork_lock: threading.RLock) -> None:
        self._job = job
        self._size = size
        self._fork_lock = fork_lock
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._generation = 0
        self.timeouts = 0

    # --- lifecycle -----------------------------------------------------------

    def invalidate(self) -> None:
        """The store changed: workers forked before now must not answer again."""
        with self._cond:
            self._generation += 1
            stale = [w for w in self._idle if w.generation != self._generation]
            self._idle = [w for w in self._idle if w.generation == self._generation]
            for worker in stale:
                self._workers.discard(worker)
            self._cond.notify_all()
        for worker in stale:
            worker.kill()

    def close(self) -> None:
        """Stop every worker."""
        with self._cond:
            workers, self._workers, self._idle = list(self._workers), set(), []
        for worker in workers:
            worker.kill()

    def pids(self) -> list[int]:
        """The worker processes alive now."""
        with self._cond:
            return [w.pid for w in self._workers if w.alive]

    # --- running queries -------------------------------------------------------

    def run(self, request: dict[str, Any], timeout: float) -> Answer:
        """Run one job; its head is read before returning, its body streams from the result."""
        deadline = time.monotonic() + timeout
        worker = self._acquire(deadline)
        try:
            payload = pickle.dumps(request)
            _write_all(worker.requests, struct.pack("!I", len(payload)) + payload)
            kind, body = _read_frame(worker.responses, deadline)
        except _Deadline:
            self._discard(worker)
            self.timeouts += 1
            raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped") from None
        except (OSError, EOFError):
            self._discard(worker)
            raise CareerKGError("the query worker stopped unexpectedly") from None
        if kind == b"X":
            self._release(worker)
            return Answer(Head(problem=json.loads(body)), iter(()))
        head = Head(media_type=json.loads(body)["media_type"])
        stats: dict[str, Any] = {}
        return Answer(head, _Stream(self, worker, deadline, timeout, stats), stats)

    def _acquire(self, deadline: float) -> _Worker:
        with self._cond:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.generation == self._generation and worker.alive:
                        return worker
                    self._workers.discard(worker)
                    worker.kill()
                if len(self._workers) < self._size:
                    worker = self._fork()
                    self._workers.add(worker)
                    return worker
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WorkersBusy("every query worker is busy; try again shortly")
                self._cond.wait(remaining)

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if worker.generation == self._generation and worker.alive:
                self._idle.append(worker)
                self._cond.notify()
                return
            self._workers.discard(worker)
            self._cond.notify()
        worker.kill()

    def _discard(self, worker: _Worker) -> None:
        with self._cond:
            self._workers.discard(worker)
            self._cond.notify()
        worker.kill()

    def _fork(self) -> _Worker:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        keep = {req_r, resp_w}
        with self._fork_lock:
            pid = os.fork()
            if pid == 0:  # the worker
                try:
                    _close_inherited(keep)
                    _serve(self._job, req_r, resp_w)
                finally:
                    os._exit(0)
        os.close(req_r)
        os.close(resp_w)
        return _Worker(pid, req_w, resp_r, self._generation)


class _Stream:
    """The body frames of one answer; the worker is released at the end, or discarded if abandoned."""

    def __init__(self, pool: QueryPool, worker: _Worker, deadline: float, timeout: float, stats: dict[str, Any]):
        self._pool = pool
        self._worker: _Worker | None = worker
        self._deadline = deadline
        self._timeout = timeout
        self._stats = stats

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> bytes:
        worker = self._worker
        if worker is None:
            raise StopIteration
        try:
            kind, body = _read_frame(worker.responses, self._deadline)
        except _Deadline:
            self._pool.timeouts += 1
            self._stats["timeout"] = self._timeout
            self._finish(released=False)
            raise StopIteration from None
        except (OSError, EOFError):
            self._stats["error"] = "worker stopped"
            self._finish(released=False)
            raise StopIteration from None
        if kind == b"D":
            return body
        if kind == b"E":
            self._stats.update(json.loads(body))
            self._finish(released=True)
        else:  # an error after data was sent: nothing better to do than end the body
            self._stats["error"] = json.loads(body).get("detail")
            self._finish(released=True)
        raise StopIteration

    def close(self) -> None:
        """Stop reading: a worker whose answer was not read to its end cannot serve again."""
        self._finish(released=False)

    def _finish(self, released: bool) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if released:
            self._pool._release(worker)
        else:
            self._pool._discard(worker)


# --- the worker side -----------------------------------------------------------


def _close_inherited(keep: set[int]) -> None:
    """Close the sockets and pipes the worker inherited (client connections, other workers' pipes).

    Files stay open: the store's files belong to them.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd in keep or fd < 3:
            continue
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode):
            with contextlib.suppress(OSError):
                os.close(fd)


def _serve(job: Job, requests: int, responses: int) -> None:
    def send(kind: bytes, payload: bytes) -> None:
        for start in range(0, max(len(payload), 1), _CHUNK):
            part = payload[start : start + _CHUNK]
            _write_all(responses, _HEADER.pack(kind, len(part)) + part)

    while True:
        size_bytes = _read_exact(requests, 4)
        if size_bytes is None:
            return  # the server closed the pipe: stop
        (size,) = struct.unpack("!I", size_bytes)
        data = _read_exact(requests, size)
        if data is None:
            return
        try:
            job(pickle.loads(data), send)
        except BrokenPipeError:
            return
        except BaseException as exc:  # report, never die silently
            detail = {"status": 500, "title": "Internal error", "detail": f"{type(exc).__name__}: {exc}"}
            send(b"X", json.dumps(detail).encode())


# --- pipes -------------------------------------------------------------------------


class _Deadline(Exception):
    pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, size: int, deadline: float | None = None) -> bytes | None:
    parts, remaining = [], size
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise _Deadline
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _read_frame(fd: int, deadline: float) -> tuple[bytes, bytes]:
    header = _read_exact(fd, _HEADER.size, deadline)
    if header is None:
        raise EOFError
    kind, size = _HEADER.unpack(header)
    body = _read_exact(fd, size, deadline) if size else b""
    if body is None:
        raise EOFError
    return kind, body
