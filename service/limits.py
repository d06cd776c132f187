"""Request bodies read once, up to the limit, however they are sent: a WSGI middleware in front of the app.

``CAREERKG_MAX_BODY`` holds for every route and every framing: a body announced larger is refused before it is
read, and a chunked body (no Content-Length) is read up to one byte past the limit, then refused. Either way the
answer is 413 and the app never sees a truncated body. What passes is handed to the app as a whole, with its
real length, so nothing downstream reads a socket.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from service.problems import PROBLEM_JSON, problem_document

Environ = dict[str, Any]
StartResponse = Any
WSGIApp = Any
_READ = 64 * 1024


def unknown_codings(environ: Environ) -> str | None:
    """The transfer codings of a request body other than chunked, if it names any (RFC 9112 section 6.1: 501).
    granian takes chunked off and hands the rest on as it arrived: a gzip-coded body would be read as a plain one."""
    sent = environ.get("HTTP_TRANSFER_ENCODING")
    if not sent:
        return None
    unknown = [c for c in (part.split(";")[0].strip().lower() for part in sent.split(",")) if c and c != "chunked"]
    return ", ".join(unknown) or None


NOT_IMPLEMENTED = "Not Implemented"


def codings_detail(codings: str) -> str:
    """What a 501 for a body in unknown transfer codings says."""
    return f"transfer coding {codings!r} is not supported: send the body as it is, chunked or with a Content-Length"


class BodyLimit:
    """Read the request body (at most ``limit`` bytes) before the app runs; 413 when it is longer, 501 when it comes in
    a transfer coding other than chunked."""

    def __init__(self, app: WSGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        codings = unknown_codings(environ)
        if codings:
            return _refuse(environ, start_response, 501, NOT_IMPLEMENTED, codings_detail(codings))
        declared = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return _refuse(environ, start_response, 400, "Bad Request", "Content-Length is not a number")
            if length < 0:
                return _refuse(environ, start_response, 400, "Bad Request", "Content-Length is negative")
            if length > self.limit:
                return self._too_large(environ, start_response)
        if declared or chunked:
            data = _read(environ["wsgi.input"], self.limit + 1 if chunked else min(int(declared), self.limit + 1))
            if len(data) > self.limit:
                return self._too_large(environ, start_response)
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["wsgi.input_terminated"] = False
        return self.app(environ, start_response)  # type: ignore[no-any-return]

    def _too_large(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        detail = f"the request body is larger than the {self.limit:,} bytes this server accepts (CAREERKG_MAX_BODY)"
        return _refuse(environ, start_response, 413, "Content Too Large", detail)


def _read(stream: Any, most: int) -> bytes:
    parts, total = [], 0
    while total < most:
        chunk = stream.read(min(_READ, most - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def _refuse(environ: Environ, start_response: StartResponse, status: int, title: str, detail: str) -> Iterable[bytes]:
    body = json.dumps(problem_document(status, title, detail, instance=environ.get("PATH_INFO", "/"))).encode()
    start_response(f"{status} {title}", [("Content-Type", PROBLEM_JSON), ("Content-Length", str(len(body)))])
    return [body]
