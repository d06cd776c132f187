"""The ASGI adapter driven directly: the WSGI environ it builds (PEP 3333, from raw bytes), request bodies read with a
deadline and a budget, streamed answers that end, and answers cut off that must never end complete-looking."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from service import asgi
from service.asgi import ASGIApp

pytestmark = pytest.mark.unit


def scope(path: bytes = b"/x", query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": path.decode("utf-8", "replace"),
        "raw_path": path,
        "query_string": query,
        "headers": headers or [],
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "http_version": "1.1",
    }


@pytest.mark.parametrize(
    ("raw_path", "path_info"),
    [
        (b"/id/role/ai-engineer", "/id/role/ai-engineer"),
        (b"/a%20b", "/a b"),
        (b"/%C3%A9", "/\xc3\xa9"),  # UTF-8 bytes, as latin-1 text (PEP 3333)
        (b"/%FF", "/\xff"),  # not UTF-8: kept as the byte
        (b"/a%2Fb", "/a/b"),  # as granian's WSGI interface gives it
    ],
)
def test_path_info_is_latin_1_text_of_the_decoded_bytes(raw_path: bytes, path_info: str) -> None:
    app = ASGIApp(None, threads=1, max_body=10)
    assert app.environ(scope(raw_path))["PATH_INFO"] == path_info


def test_query_string_headers_and_body_fields() -> None:
    raw = [
        (b"content-type", b"text/plain"),
        (b"content-length", b"3"),
        (b"x-a", b"1"),
        (b"x-a", b"2"),
        (b"accept", b"\xe4/x"),
    ]
    environ = ASGIApp(None, threads=1, max_body=10).environ(scope(query=b"q=\xc3\xa4&x=%20", headers=raw))
    assert environ["QUERY_STRING"] == "q=\xc3\xa4&x=%20"  # raw bytes as latin-1: the app decodes them as UTF-8
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "3"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert environ["HTTP_X_A"] == "1,2"
    assert environ["HTTP_ACCEPT"] == "\xe4/x"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"], environ["REMOTE_ADDR"]) == (
        "127.0.0.1",
        "8080",
        "127.0.0.1",
    )


def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{len(body)}:".encode() + body]


def streamed(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    """An answer of 300 KiB in parts, cut off by an error at the end when the query string asks for it."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    for _ in range(300):
        yield b"x" * 1024
    if environ["QUERY_STRING"] == "cut":
        raise RuntimeError("stopped at the timeout")


def run(app: ASGIApp, request: dict[str, Any], messages: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Call the app with these request messages (None: the client sends nothing more); what it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            message = messages.pop(0)
            if message is not None:
                return message
        await asyncio.sleep(3600)  # a client that has stopped sending
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(request, receive, send), 10))  # a hang fails, not waits
    return sent


def body_of(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.mark.parametrize("codings", [b"gzip, chunked", b"deflate", b"chunked;x=1, br"])
def test_a_body_in_a_transfer_coding_other_than_chunked_is_501_unread(codings: bytes) -> None:
    """RFC 9112 section 6.1: granian takes chunked off and hands the rest on, so a gzip-coded body would reach the
    app as if it were plain."""
    called: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        called.append(True)
        return echo(environ, start_response)

    request = scope(headers=[(b"transfer-encoding", codings)])
    sent = run(ASGIApp(app, threads=1, max_body=100), request, [{"type": "http.request", "body": b"x"}])
    assert sent[0]["status"] == 501
    assert (b"connection", b"close") in sent[0]["headers"]
    detail = json.loads(body_of(sent))["detail"]
    assert "transfer coding" in detail
    assert "chunked" not in detail.split("'")[1]
    assert called == []


def test_a_body_in_parts_reaches_the_app_whole() -> None:
    app = ASGIApp(echo, threads=2, max_body=100)
    request = scope(headers=[(b"content-length", b"6")])
    sent = run(
        app,
        request,
        [{"type": "http.request", "body": b"abc", "more_body": True}, {"type": "http.request", "body": b"def"}],
    )
    assert sent[0]["status"] == 200
    assert body_of(sent) == b"6:abcdef"
    assert sent[-1]["more_body"] is False


def test_a_silent_body_gets_408(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asgi, "BODY_IDLE_TIMEOUT_S", 0.2)
    app = ASGIApp(echo, threads=2, max_body=100)
    sent = run(
        app,
        scope(headers=[(b"content-length", b"50")]),
        [{"type": "http.request", "body": b"abc", "more_body": True}, None],
    )
    assert sent[0]["status"] == 408
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]
    assert "request body" in json.loads(body_of(sent))["detail"]


def test_a_body_past_the_budget_waits_then_gets_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asgi, "BODY_IDLE_TIMEOUT_S", 0.2)
    app = ASGIApp(echo, threads=2, max_body=100)
    budget = app._resources()[2]
    budget.free = 10  # what other bodies have left
    sent = run(app, scope(headers=[(b"content-length", b"50")]), [{"type": "http.request", "body": b"x" * 50}])
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"5") in sent[0]["headers"]
    assert budget.free == 10  # nothing held after the answer


def test_a_body_over_the_limit_is_left_to_the_app_unread() -> None:
    """Announced over the limit: not read here (receive is never called: it would hang); the service's BodyLimit
    answers 413 from the announced length."""
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["CONTENT_LENGTH"])
        start_response("413 Content Too Large", [])
        return [b""]

    sent = run(ASGIApp(app, threads=2, max_body=100), scope(headers=[(b"content-length", b"1000")]), [])
    assert seen == ["1000"]
    assert sent[0]["status"] == 413


def test_a_streamed_answer_ends_with_its_final_message() -> None:
    sent = run(ASGIApp(streamed, threads=2, max_body=100), scope(), [])
    assert body_of(sent) == b"x" * 300 * 1024
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


@pytest.mark.parametrize("buffer", [100 * 1024, 1024 * 1024], ids=["after-parts-were-sent", "while-it-was-read-whole"])
def test_an_answer_cut_off_never_sends_its_final_message(buffer: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """granian aborts a connection whose answer ends without the final message: the client sees it incomplete."""
    monkeypatch.setattr(asgi, "ANSWER_BUFFER", buffer)
    sent = run(ASGIApp(streamed, threads=2, max_body=100), {**scope(), "query_string": b"cut"}, [])
    assert sent[0]["status"] == 200
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert bodies
    assert all(m["more_body"] is True for m in bodies)
    assert len(body_of(sent)) == 300 * 1024  # what was produced before the error, and no more


def test_what_the_app_writes_goes_before_what_it_returns() -> None:
    def legacy(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written, ")
        return [b"returned"]

    sent = run(ASGIApp(legacy, threads=1, max_body=10), scope(), [])
    assert body_of(sent) == b"written, returned"


def _client_taking_no_body(
    body: bytes, stalled: Callable[[], None] | None = None
) -> tuple[list[dict[str, Any]], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]]:
    """A client that sends ``body`` and then takes none of its answer's body (``stalled`` is called when it stops):
    the messages sent to it, and its receive and send."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not sent:
            return {"type": "http.request", "body": body}
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            if stalled is not None:
                stalled()
            await asyncio.sleep(3600)

    return sent, receive, send


def test_a_body_taken_by_the_app_leaves_the_budget_while_its_answer_waits_for_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client that never reads its answer holds no room for request bodies (four of them used to lock out every
    POST for as long as they stayed connected), and is cut off after SEND_IDLE_TIMEOUT_S: no final message."""
    monkeypatch.setattr(asgi, "SEND_IDLE_TIMEOUT_S", 0.3)
    app = ASGIApp(streamed, threads=2, max_body=100)
    budget = app._resources()[2]
    full = budget.free
    free_while_stalled: list[int] = []
    sent, receive, send = _client_taking_no_body(b"x" * 50, lambda: free_while_stalled.append(budget.free))
    asyncio.run(asyncio.wait_for(app(scope(headers=[(b"content-length", b"50")]), receive, send), 10))
    assert free_while_stalled == [full]
    assert sent[0]["status"] == 200
    assert all(m.get("more_body", True) for m in sent)  # cut off: never the final message


def test_a_client_that_never_takes_a_whole_answer_is_cut_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole answer's head and body are sent under one timeout: a client that takes none of the body is let go
    after SEND_IDLE_TIMEOUT_S, and the request ends (it held no thread meanwhile)."""
    monkeypatch.setattr(asgi, "SEND_IDLE_TIMEOUT_S", 0.3)
    sent, receive, send = _client_taking_no_body(b"x" * 5)
    app = ASGIApp(echo, threads=1, max_body=100)
    started = time.monotonic()
    asyncio.run(asyncio.wait_for(app(scope(headers=[(b"content-length", b"5")]), receive, send), 10))
    assert time.monotonic() - started < 5
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert "the client took no part of its answer" in caplog.text


def test_a_trickled_body_gets_408_however_short_its_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each part within BODY_IDLE_TIMEOUT_S is not enough: the body must average BODY_MIN_RATE after that long."""
    monkeypatch.setattr(asgi, "BODY_IDLE_TIMEOUT_S", 0.3)
    monkeypatch.setattr(asgi, "BODY_MIN_RATE", 20)  # bytes a second; the client sends 5
    app = ASGIApp(echo, threads=2, max_body=100)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return {"type": "http.request", "body": b"x", "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope(headers=[(b"content-length", b"100")]), receive, send), 10))
    assert sent[0]["status"] == 408
    assert "too slowly" in json.loads(body_of(sent))["detail"]
    assert app._resources()[2].free == 4 * 101  # nothing held after the answer


def test_a_body_in_too_many_small_parts_is_400(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asgi, "BODY_PARTS_FREE", 5)
    parts = [{"type": "http.request", "body": b"x", "more_body": True} for _ in range(10)]
    sent = run(ASGIApp(echo, threads=2, max_body=100), scope(headers=[(b"content-length", b"50")]), parts)
    assert sent[0]["status"] == 400
    assert "too many small parts" in json.loads(body_of(sent))["detail"]
    # As many parts as are free, and the closing empty message (no part): taken
    parts = [{"type": "http.request", "body": b"x", "more_body": True} for _ in range(5)]
    parts.append({"type": "http.request", "body": b"", "more_body": False})
    sent = run(ASGIApp(echo, threads=2, max_body=100), scope(headers=[(b"transfer-encoding", b"chunked")]), parts)
    assert sent[0]["status"] == 200


def test_a_body_that_breaks_off_is_400_not_granians_500() -> None:
    """granian says http.disconnect both of a client that left and of broken chunked framing: a 400 either way
    (returning without an answer made granian send its own plain-text 500)."""
    sent = run(
        ASGIApp(echo, threads=2, max_body=100),
        scope(headers=[(b"transfer-encoding", b"chunked")]),
        [{"type": "http.request", "body": b"abc", "more_body": True}, {"type": "http.disconnect"}],
    )
    assert sent[0]["status"] == 400
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]


def test_header_names_with_underscores_are_dropped() -> None:
    """X_Forwarded_Host would take X-Forwarded-Host's place in the environ (and Content_Type Content-Type's)."""
    raw = [(b"x-forwarded-host", b"real.example"), (b"x_forwarded_host", b"evil.example"), (b"content_type", b"a/b")]
    environ = ASGIApp(None, threads=1, max_body=10).environ(scope(headers=raw))
    assert environ["HTTP_X_FORWARDED_HOST"] == "real.example"
    assert "CONTENT_TYPE" not in environ


def test_the_empty_host_granian_gives_for_none_is_no_host() -> None:
    """granian adds `host: ""` to a request that sent none: an HTTP/1.0 request without one is served (links name
    the server's address), not refused as having an empty Host."""
    environ = ASGIApp(None, threads=1, max_body=10).environ(scope(headers=[(b"host", b"")]))
    assert "HTTP_HOST" not in environ


def test_a_client_that_leaves_mid_answer_stops_it() -> None:
    """granian's send does not fail once the client has gone: the adapter watches for http.disconnect and stops
    making the answer (it used to run the query to its timeout, holding a query worker)."""
    closed: list[bool] = []

    class Parts:
        def __init__(self) -> None:
            self.parts = iter([b"x" * 1024] * 1000)

        def __iter__(self) -> Iterator[bytes]:
            return self.parts

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Any) -> Parts:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Parts()

    sent = run(ASGIApp(app, threads=2, max_body=100), scope(), [{"type": "http.disconnect"}])
    assert len(body_of(sent)) < 1000 * 1024
    assert all(m.get("more_body", True) for m in sent)
    assert closed == [True]


@pytest.mark.parametrize("version", ["1", "1.0"])  # granian says "1"
@pytest.mark.parametrize("cut", [False, True])
def test_an_http_1_0_client_gets_an_answer_whole_or_a_503(cut: bool, version: str) -> None:
    """Over HTTP/1.0 the end of the connection is the end of the body: a cut-off answer would look complete. So the
    answer is read whole first and sent with its length; one cut off is a 503 with nothing of it."""
    request = {**scope(), "http_version": version, "query_string": b"cut" if cut else b""}
    sent = run(ASGIApp(streamed, threads=2, max_body=100), request, [])
    if cut:
        assert sent[0]["status"] == 503
        assert "HTTP/1.1" in json.loads(body_of(sent))["detail"]
    else:
        assert sent[0]["status"] == 200
        assert (b"content-length", str(300 * 1024).encode()) in sent[0]["headers"]
        assert body_of(sent) == b"x" * 300 * 1024
        assert sent[-1]["more_body"] is False
        # in parts, as a stream is: a client that stops reading can be cut off, short of its Content-Length
        assert len([m for m in sent if m["type"] == "http.response.body" and m["body"]]) > 1
