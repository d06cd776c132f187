"""Query workers: pre-forked processes that evaluate SPARQL and parse untrusted RDF, killed at the timeout.

pyoxigraph cannot cancel a running query. To stop a runaway query *and free its CPU*, each job runs in a
worker process forked from the server (copy-on-write: it sees the store as it was at fork time). The parent
reads the worker's answer and sends SIGKILL when the deadline passes. Forking costs milliseconds, so workers
are forked ahead of use and reused; after a write they are retired (they would show the old data) and new ones
are forked on demand. A worker that dies (a parser's stack overflow on deeply nested input, say) takes no one
else with it: its request gets an error, the server goes on.

Two kinds of worker: *sandboxed* ones drop network access for good before taking work
(``service.sparql.sandbox``), the others keep it (a remote store is reached over the network, and an operator may
allow SERVICE/LOAD targets). Which kind a job needs is the caller's decision.

Locks: ``_cond`` guards the worker lists and is never held while forking or waiting on a pipe; ``fork_gate`` is
held only around ``os.fork`` (the owner holds it while it changes the store, so no fork copies half a write).

Wire format, worker -> parent: frames of ``kind (1 byte) + length (4 bytes) + payload``:
``H`` head (JSON: media type), ``D`` data, ``E`` end (JSON: bytes sent), ``X`` error (JSON problem). A worker
writes its frames in batches of about 64 KiB, an end or error at once: a small answer is one write and one read.
Parent -> worker: a length-prefixed pickle of the job mapping (the parent is trusted; the worker's answers are
JSON and bytes, never pickles).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import os
import pickle
import select
import signal
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from service.child import close_inherited
from service.errors import BadRequest, CareerKGError
from service.sparql import sandbox

log = logging.getLogger(__name__)
_HEADER = struct.Struct("!cI")
_CHUNK = 64 * 1024
_READ = 256 * 1024  # bytes the server asks a worker's pipe for at once
_DRAIN = 1024 * 1024  # bytes of an abandoned answer read to see whether it has ended (its worker is then kept)
_LARGEST_FRAME = 1024 * 1024  # data frames carry at most _CHUNK bytes, the others a small JSON document
# Seconds a request waits for a free worker before it is answered 503. Long enough for a burst of ordinary queries
# to take turns (8 clients running a 100 ms join on 4 workers got a 503 in bench/sparql_throughput.py with 0.25 s),
# short enough that request threads held by a pool full of runaway queries come back for /health within seconds.
BUSY_WAIT = 2.0
CANCEL_CHECK_S = 0.25  # a job waited on is stopped this long, at most, after its client has gone


class QueryTimeout(CareerKGError):
    """The query ran past the timeout and was stopped."""

    status = 503
    title = "Query timeout"


class ClientGone(CareerKGError):
    """The client left while its query ran: the query was stopped (nginx's 499, for the log and the metrics)."""

    status = 499
    title = "Client Closed Request"


class WorkersBusy(CareerKGError):
    """Every query worker is busy: try again in a moment (503 with Retry-After)."""

    status = 503
    title = "Service busy"
    retry_after = 1


class WorkerCrashed(BadRequest):
    """The worker handling this request died on it: the input is too deep or too large for the engine."""

    title = "Input too complex"


class StreamAborted(Exception):
    """The answer was cut off after its first bytes were sent (timeout, worker death): the connection must be
    closed without ending the body, so that no client takes the part for the whole."""


@dataclass
class Head:
    """What the worker decided before sending data: the media type, or a problem."""

    media_type: str | None = None
    problem: dict[str, Any] | None = None


@dataclass
class Answer:
    """A job's answer: its head, and the body as a stream of chunks (close it when done)."""

    head: Head
    chunks: Iterator[bytes]
    stats: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        """Give the worker back (or stop it, if its answer was not read to the end)."""
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()

    def read(self) -> bytes:
        """The whole body (for answers that are small by construction: parsed data, update deltas)."""
        try:
            return b"".join(self.chunks)
        finally:
            self.close()


# The job a worker runs: receives the request mapping and a ``send(kind, payload)`` callable.
Job = Callable[[dict[str, Any], Callable[[bytes, bytes], None]], None]


class _Worker:
    def __init__(self, pid: int, requests: int, responses: int, generation: int, sandboxed: bool) -> None:
        self.pid = pid
        self.requests = requests
        self.responses = responses
        self.generation = generation
        self.sandboxed = sandboxed
        self.alive = True
        self.answers = _FrameReader(responses)
        self._lock = threading.Lock()

    def kill(self, *, dying: bool = False) -> str | None:
        """Stop the process; how it ended if it had died by itself (the signal's name).

        ``dying``: its pipe was found closed, so it is exiting; give it a moment to be reaped as it ended.
        """
        with self._lock:  # once only: its descriptors are closed and its number released exactly once
            if not self.alive:
                return None
            self.alive = False
        for fd in (self.requests, self.responses):
            with contextlib.suppress(OSError):
                os.close(fd)
        deadline = time.monotonic() + (1.0 if dying else 0.0)
        try:
            while True:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:  # reaped: its number may be reused from now on, so it is not signalled
                    return signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else None
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.005)
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass
        return None


class QueryPool:
    """Up to ``size`` worker processes, of both kinds together."""

    def __init__(
        self,
        job: Job,
        size: int,
        fork_gate: threading.Lock,
        busy_wait: float = BUSY_WAIT,
        memory: int | None = None,
    ) -> None:
        self._job = job
        self._memory = memory
        self._size = size
        self._fork_gate = fork_gate
        self._busy_wait = busy_wait
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._forking = 0
        self._generation = 0
        self.timeouts = 0
        self._reaper = _Reaper()
        # The filter is built here, in the parent: a forked worker only installs it (no loading in the child).
        self._filter = sandbox.Filter()
        self.sandbox = self._filter.works()
        if not self.sandbox:
            log.warning(
                "query workers cannot drop network access on this machine (no seccomp filter); SERVICE and LOAD "
                "are refused by reading the query text only"
            )

    # --- lifecycle -----------------------------------------------------------

    def invalidate(self) -> None:
        """The store changed: workers forked before now must not answer again."""
        with self._cond:
            self._generation += 1
            stale, self._idle = self._idle, []
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

    # --- running jobs ---------------------------------------------------------------

    def run(
        self,
        request: dict[str, Any],
        timeout: float,
        *,
        sandboxed: bool = True,
        cancelled: Callable[[], bool] | None = None,
    ) -> Answer:
        """Run one job; its head is read before returning, its body streams from the result.

        ``sandboxed`` jobs run in a worker without network access (where the machine allows it). When
        ``cancelled`` says so while the job runs (the client has gone), its worker is stopped and ClientGone raised
        (or the stream ends), instead of the worker being held until the timeout.
        """
        deadline = time.monotonic() + timeout
        worker = self._acquire(sandboxed and self.sandbox)
        try:
            payload = pickle.dumps(request)
            _write_all(worker.requests, struct.pack("!I", len(payload)) + payload, deadline)
            kind, body = worker.answers.frame(deadline, cancelled)
        except _Deadline:
            self._discard(worker)
            self._timed_out(request, timeout)
            raise QueryTimeout(f"the request ran longer than {timeout:g} s and was stopped") from None
        except _Cancelled:
            self._discard(worker)
            raise ClientGone("the client left before the answer began: its query was stopped") from None
        except (OSError, EOFError):
            raise self._crashed(worker) from None
        try:
            if kind not in (b"X", b"H"):
                raise ValueError(f"a worker began its answer with a {kind!r} frame")
            decoded = json.loads(body)
            head = Head(problem=decoded) if kind == b"X" else Head(media_type=str(decoded["media_type"]))
        except (ValueError, KeyError, TypeError):
            # Out of step with its worker: whatever is left in the pipe must never reach another request.
            raise self._crashed(worker) from None
        if head.problem is not None:
            self._release(worker)
            return Answer(head, iter(()))
        stats: dict[str, Any] = {}
        stream = _Stream(self, worker, deadline, timeout, stats, request, cancelled)
        self._reaper.watch(stream, deadline)
        return Answer(head, stream, stats)

    def _timed_out(self, request: dict[str, Any], timeout: float) -> None:
        self.timeouts += 1
        log.warning("a %s ran past the %g s timeout and was stopped", request.get("job", "job"), timeout)

    def _crashed(self, worker: _Worker) -> CareerKGError:
        with self._cond:
            self._workers.discard(worker)
            self._cond.notify()
        ended = worker.kill(dying=True)
        log.warning("a query worker died on a request (%s)", ended or "exited")
        return WorkerCrashed(
            f"the worker evaluating this request stopped ({ended or 'it exited'}): the input is nested too deeply "
            "or is too large for this server"
        )

    def _acquire(self, sandboxed: bool) -> _Worker:
        deadline = time.monotonic() + self._busy_wait
        spare: _Worker | None = None
        with self._cond:
            while True:
                for worker in reversed(self._idle):
                    if worker.sandboxed == sandboxed:
                        self._idle.remove(worker)
                        return worker
                if len(self._workers) + self._forking < self._size:
                    self._forking += 1
                    break
                if self._idle:  # a worker of the other kind is idle: make room for one of this kind
                    spare = self._idle.pop(0)
                    self._workers.discard(spare)
                    self._forking += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WorkersBusy("every query worker is busy; try again in a moment")
                self._cond.wait(remaining)
        if spare is not None:
            spare.kill()
        try:
            worker = self._fork(sandboxed)
        except BaseException:
            with self._cond:
                self._forking -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._forking -= 1
            self._workers.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if worker.generation == self._generation and worker.alive and worker.answers.empty():
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

    def _fork(self, sandboxed: bool) -> _Worker:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        keep = {req_r, resp_w}
        try:
            with self._fork_gate:
                generation = self._generation
                pid = os.fork()
                if pid == 0:  # the worker
                    try:
                        close_inherited(keep)
                        if self._memory is not None:
                            _limit_memory(self._memory)
                        if sandboxed:
                            self._filter.install()
                        _serve(self._job, req_r, resp_w)
                    finally:
                        os._exit(0)
        except BaseException:  # no process (EAGAIN: too many): no descriptors left behind either
            for fd in (req_r, req_w, resp_r, resp_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            raise
        os.close(req_r)
        os.close(resp_w)
        return _Worker(pid, req_w, resp_r, generation, sandboxed)


def _limit_memory(extra: int) -> None:
    """In a worker: at most ``extra`` bytes of address space beyond what it shares with the server at fork time.

    A query past it fails: Python raises MemoryError, and the engine (Rust) aborts the worker, whose request then
    gets WorkerCrashed (a 400) while the server and the other workers go on. Without it, one query that doubled a
    string with CONCAT took about 1.6 GB before its timeout stopped it. RUST_BACKTRACE=0 keeps the abort to one line
    in the log."""
    import resource

    os.environ["RUST_BACKTRACE"] = "0"
    with open("/proc/self/status", encoding="ascii") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + extra if hard == resource.RLIM_INFINITY else min(size + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


class _Reaper:
    """Stops the answers still streaming at their deadline, whether or not the server is reading them.

    A stream checks its deadline when the server asks for its next part; a client that stops reading stops the
    server asking, and its worker then held a place in the pool for as long as the client kept the connection
    open (four such clients left every other query 503 "busy"). One thread per pool wakes at the earliest
    deadline and stops what is still running then: the worker is killed, and the answer ends cut off, never
    complete-looking, when the server next reads it. Streams are watched by weak reference: a finished one costs
    an entry in the heap until its deadline, nothing more.
    """

    def __init__(self) -> None:
        self._due: list[tuple[float, int, weakref.ref[_Stream]]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, stream: _Stream, deadline: float) -> None:
        with self._cond:
            heapq.heappush(self._due, (deadline, next(self._order), weakref.ref(stream)))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="careerkg-query-reaper", daemon=True)
                self._thread.start()
            elif self._due[0][2]() is stream:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due:
                    self._cond.wait()
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, ref = heapq.heappop(self._due)
            stream = ref()
            if stream is not None:
                stream.expire()


class _Stream:
    """The body frames of one answer; the worker is released at the end, or discarded if abandoned or past its
    deadline (the pool's _Reaper stops it then if the server is not reading)."""

    def __init__(  # noqa: PLR0917 - one call site, in this module
        self,
        pool: QueryPool,
        worker: _Worker,
        deadline: float,
        timeout: float,
        stats: dict[str, Any],
        request: dict[str, Any],
        cancelled: Callable[[], bool] | None = None,
    ):
        self._pool = pool
        self._cancelled = cancelled
        self._worker: _Worker | None = worker
        self._deadline = deadline
        self._timeout = timeout
        self._stats = stats
        self._request = request
        self._lock = threading.Lock()
        self._expired = False

    def __iter__(self) -> _Stream:
        return self

    def _take(self, *, expiring: bool = False) -> _Worker | None:
        """The worker, taken from this stream by whoever ends it first (the request thread or the reaper); taken
        ``expiring``, the stream is marked expired at the same moment (a reader never sees it ended but not why)."""
        with self._lock:
            worker, self._worker = self._worker, None
            if expiring and worker is not None:
                self._expired = True
            return worker

    def _aborted_at_the_timeout(self) -> StreamAborted:
        return StreamAborted(f"stopped at the {self._timeout:g} s timeout after the answer began")

    def expire(self) -> None:
        """The deadline has passed: stop the worker if the answer is still streaming."""
        worker = self._take(expiring=True)
        if worker is None:
            return
        self._stats["timeout"] = self._timeout
        self._pool._timed_out(self._request, self._timeout)
        self._pool._discard(worker)

    def __next__(self) -> bytes:
        with self._lock:
            worker, expired = self._worker, self._expired
        if worker is None:
            if expired:
                raise self._aborted_at_the_timeout()
            raise StopIteration
        try:
            kind, body = worker.answers.frame(self._deadline, self._cancelled)
        except _Deadline:
            self.expire()
            raise self._aborted_at_the_timeout() from None
        except _Cancelled:
            self._stats["error"] = "the client left"
            self._finish(released=False)
            raise StreamAborted("the client left during the answer: its query was stopped") from None
        except (OSError, EOFError):
            if self._take() is None:  # the reaper stopped it
                raise self._aborted_at_the_timeout() from None
            self._stats["error"] = "worker stopped"
            self._pool._crashed(worker)
            raise StreamAborted("the worker stopped after the answer began") from None
        if kind == b"D":
            return body
        try:
            decoded = json.loads(body) if kind in (b"E", b"X") else None
        except ValueError:
            decoded = None
        if kind == b"E" and isinstance(decoded, dict):
            self._stats.update(decoded)
            self._finish(released=True)
            raise StopIteration
        # an error after data was sent (or a frame out of step): the answer is incomplete, and must not look complete
        self._stats["error"] = decoded.get("detail") if isinstance(decoded, dict) else f"unexpected {kind!r} frame"
        self._finish(released=kind == b"X" and isinstance(decoded, dict))
        raise StreamAborted(f"the answer failed after it began: {self._stats['error']}")

    def close(self) -> None:
        """Stop reading. A worker whose answer had all arrived (a client that went away as a small answer was sent)
        takes the next job; one still answering cannot serve again, and is stopped."""
        worker = self._worker
        self._finish(released=worker is not None and worker.alive and worker.answers.finished())

    def _finish(self, released: bool) -> None:
        worker = self._take()
        if worker is None:
            return
        if released:
            self._pool._release(worker)
        else:
            self._pool._discard(worker)


# --- the worker side -----------------------------------------------------------


MAX_PROBLEM = 4096  # characters of a problem's detail a worker sends (parsers quote their input in messages)


def _serve(job: Job, requests: int, responses: int) -> None:
    pending = bytearray()

    def frame(kind: bytes, payload: bytes) -> None:
        pending.extend(_HEADER.pack(kind, len(payload)) + payload)  # whole frames only, even if this fails
        if len(pending) >= _CHUNK:
            _write_all(responses, bytes(pending))
            pending.clear()

    def send(kind: bytes, payload: bytes) -> None:
        # Frames are gathered and written together: a small answer (head, data, end) is one write, which the
        # server reads at once; a large one goes out in writes of about _CHUNK as it is produced. An end or a
        # problem is never held back.
        if kind != b"D":  # a head, an end or a problem is one frame, always
            frame(kind, _bounded_problem(payload) if kind == b"X" else payload)
        else:
            for start in range(0, max(len(payload), 1), _CHUNK):
                frame(kind, payload[start : start + _CHUNK])
        if kind in (b"E", b"X") and pending:
            _write_all(responses, bytes(pending))
            pending.clear()

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
        except RecursionError:
            detail = {"status": 400, "title": "Input too complex", "detail": "the input is nested too deeply"}
            send(b"X", json.dumps(detail).encode())
        except BaseException as exc:  # report, never die silently
            detail = {"status": 500, "title": "Internal error", "detail": f"{type(exc).__name__}: {exc}"}
            send(b"X", json.dumps(detail).encode())


def _bounded_problem(payload: bytes) -> bytes:
    problem = json.loads(payload)
    detail = str(problem.get("detail", ""))
    if len(detail) > MAX_PROBLEM:
        problem["detail"] = detail[:MAX_PROBLEM] + " […]"
    return json.dumps(problem).encode()


# --- pipes -------------------------------------------------------------------------


class _Deadline(Exception):
    pass


class _Cancelled(Exception):
    pass


def _write_all(fd: int, data: bytes, deadline: float | None = None) -> None:
    """Write everything; with a deadline, wait for the pipe to take it no longer than that."""
    view = memoryview(data)
    poller = None
    while view:
        if deadline is not None:
            if poller is None:
                poller = select.poll()
                poller.register(fd, select.POLLOUT | select.POLLERR | select.POLLHUP)
            wait = deadline - time.monotonic()
            if wait <= 0 or not poller.poll(wait * 1000):
                raise _Deadline
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, size: int) -> bytes | None:
    parts, remaining = [], size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


class _FrameReader:
    """The frames a worker sends, read from its pipe in large reads: a small answer arrives in one read."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._poller = select.poll()  # not select(): a busy server's descriptors go past FD_SETSIZE
        self._poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def frame(self, deadline: float, cancelled: Callable[[], bool] | None = None) -> tuple[bytes, bytes]:
        """The next frame's kind and payload; _Deadline when it is not all there by the deadline, _Cancelled when
        ``cancelled`` says so first (asked every CANCEL_CHECK_S while waiting), EOFError when the pipe ends first."""
        self._fill(_HEADER.size, deadline, cancelled)
        kind, size = _HEADER.unpack_from(self._buffer)
        if size > _LARGEST_FRAME:  # a worker never sends one: it is out of step, or not a worker
            raise EOFError
        end = _HEADER.size + size
        self._fill(end, deadline, cancelled)
        body = bytes(self._buffer[_HEADER.size : end])
        del self._buffer[:end]
        return kind, body

    def empty(self) -> bool:
        """Whether nothing of an answer is left unread here (a worker is given a new job only then)."""
        return not self._buffer

    def finished(self) -> bool:
        """Whether the rest of the answer has arrived, to its end (read without waiting, at most _DRAIN bytes): if
        so, it is dropped and the worker is free for the next job."""
        try:
            while len(self._buffer) <= _DRAIN and self._poller.poll(0):
                chunk = os.read(self._fd, _READ)
                if not chunk:
                    return False  # the worker is gone
                self._buffer += chunk
        except OSError:
            return False
        at = 0
        while at + _HEADER.size <= len(self._buffer):
            kind, size = _HEADER.unpack_from(self._buffer, at)
            at += _HEADER.size + size
            if kind in (b"E", b"X") and at == len(self._buffer):  # its job's last frame, and nothing after it
                self._buffer.clear()
                return True
        return False

    def _fill(self, size: int, deadline: float, cancelled: Callable[[], bool] | None = None) -> None:
        while len(self._buffer) < size:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise _Deadline
            if cancelled is not None:
                if cancelled():
                    raise _Cancelled
                wait = min(wait, CANCEL_CHECK_S)
            if not self._poller.poll(wait * 1000):
                continue
            chunk = os.read(self._fd, max(size - len(self._buffer), _READ))
            if not chunk:
                raise EOFError
            self._buffer += chunk
