"""Running the app under granian: HTTP parsed in Rust, the app in a pool of Python threads per worker process.

Chosen by measurement (bench/server_stacks.py, README "Performance"): granian answers the same app faster than
gunicorn, and it reads request lines and headers outside the Python threads, with a timeout, so silent or
slow-header connections do not hold a thread. The app is served over granian's ASGI interface (service/asgi.py):
request bodies are read on granian's event loop too, so slow or stalled bodies hold no thread either.

The worker process builds the app from the settings the command line resolved, handed over in one environment
variable (the worker is a new process). A worker that cannot start or fill its store (data that does not conform,
a store that cannot be opened) prints why and stops the server, with status 3; a worker that dies otherwise is
replaced.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import dataclasses
import importlib.util
import json
import logging
import logging.handlers
import multiprocessing.util
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

from service.config import Settings
from service.errors import CareerKGError, ValidationFailed

_SETTINGS = "CAREERKG_SERVE_SETTINGS"
_STATE = "CAREERKG_SERVE_STATE"  # a private folder: the exit status a worker asks for, the workers' start times
_MAIN = "CAREERKG_SERVE_MAIN"  # the process ``serve`` runs in (granian's): the only one a worker signals
REPLACEMENTS_MOST = 3  # workers replaced (they died) within REPLACEMENTS_WINDOW_S before the server stops instead
REPLACEMENTS_WINDOW_S = 600
HEADER_READ_TIMEOUT_MS = 10_000  # a client has 10 s to send its request line and headers
# A worker that has not stopped this long after SIGTERM is killed. Once in bench/scale.py a worker did not stop: 60 s
# after SIGTERM its main thread was still waiting for granian's stop event (a second SIGTERM sent to the worker itself
# stopped it), and granian's master, with no kill timeout, waited for it forever. The cause is not known yet.
WORKER_STOP_TIMEOUT_S = 20


class QueuedAccessLog(logging.handlers.QueueHandler):
    """The access log, written by one thread of its own: a request thread only queues its record.

    With a plain StreamHandler each request thread took the handler's lock and wrote its line under it, and the
    threads queued up behind each other (measured: /health answered 40-55 % more requests a second without the access
    log). Here the record goes on a thread-safe queue without a lock; the listener formats and writes it. The queue
    is bounded: if stdout stops taking lines, requests go on and the lines past ACCESS_LOG_BACKLOG are dropped,
    rather than held in memory without end.
    """

    def handle(self, record: logging.LogRecord) -> bool:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            return False
        return True


ACCESS_LOG_BACKLOG = 10_000  # lines waiting to be written, at most
ACCESS_LOG_DRAIN = 2.0  # seconds a stopping worker gives its access log to write out what is queued


def access_handler(stream: Any = None) -> logging.Handler:
    """The access log's handler in a granian worker (named in its logging configuration): lines go to stdout as
    granian's own handler writes them, from a thread of their own, which writes out what is queued when the worker
    ends (for at most ACCESS_LOG_DRAIN seconds: stdout may be stuck). granian forks its workers with
    multiprocessing, whose children end by os._exit after running multiprocessing's finalizers, not atexit's: both
    are registered."""
    lines: queue.Queue[logging.LogRecord | None] = queue.Queue(ACCESS_LOG_BACKLOG)
    writer = logging.StreamHandler(stream or sys.stdout)
    writer.setFormatter(logging.Formatter("%(message)s"))

    def write() -> None:
        while (record := lines.get()) is not None:
            writer.handle(record)

    thread = threading.Thread(target=write, name="careerkg-access-log", daemon=True)
    thread.start()

    def stop() -> None:
        with contextlib.suppress(queue.Full):
            lines.put_nowait(None)
        thread.join(ACCESS_LOG_DRAIN)

    atexit.register(multiprocessing.util.Finalize(thread, stop, exitpriority=100))
    return QueuedAccessLog(lines)


def _logging_config() -> dict[str, Any]:
    from granian.log import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"] = {"()": f"{__name__}.access_handler"}
    return config


def load_app() -> Any:
    """The app for one granian worker (a factory: granian calls it in the worker process). An empty store is filled
    in the background: the worker answers /health once the app is built, and /ready when the data is in. Data of up
    to 32 MiB is read before the app is imported, and validated while it is (``service.loading.read_ahead``)."""
    raw = json.loads(os.environ[_SETTINGS])
    raw["data"] = tuple(Path(p) for p in raw["data"])
    raw["network_allow"] = tuple(raw["network_allow"])
    settings = Settings(**raw)
    _count_start(settings.workers)
    from service import loading

    loading.read_ahead(settings.store, settings.data)
    from service.app import create_app

    try:
        app = create_app(settings, fill_failed=_fill_failed)
    except CareerKGError as exc:
        _cannot_serve(exc)
    from service.asgi import ASGIApp

    return ASGIApp(app, threads=settings.threads, max_body=settings.max_body, workers=settings.workers)


def _say(exc: CareerKGError) -> None:
    """Why the worker cannot serve, on stderr."""
    from service.validation import Report

    if isinstance(exc, ValidationFailed):
        if isinstance(exc.report, Report):
            print(exc.report.to_text(), file=sys.stderr)
        print(f"careerkg serve: the data does not conform to the shapes: {exc.message}", file=sys.stderr, flush=True)
    else:
        print(f"careerkg serve: error: {exc.message}", file=sys.stderr, flush=True)


def _cannot_serve(exc: CareerKGError, status: int = 3) -> NoReturn:
    """The worker cannot serve (a store that cannot be opened, data that does not conform): say why, and stop the
    server with ``status``. granian would start a new worker in its place, to fail again, so the worker writes the
    status where ``serve`` reads it and asks granian's process to stop (SIGTERM), each step whatever became of the
    one before; it signals its parent only if that is the process ``serve`` runs in (an orphan signals no one)."""
    try:
        with contextlib.suppress(Exception):  # (stderr gone, say)
            _say(exc)
        state, main = os.environ.get(_STATE), os.environ.get(_MAIN, "")
        if state:
            with contextlib.suppress(OSError):
                (Path(state) / "status").write_text(f"{status}\n", encoding="utf-8")
        if main.isdigit() and os.getppid() == int(main):
            with contextlib.suppress(OSError):
                os.kill(int(main), signal.SIGTERM)
    finally:
        os._exit(status)


def _count_start(workers: int) -> None:
    """Count this worker's start; a server whose workers died and were replaced more than REPLACEMENTS_MOST times in
    the last REPLACEMENTS_WINDOW_S stops, with status 4 (granian alone replaces a worker that dies later than 5.5 s
    after its start without end: one killed for its memory during each fill of a large dataset, say)."""
    state = os.environ.get(_STATE)
    if not state:
        return
    now = time.time()
    try:
        with (Path(state) / "starts").open("a+", encoding="utf-8") as starts:
            starts.write(f"{now}\n")
            starts.flush()
            starts.seek(0)
            recent = [line for line in starts.read().split() if _seconds_since(line, now) < REPLACEMENTS_WINDOW_S]
    except OSError:
        return
    replaced = len(recent) - workers
    if replaced > REPLACEMENTS_MOST:
        _cannot_serve(
            CareerKGError(
                f"a worker died and was replaced {replaced} times in {REPLACEMENTS_WINDOW_S // 60} minutes: the server"
                " stops (the log above says how each one ended)"
            ),
            status=4,
        )


def _seconds_since(stamp: str, now: float) -> float:
    try:
        return now - float(stamp)
    except ValueError:
        return float("inf")


def _fill_failed(exc: CareerKGError) -> None:
    """The background fill failed: the worker cannot serve."""
    _cannot_serve(exc)


def serve(settings: Settings) -> int:
    """Serve until stopped; the exit status of the server."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings

    values = dataclasses.asdict(settings)
    values["data"] = [str(p) for p in settings.data]
    os.environ[_SETTINGS] = json.dumps(values)
    # uvloop, a dependency where it runs (not on Windows): /health answered 1,660-1,800 requests a second on it,
    # 1,330-1,370 on asyncio's own loop (2026-12-01, wrk, 8 connections); granian's "auto" would also take it, but
    # would take rloop first if that were installed.
    loop = Loops.uvloop if importlib.util.find_spec("uvloop") else Loops.asyncio
    print(
        f"careerkg: serving store {settings.store} on http://{settings.host}:{settings.port}/ (granian, {loop} loop)",
        file=sys.stderr,
        flush=True,
    )
    server = Granian(
        "service.server:load_app",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,
        websockets=False,  # an Upgrade: websocket request is then served as the plain HTTP request it also is
        workers=settings.workers,
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT_MS),
        log_access=True,
        log_dictconfig=_logging_config(),
        workers_kill_timeout=WORKER_STOP_TIMEOUT_S,
        # A worker that dies (killed for its memory, say) is replaced; granian stops instead when the new one dies
        # within 5.5 s of its start too, and so does the server on a fourth replacement within 10 minutes
        # (_count_start). A worker that cannot serve stops the server itself (_cannot_serve).
        respawn_failed_workers=True,
        loop=loop,
    )
    try:
        state = tempfile.mkdtemp(prefix="careerkg-serve-")  # private (0700): what workers tell the server
    except OSError as exc:
        print(f"careerkg serve: error: no temporary folder for the server's own state: {exc}", file=sys.stderr)
        return 2
    os.environ[_STATE], os.environ[_MAIN] = state, str(os.getpid())
    status = 0
    try:
        server.serve()
    except SystemExit as exc:
        status = int(exc.code or 0) if isinstance(exc.code, int) else 1
    finally:
        with contextlib.suppress(OSError, ValueError):
            status = int((Path(state) / "status").read_text(encoding="utf-8").strip() or status)
        shutil.rmtree(state, ignore_errors=True)
        os.environ.pop(_STATE, None)
        os.environ.pop(_MAIN, None)
    return status
