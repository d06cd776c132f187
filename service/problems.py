"""One error handler: every 4xx/5xx becomes an RFC 9457 problem document."""

from __future__ import annotations

import logging
import re
from typing import Any

import pyoxigraph as ox
from flask import Flask, Response, json, render_template, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from service.errors import CareerKGError, ValidationFailed
from service.negotiation import NotAcceptable
from service.validation import Report

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
REPORT_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


_INTERNAL = re.compile(r"(?:\s+at)?\s+(?:https?://|/)[^\s'\"]*[\w/]")


def public(message: str) -> str:
    """A message about the operator's side (a store down or failing) without its URLs and paths: the log has
    them, the client does not need them."""
    return _INTERNAL.sub("", message)


def no_body(status: int = 204) -> Response:
    """An answer without a body (204, or 201 with a Location): no Content-Type either, so nothing encodes it."""
    response = Response(status=status)
    del response.headers["Content-Type"]
    return response


def problem_document(status: int, title: str, detail: str, **extra: object) -> dict[str, object]:
    """An RFC 9457 problem document."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem(status: int, title: str, detail: str, **extra: object) -> Response:
    """A problem+json response; a page saying the same to a browser that asked for a page."""
    body = problem_document(status, title, detail, **extra)
    if request:
        body.setdefault("instance", request.path)
        if _wants_a_page():
            return Response(render_template("error.html", **body), status=status, mimetype="text/html")
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)


# Where the answers are data for programs, errors stay problem documents whatever the Accept header says.
_DATA_ROUTES = ("/api/", "/sparql", "/graph-store", "/validate", "/openapi.json", "/metrics", "/health", "/ready")


def _wants_a_page() -> bool:
    """A browser navigating to a page (it prefers HTML to JSON) outside the data routes."""
    if request.method not in ("GET", "HEAD") or request.path.startswith(_DATA_ROUTES):
        return False
    return request.accept_mimetypes.best_match([PROBLEM_JSON, "application/json", "text/html"]) == "text/html"


def validation_error(error: ValidationError) -> Response:
    """A request that does not fit its schema: 400 naming each parameter and what is wrong with it."""
    params = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ())]
        name = location[-1] if location else "request"
        reason = "unknown parameter" if item.get("type") == "extra_forbidden" else item.get("msg", "invalid")
        reason = reason.removeprefix("Value error, ")  # our validators' own messages need no label
        params.append({"name": name, "reason": reason})
    return invalid_params(params)


def invalid_params(params: list[dict[str, str]]) -> Response:
    """400 naming each parameter and what is wrong with it (RFC 9457's invalid-params)."""
    detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params) or "the request does not fit its schema"
    return problem(400, "Bad Request", detail, **{"invalid-params": params})


def init_app(app: Flask) -> None:
    """Register the handlers, and bound URL length by the body limit."""

    @app.before_request
    def _well_formed() -> Response | None:
        """The request line and Host, checked before anything else (one hook: each costs the app microseconds)."""
        environ = request.environ
        if "HTTP_IF_MATCH" in environ:
            _true_star_dropped(environ)
        return _url_length(app, environ) or _one_host(environ) or _method_and_target(app, environ)

    @app.errorhandler(ValidationFailed)
    def invalid(exc: ValidationFailed) -> Response:
        report = exc.report
        assert isinstance(report, Report)
        wanted = request.accept_mimetypes.best_match([PROBLEM_JSON, *REPORT_FORMATS]) if request else None
        if wanted in REPORT_FORMATS:  # the sh:ValidationReport itself, when asked for in RDF
            return Response(report.to_rdf(REPORT_FORMATS[wanted]), status=exc.status, content_type=wanted)
        return problem(
            exc.status,
            exc.title,
            f"the change would break the shapes, so nothing was written: {exc.message}",
            conforms=False,
            results=[r.to_json() for r in report.results],
        )

    @app.errorhandler(CareerKGError)
    def domain_error(exc: CareerKGError) -> Response:
        detail = exc.message
        if exc.status >= 500:  # the operator's side (a store down, slow or failing): the log says which and why
            log.warning("%s %s answered %d: %s", request.method, request.path, exc.status, exc.message)
            detail = public(detail)
        extra = {"offered": exc.offered} if isinstance(exc, NotAcceptable) else {}
        response = problem(exc.status, exc.title, detail, **extra)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        response = problem(status, exc.name, exc.description or exc.name)
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if exc.get_response().headers.get(header):
                response.headers[header] = exc.get_response().headers[header]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "Internal Server Error", "The server failed to answer; the error is logged.")


def _true_star_dropped(environ: dict[str, Any]) -> None:
    """``If-Match: *`` on a GET or HEAD is true whenever there is an answer, and ignored when there is none (RFC 9110
    sections 13.1.1 and 13.2.1): it is dropped, where werkzeug's make_conditional (run again by the compression layer)
    would answer it 412."""
    if environ["HTTP_IF_MATCH"].strip() == "*" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
        del environ["HTTP_IF_MATCH"]


def _url_length(app: Flask, environ: dict[str, Any]) -> Response | None:
    """The request target, as sent where the server says (RAW_URI: gunicorn, service.asgi), is held to the body
    limit. (werkzeug's test client leaves the query out of RAW_URI.)"""
    limit = app.config.get("MAX_CONTENT_LENGTH")
    sent = environ.get("RAW_URI")
    if sent is not None and "?" not in sent and environ.get("QUERY_STRING"):
        sent = f"{sent}?{environ['QUERY_STRING']}"
    uri = sent or request.full_path
    if limit and len(uri) > limit:
        return problem(414, "URI Too Long", f"the request URI is longer than {limit} bytes")
    return None


def _one_host(environ: dict[str, Any]) -> Response | None:
    """RFC 9112 section 3.2: an HTTP/1.1 request without a Host, or with two (they arrive joined by a comma), is
    400: answers link to the host asked for. Other Host values werkzeug will not build links on (a name with an
    underscore, as docker-compose gives) are served, as they were: refusing them would refuse deployments."""
    given = environ.get("HTTP_HOST")
    if given is None and environ.get("SERVER_PROTOCOL") == "HTTP/1.1":
        return problem(400, "Bad Request", "the request has no Host header (HTTP/1.1 requires one)")
    if given is not None and ("," in given or not given or any(c.isspace() for c in given)):
        return problem(400, "Bad Request", f"Host {given!r} is not one host[:port]")
    return None


def _method_and_target(app: Flask, environ: dict[str, Any]) -> Response | None:
    """RFC 9110 section 9.1: method names are case-sensitive, and werkzeug upper-cases them, so `post` would be
    served as POST past any proxy rule written for POST: 400. RFC 9112 section 3.2: a target that is not a path
    is `*` (OPTIONS of the server as a whole: 204 with every method some route allows) or a CONNECT's
    host:port (this server is no proxy: 405 with an empty Allow, as no method applies to it)."""
    method, target = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    if method != method.upper():
        return problem(400, "Bad Request", f"method {method!r} is not {method.upper()!r}: methods are case-sensitive")
    if target == "*" and method == "OPTIONS":
        allowed = sorted({m for rule in app.url_map.iter_rules() for m in rule.methods or ()})
        answer = Response(status=204, headers={"Allow": ", ".join(allowed)})
        del answer.headers["Content-Type"]
        return answer
    if method == "CONNECT":
        answer = problem(405, "Method Not Allowed", "this server is not a proxy: CONNECT is not supported")
        answer.headers["Allow"] = ""
        return answer
    mounted_root = target == "" and environ.get("SCRIPT_NAME")  # an app mounted under a prefix
    if not target.startswith("/") and not mounted_root:  # (granian gives `GET *x` and `GET h:80` an empty one)
        return problem(400, "Bad Request", f"the request target {target!r} is not a path")
    return None
