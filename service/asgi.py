"""The WSGI app served over granian's ASGI interface, so that no request thread waits for a request body.

Under granian's WSGI interface a request reaches a Python thread as soon as its headers are in, and that thread then
reads the body as it arrives: nine clients that announced a body and sent it slowly, or not at all, held all eight
request threads, and the server answered nothing else, /health included, until they went away (measured on
2026-11-30). Here granian's event loop reads the body, up to CAREERKG_MAX_BODY, and a client that sends no part of
it for BODY_IDLE_TIMEOUT_S seconds, or averages under BODY_MIN_RATE after that long, gets 408; one that sends it in
a great many tiny parts (each costs the loop a tenth of a millisecond) gets 400. Only a request whose body is in is
handed to the pool of request threads; the app's answer is sent from the event loop, a thread computing each part
of a streamed answer in turn, so a slow reader holds no thread either. The request bodies held at once, while they
are read and until the app has taken them, take at most BODY_BUDGET_BODIES times the limit: a part that does not
fit waits up to BODY_IDLE_TIMEOUT_S for room (else 503), and a request without a body never waits.

A streamed answer that fails after it began (a query stopped at its timeout) ends without its final message:
granian then aborts the connection, and the client sees an incomplete answer, never a complete-looking one
(granian's asgi/io.rs: "Closed with outstanding data"). granian's RSGI interface, tried first, has no such way.
HTTP/1.0 has no such way either (the close of the connection ends the body): an HTTP/1.0 client gets an answer
whole, with its length, or a 503. granian's send does not fail once a client has gone, so a task watches for
http.disconnect and the rest of the answer is not made; and a client that takes no part of its answer for
SEND_IDLE_TIMEOUT_S is cut off (granian has no write timeout).

The WSGI environ is what granian's WSGI interface gives (PEP 3333): PATH_INFO and QUERY_STRING as latin-1 text of
the raw bytes (the path percent-decoded), repeated headers joined by commas; header names with an underscore are
dropped (X_Forwarded_Host would take X-Forwarded-Host's key), as gunicorn does.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from service.limits import NOT_IMPLEMENTED, codings_detail, unknown_codings
from service.problems import PROBLEM_JSON, problem_document

log = logging.getLogger(__name__)

BODY_IDLE_TIMEOUT_S = 10.0  # a client has this long to send each part of its request body
BODY_MIN_RATE = 64 * 1024  # bytes a second a body averages, after its first BODY_IDLE_TIMEOUT_S, or it is 408
BODY_PARTS_FREE = 1024  # parts a body may arrive in before they must average BODY_PART_MIN bytes
BODY_PART_MIN = 64  # (a client sending N-Triples a line a chunk sends about 100 bytes a part)
BODY_BUDGET_BODIES = 4  # request bodies held at once: at most this many times CAREERKG_MAX_BODY bytes
CLIENT_GONE = "careerkg.client_gone"  # in the environ: a threading.Event set when the client has gone
ANSWER_BUFFER = 256 * 1024  # bytes of an answer read in the thread that began it, before it is sent part by part
SEND_IDLE_TIMEOUT_S = 60.0  # a client that takes no part of its answer for this long is cut off
HTTP10_ANSWER_MOST = 16 * 1024 * 1024  # an HTTP/1.0 client gets an answer only whole: at most this many bytes

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _Budget:
    """Bytes of request bodies held at once, at most ``size``; a part waits for room, a bounded time."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._room = asyncio.Condition()
        self._waiting = 0

    async def take(self, n: int) -> None:
        """Take room for ``n`` bytes; TimeoutError when there is none within BODY_IDLE_TIMEOUT_S."""
        if self.free >= n and not self._waiting:  # the usual case, without a lock (the event loop runs one
            self.free -= n  # coroutine at a time), unless parts wait for room: they go first
            return
        self._waiting += 1
        try:
            async with self._room:
                await asyncio.wait_for(self._room.wait_for(lambda: self.free >= n), BODY_IDLE_TIMEOUT_S)
                self.free -= n
        finally:
            self._waiting -= 1

    async def give(self, n: int) -> None:
        if n:
            async with self._room:
                self.free += n
                self._room.notify_all()


class _NoRoom(Exception):
    """The budget had no room for a part of a request body."""


class _Gone(Exception):
    """The client went away (before its request body was in, or while its answer was sent)."""


class _TooSlow(Exception):
    """A request body that arrives too slowly, or in too many small parts."""


class _Stalled(Exception):
    """The client took no part of its answer for SEND_IDLE_TIMEOUT_S."""


class _Answer:
    """One WSGI call, run step by step in a request thread: the status and headers, then each part of the body."""

    def __init__(self, app: Any, environ: dict[str, Any]) -> None:
        self.app = app
        self.environ = environ
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.whole: bytes | None = None
        self._parts: Iterator[bytes] | None = None
        self._result: Iterable[bytes] | None = None
        self.failed: Exception | None = None
        self._written: list[bytes] = []

    def _start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        return self._written.append  # PEP 3333's write(): what it is given goes before the returned body

    def start(self) -> bytes | None:
        """Call the app and read its answer up to ANSWER_BUFFER bytes: None when that is the whole answer (in
        ``whole``: one trip to a thread for most answers), else its first bytes (``failed`` if it broke there)."""
        self._result = self.app(self.environ, self._start_response)
        if isinstance(self._result, list | tuple):
            self.whole = b"".join([*self._written, *self._result])
            self.close()
            return None
        self._parts = iter(self._result)  # a generator calls start_response only when first iterated
        collected: list[bytes] = self._written
        size = 0
        try:
            while size < ANSWER_BUFFER:
                part = next(self._parts, None)
                if part is None:
                    self.whole = b"".join(collected)
                    self.close()
                    return None
                collected.append(part)
                size += len(part)
        except Exception as exc:  # the answer broke after it began (a query stopped at its timeout)
            self.failed = exc
        return b"".join(collected)

    def next(self) -> bytes | None:
        """The next part of the body, None after the last."""
        assert self._parts is not None
        return next(self._parts, None)

    def close(self) -> None:
        """Let the app clean up (a streamed SPARQL answer stops its query worker)."""
        close = getattr(self._result, "close", None)
        if close is not None:
            close()


class ASGIApp:
    """Serve a WSGI app over ASGI: bodies read on the event loop, the app in a pool of ``threads`` threads."""

    def __init__(self, app: Any, *, threads: int, max_body: int, workers: int = 1) -> None:
        self.app = app
        self.threads = threads
        self.max_body = max_body
        self.multiprocess = workers > 1
        self._pool: ThreadPoolExecutor | None = None
        self._more: ThreadPoolExecutor | None = None
        self._budget: _Budget | None = None
        self._setup = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            return
        pool, more, budget = self._resources()
        environ = self.environ(scope)
        held = [0]  # bytes of this request's body in the budget, given back once the app has taken it
        try:
            if await self._read_body(environ, scope, receive, send, held):
                await self._answer(pool, more, environ, receive, send, held)
        finally:
            await budget.give(held[0])
            held[0] = 0

    def _resources(self) -> tuple[ThreadPoolExecutor, ThreadPoolExecutor, _Budget]:
        """The request threads, the threads that carry on answers already begun, and the body budget (made in the
        worker process at its first request).

        Two pools: a request begins in the first, where it may wait for a query worker; the parts of an answer that
        has begun are read in the second. In one pool, requests waiting for a worker took every thread, and the
        answers holding the workers could not go on to release them (503 busy at 16 connections)."""
        with self._setup:
            if self._pool is None or self._more is None or self._budget is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="careerkg-request")
                self._more = ThreadPoolExecutor(self.threads, thread_name_prefix="careerkg-answer")
                self._budget = _Budget(BODY_BUDGET_BODIES * (self.max_body + 1))
            return self._pool, self._more, self._budget

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for pool in (self._pool, self._more):
                    if pool is not None:
                        pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def environ(self, scope: dict[str, Any]) -> dict[str, Any]:
        """The WSGI environ of a request (its body not yet read)."""
        host, port = scope.get("server") or ("", 0)
        client, client_port = scope.get("client") or ("", 0)
        raw_path = scope.get("raw_path") or urllib.parse.quote(scope["path"], safe="/:@!$&'()*+,;=").encode()
        target = raw_path + b"?" + scope["query_string"] if scope["query_string"] else raw_path
        environ: dict[str, Any] = {
            "REQUEST_METHOD": scope["method"],
            "SCRIPT_NAME": "",
            "PATH_INFO": urllib.parse.unquote_to_bytes(raw_path).decode("latin-1"),
            "QUERY_STRING": scope["query_string"].decode("latin-1"),
            # the request target as sent (gunicorn's key): the URL length check reads it
            "RAW_URI": target.decode("latin-1"),
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            # granian says "1" of HTTP/1.0 (ASGI says "1.0"); WSGI apps compare with "HTTP/1.0"
            "SERVER_PROTOCOL": "HTTP/1.0" if scope["http_version"] in ("1", "1.0") else f"HTTP/{scope['http_version']}",
            "REMOTE_ADDR": client,
            "REMOTE_PORT": str(client_port),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scope.get("scheme", "http"),
            "wsgi.input": io.BytesIO(),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": self.multiprocess,
            "wsgi.run_once": False,
        }
        for raw_name, raw_value in scope["headers"]:
            if b"_" in raw_name:  # X_Forwarded_Host would become X-Forwarded-Host's key: dropped, as gunicorn does
                continue
            if raw_name == b"host" and not raw_value:  # granian's stand-in for a request that sent none
                continue
            if raw_name == b"upgrade":  # never honoured (RFC 9110 section 7.8 lets a server ignore it): werkzeug
                continue  # would refuse an HTTP route to a request asking for a WebSocket
            key = raw_name.decode("latin-1").upper().replace("-", "_")
            value = raw_value.decode("latin-1")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    async def _read_body(
        self, environ: dict[str, Any], scope: dict[str, Any], receive: Receive, send: Send, held: list[int]
    ) -> bool:
        """Read the request body into the environ; False when the request was answered here (408, 501, 503)."""
        codings = unknown_codings(environ)
        if codings:  # (unread: the connection is closed after the answer)
            await self._refuse(
                send, scope, 501, NOT_IMPLEMENTED, codings_detail(codings), extra=[(b"connection", b"close")]
            )
            return False
        declared = environ.get("CONTENT_LENGTH", "")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked and declared.strip() in ("", "0"):
            return True
        if not chunked and not (declared.isdigit() and int(declared) <= self.max_body):
            return True  # a length that is no number or over the limit: the app refuses it (400, 413) unread
        close = [(b"connection", b"close")]
        try:
            body = await self._receive(receive, self.max_body + 1, held)
        except _NoRoom:
            detail = "too many request bodies are being received at once: try again shortly"
            await self._refuse(send, scope, 503, "Service Unavailable", detail, extra=[(b"retry-after", b"5"), *close])
            return False
        except TimeoutError:
            detail = (
                f"the request body came too slowly (a pause of {BODY_IDLE_TIMEOUT_S:g} s, or under "
                f"{BODY_MIN_RATE // 1024} KiB/s after the first {BODY_IDLE_TIMEOUT_S:g} s): send it without pauses"
            )
            await self._refuse(send, scope, 408, "Request Timeout", detail, extra=close)
            return False
        except _TooSlow as exc:
            await self._refuse(send, scope, 400, "Bad Request", str(exc), extra=close)
            return False
        except _Gone:  # granian says so of a client that left, and of a body whose chunked framing is broken
            detail = "the request body ended before it was complete, or its chunked framing is not valid"
            await self._refuse(send, scope, 400, "Bad Request", detail, extra=close)
            return False
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))  # over the limit by one byte: the app answers 413
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return True

    async def _receive(self, receive: Receive, most: int, held: list[int]) -> bytes:
        """At most ``most`` bytes of the body, each part counted in the budget (``held``)."""
        _, _, budget = self._resources()
        parts, total, count = [], 0, 0
        loop = asyncio.get_running_loop()
        started = loop.time()
        while total < most:
            # Each part within BODY_IDLE_TIMEOUT_S, and the whole at BODY_MIN_RATE after its first seconds: a body
            # trickled a byte at a time cannot hold its room in the budget for long.
            wait = min(BODY_IDLE_TIMEOUT_S, started + BODY_IDLE_TIMEOUT_S + total / BODY_MIN_RATE - loop.time())
            if wait <= 0:
                raise TimeoutError
            async with asyncio.timeout(wait):
                message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            count += bool(message.get("body"))  # the closing empty message is no part
            if count > BODY_PARTS_FREE and total < count * BODY_PART_MIN:
                raise _TooSlow(
                    f"the request body arrives in too many small parts ({count} parts, {total} bytes):"
                    " send it in larger parts"
                )
            chunk = bytes(message.get("body", b""))[: most - total]
            if chunk:
                waited = loop.time()
                try:
                    await budget.take(len(chunk))
                except TimeoutError:
                    raise _NoRoom from None
                started += loop.time() - waited  # waiting for room is the server's time, not the client's
                held[0] += len(chunk)
                parts.append(chunk)
                total += len(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(parts)

    @staticmethod
    async def _refuse(
        send: Send, scope: dict[str, Any], status: int, title: str, detail: str, *, extra: list[tuple[bytes, bytes]]
    ) -> None:
        body = json.dumps(problem_document(status, title, detail, instance=scope["path"])).encode()
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _answer(  # noqa: PLR0917 - one request's state
        self,
        pool: ThreadPoolExecutor,
        more: ThreadPoolExecutor,
        environ: dict[str, Any],
        receive: Receive,
        send: Send,
        held: list[int],
    ) -> None:
        answer = _Answer(self.app, environ)
        # granian's send does not fail once the client has gone: this task says so (the body is all read by now, so
        # what comes next is the disconnect), to the app meanwhile (a query waited on is stopped), and then the rest
        # of the answer is not made
        gone = asyncio.ensure_future(_until_gone(receive))
        left = environ[CLIENT_GONE] = threading.Event()

        def _left(done: asyncio.Future[None]) -> None:
            if not done.cancelled():
                left.set()

        gone.add_done_callback(_left)
        try:
            await self._answer_to(answer, pool, more, environ, send, held, gone)
        finally:
            gone.cancel()

    async def _answer_to(  # noqa: PLR0917 - one request's state
        self,
        answer: _Answer,
        pool: ThreadPoolExecutor,
        more: ThreadPoolExecutor,
        environ: dict[str, Any],
        send: Send,
        held: list[int],
        gone: asyncio.Future[None],
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            try:
                part = await loop.run_in_executor(pool, answer.start)
            finally:  # the app has taken the body: its room goes to other requests, however long the answer takes
                environ["wsgi.input"] = io.BytesIO()
                _, _, budget = self._resources()
                await budget.give(held[0])
                held[0] = 0
        except Exception:
            log.exception("the app failed on %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            await send({"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if answer.whole is not None:
            try:
                await _sent(
                    send,
                    {"type": "http.response.start", "status": answer.status, "headers": answer.headers},
                    {"type": "http.response.body", "body": answer.whole, "more_body": False},
                )
            except _Stalled:
                _log_stalled(environ)
            return
        sending = _Sending(answer, environ, send, gone, loop, more)
        try:
            if environ["SERVER_PROTOCOL"] == "HTTP/1.0":
                await self._whole_for_http10(sending, part)
            else:
                await self._stream(sending, part)
        except _Stalled:  # no final message: granian aborts the connection
            _log_stalled(environ)
        finally:
            try:
                await loop.run_in_executor(more, answer.close)
            except Exception:
                log.exception("closing the answer to %s %s failed", environ["REQUEST_METHOD"], environ["PATH_INFO"])

    @staticmethod
    async def _stream(sending: _Sending, part: bytes | None) -> None:
        """An answer sent part by part, each part read in a thread when the one before is sent. It ends with the
        final message only when it is complete: cut off (the query's timeout), or when the client has ``gone``, it
        ends without one (granian then aborts the connection) and the rest is not made."""
        answer, environ, send, gone, loop, more = sending
        await _sent(send, {"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        try:
            if answer.failed is not None:
                if part:
                    await _sent(send, {"type": "http.response.body", "body": part, "more_body": True})
                raise answer.failed
            while part is not None:
                if part:
                    await _sent(send, {"type": "http.response.body", "body": part, "more_body": True})
                if gone.done():
                    log.info(
                        "%s %s: the client left during its answer", environ["REQUEST_METHOD"], environ["PATH_INFO"]
                    )
                    return
                part = await loop.run_in_executor(more, answer.next)
        except _Stalled:
            raise
        except Exception as exc:  # cut off after it began: no final message, so granian aborts the connection
            log.warning("an answer to %s %s was cut off: %s", environ["REQUEST_METHOD"], environ["PATH_INFO"], exc)
            return
        await _sent(send, {"type": "http.response.body", "body": b"", "more_body": False})

    async def _whole_for_http10(self, sending: _Sending, part: bytes | None) -> None:
        """The rest of a streamed answer read here, for an HTTP/1.0 client: its body ends when the connection
        closes, so an answer cut off after it began would look complete. It gets the answer whole, with its length,
        or, if the answer is cut off or over HTTP10_ANSWER_MOST, a 503 and nothing of it."""
        answer, environ, send, gone, loop, more = sending
        parts, size = [part or b""], len(part or b"")
        why: str | None = str(answer.failed) if answer.failed is not None else None
        try:
            while why is None:
                if gone.done():
                    return
                following = await loop.run_in_executor(more, answer.next)
                if following is None:
                    break
                parts.append(following)
                size += len(following)
                if size > HTTP10_ANSWER_MOST:
                    why = f"it is over {HTTP10_ANSWER_MOST // (1024 * 1024)} MiB"
        except Exception as exc:
            why = str(exc) or type(exc).__name__
        if why is not None:
            detail = (
                f"the answer could not be sent whole ({why}); over HTTP/1.0 an answer is sent only whole, since a "
                "cut-off one would look complete: ask over HTTP/1.1 to have it streamed"
            )
            await self._refuse(send, {"path": environ["PATH_INFO"]}, 503, "Service Unavailable", detail, extra=[])
            return
        headers = [
            (name, value) for name, value in answer.headers if name not in (b"content-length", b"transfer-encoding")
        ]
        headers.append((b"content-length", str(size).encode()))
        await _sent(send, {"type": "http.response.start", "status": answer.status, "headers": headers})
        # In parts, as a stream is: a client that stops reading is cut off after SEND_IDLE_TIMEOUT_S (short of its
        # Content-Length: visibly incomplete) instead of holding the whole answer for as long as it stays connected.
        for piece in parts:
            if gone.done():
                return
            if piece:
                await _sent(send, {"type": "http.response.body", "body": piece, "more_body": True})
        await _sent(send, {"type": "http.response.body", "body": b"", "more_body": False})


class _Sending(NamedTuple):
    """What sending one answer takes: the answer, its request, the ASGI send, the watch on the connection, the
    event loop and the threads that make the answer's parts."""

    answer: _Answer
    environ: dict[str, Any]
    send: Send
    gone: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop
    more: ThreadPoolExecutor


def _log_stalled(environ: dict[str, Any]) -> None:
    log.warning(
        "%s %s: the client took no part of its answer for %g s, so it was cut off",
        environ["REQUEST_METHOD"],
        environ["PATH_INFO"],
        SEND_IDLE_TIMEOUT_S,
    )


async def _sent(send: Send, *messages: Message) -> None:
    """Send messages, or _Stalled when the client takes none of them for SEND_IDLE_TIMEOUT_S (granian has no write
    timeout of its own: a client that never reads would hold the answer for as long as it stays connected). A whole
    answer's head and body go under one timeout: a timeout costs the event loop more than the send of a small answer."""
    try:
        async with asyncio.timeout(SEND_IDLE_TIMEOUT_S):
            for message in messages:
                await send(message)
    except TimeoutError:
        raise _Stalled from None


async def _until_gone(receive: Receive) -> None:
    """Return when the client has gone (granian also says so once the answer is complete). Once the body is in,
    granian has nothing else to say; a server that said something else at once, again and again, would hold the event
    loop here without the pause."""
    while (await receive())["type"] != "http.disconnect":
        await asyncio.sleep(0)
