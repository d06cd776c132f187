"""The WSGI app served over granian's RSGI interface, so that no request thread waits for a request body.

Under granian's WSGI interface a request reaches a Python thread as soon as its headers are in, and that thread then
reads the body as it arrives: nine clients that announced a body and sent it slowly, or not at all, held all eight
request threads, and the server answered nothing else, /health included, until they went away (measured on
2026-11-30). Here granian's event loop reads the body, up to CAREERKG_MAX_BODY, and a client that sends no part of
it for BODY_IDLE_TIMEOUT_S seconds gets 408. Only a request whose body is in is handed to the pool of request
threads; the app's answer is sent from the event loop, a thread computing each part of a streamed answer in turn,
so a slow reader holds no thread either. The request bodies held at once, being read or waiting for their answer,
take at most BODY_BUDGET_BODIES times the limit: a part that does not fit waits up to BODY_IDLE_TIMEOUT_S for room
(else 503), a stalled body holds only what it has sent, and a request without a body never waits.

The WSGI environ is what granian's WSGI interface gives (PEP 3333): PATH_INFO as latin-1 text of the path's UTF-8
bytes, repeated headers joined by commas. RSGI hands over the path already percent-decoded as UTF-8 (an invalid byte
becomes U+FFFD, which the app also read before: Werkzeug decodes PATH_INFO with errors replaced).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from service.problems import PROBLEM_JSON, problem_document

log = logging.getLogger(__name__)

BODY_IDLE_TIMEOUT_S = 10.0  # a client has this long to send each part of its request body
BODY_BUDGET_BODIES = 4  # request bodies held at once: at most this many times CAREERKG_MAX_BODY bytes


class _Budget:
    """Bytes of request bodies held at once, at most ``size``; a part waits for room, a bounded time."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._room = asyncio.Condition()

    async def take(self, n: int) -> None:
        """Take room for ``n`` bytes; TimeoutError when there is none within BODY_IDLE_TIMEOUT_S."""
        async with self._room:
            await asyncio.wait_for(self._room.wait_for(lambda: self.free >= n), BODY_IDLE_TIMEOUT_S)
            self.free -= n

    async def give(self, n: int) -> None:
        if n:
            async with self._room:
                self.free += n
                self._room.notify_all()


class _NoRoom(Exception):
    """The budget had no room for a part of a request body."""


class _Answer:
    """One WSGI call, run step by step in a request thread: the status and headers, then each part of the body."""

    def __init__(self, app: Any, environ: dict[str, Any]) -> None:
        self.app = app
        self.environ = environ
        self.status = 500
        self.headers: list[tuple[str, str]] = []
        self.whole: bytes | None = None
        self._parts: Iterator[bytes] | None = None
        self._result: Iterable[bytes] | None = None

    def _start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status = int(status.split(" ", 1)[0])
        self.headers = list(headers)
        return self._write

    @staticmethod
    def _write(data: bytes) -> None:
        raise NotImplementedError("the WSGI write() callable is not supported: return the body instead")

    def start(self) -> bytes | None:
        """Call the app; its first part of the body (None when the whole body is in ``whole`` or there is none)."""
        self._result = self.app(self.environ, self._start_response)
        if isinstance(self._result, list | tuple):
            self.whole = b"".join(self._result)
            self.close()
            return None
        self._parts = iter(self._result)
        return self.next()  # a generator calls start_response only when first iterated

    def next(self) -> bytes | None:
        """The next part of the body, None after the last."""
        assert self._parts is not None
        return next(self._parts, None)

    def close(self) -> None:
        """Let the app clean up (a streamed SPARQL answer stops its query worker)."""
        close = getattr(self._result, "close", None)
        if close is not None:
            close()


class RSGIApp:
    """Serve a WSGI app over RSGI: bodies read on the event loop, the app in a pool of ``threads`` threads."""

    def __init__(self, app: Any, *, threads: int, max_body: int, workers: int = 1) -> None:
        self.app = app
        self.threads = threads
        self.max_body = max_body
        self.multiprocess = workers > 1
        self._pool: ThreadPoolExecutor | None = None
        self._budget: _Budget | None = None

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="careerkg-request")
        self._budget = _Budget(BODY_BUDGET_BODIES * (self.max_body + 1))

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":  # no websockets here
            return
        from granian._granian import RSGIProtocolClosed, RSGIProtocolError

        assert self._budget is not None
        environ = self.environ(scope)
        held = [0]  # bytes of this request's body in the budget, given back when the answer is sent
        try:
            if await self._read_body(environ, scope, protocol, held):
                await self._answer(environ, protocol)
        except (RSGIProtocolClosed, RSGIProtocolError, ConnectionError):
            pass  # the client went away
        finally:
            await self._budget.give(held[0])

    def environ(self, scope: Any) -> dict[str, Any]:
        """The WSGI environ of a request (its body not yet read)."""
        host, _, port = scope.server.rpartition(":")
        client, _, client_port = scope.client.rpartition(":")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": scope.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": host,
            "SERVER_PORT": port,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "REMOTE_ADDR": client.strip("[]"),
            "REMOTE_PORT": client_port,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": self.multiprocess,
            "wsgi.run_once": False,
        }
        for name, value in scope.headers.items():
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    async def _read_body(self, environ: dict[str, Any], scope: Any, protocol: Any, held: list[int]) -> bool:
        """Read the request body into the environ; False when the request was answered here (408, 503)."""
        declared = environ.get("CONTENT_LENGTH", "")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked and declared.strip() in ("", "0"):
            return True
        if not chunked and not (declared.isdigit() and int(declared) <= self.max_body):
            return True  # a length that is no number or over the limit: the app refuses it (400, 413) unread
        try:
            body = await self._receive(protocol, self.max_body + 1, held)
        except _NoRoom:
            detail = "too many request bodies are being received at once: try again shortly"
            self._refuse(protocol, scope, 503, "Service Unavailable", detail, extra=[("Retry-After", "5")])
            return False
        except TimeoutError:
            detail = f"no part of the request body arrived for {BODY_IDLE_TIMEOUT_S:g} s: send it whole, without pauses"
            self._refuse(protocol, scope, 408, "Request Timeout", detail, extra=[("Connection", "close")])
            return False
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))  # over the limit by one byte: the app answers 413
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return True

    async def _receive(self, protocol: Any, most: int, held: list[int]) -> bytes:
        """At most ``most`` bytes of the body, each part counted in the budget (``held``)."""
        assert self._budget is not None
        parts, total = [], 0
        chunks = protocol.__aiter__()
        while total < most:
            try:
                chunk = await asyncio.wait_for(chunks.__anext__(), BODY_IDLE_TIMEOUT_S)
            except StopAsyncIteration:
                break
            chunk = chunk[: most - total]
            try:
                await self._budget.take(len(chunk))
            except TimeoutError:
                raise _NoRoom from None
            held[0] += len(chunk)
            parts.append(chunk)
            total += len(chunk)
        return b"".join(parts)

    @staticmethod
    def _refuse(
        protocol: Any, scope: Any, status: int, title: str, detail: str, *, extra: list[tuple[str, str]]
    ) -> None:
        body = json.dumps(problem_document(status, title, detail, instance=scope.path)).encode()
        protocol.response_bytes(status, [("Content-Type", PROBLEM_JSON), *extra], body)

    async def _answer(self, environ: dict[str, Any], protocol: Any) -> None:
        loop = asyncio.get_running_loop()
        answer = _Answer(self.app, environ)
        try:
            part = await loop.run_in_executor(self._pool, answer.start)
        except Exception:
            log.exception("the app failed on %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            protocol.response_empty(500, [])
            return
        if answer.whole is not None:
            protocol.response_bytes(answer.status, answer.headers, answer.whole)
            return
        transport = protocol.response_stream(answer.status, answer.headers)
        try:
            while part is not None:
                if part:
                    await transport.send_bytes(part)
                part = await loop.run_in_executor(self._pool, answer.next)
        finally:
            await loop.run_in_executor(self._pool, answer.close)
