"""The SPARQL 1.1 Protocol endpoint: query by GET, POST form and POST direct; update by POST."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from service import auth, negotiation
from service.asgi import CLIENT_GONE
from service.blueprints import service_description
from service.config import Settings
from service.errors import BadRequest, UnsupportedMediaType
from service.graph import forget_version, get_graph
from service.metrics import Metrics, get_metrics
from service.problems import no_body, problem
from service.rdfio import is_absolute_iri
from service.sparql.execute import QueryRequest, UpdateRequest
from service.sparql.pool import Answer

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
# What a query can be answered in, as a client would ask for it (a browser's xhtml+xml is asking for a page).
ANSWER_TYPES = tuple(t for t in (*negotiation.BY_MEDIA_TYPE, *negotiation.ALIASES) if t != "application/xhtml+xml")


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> ResponseReturnValue:
    """Dispatch a protocol request to a query, an update, or the service description."""
    params, operation, text = _operation()
    if operation is None:
        return service_description.respond()
    if operation == "update":
        settings: Settings = current_app.config["CAREERKG"]
        user = auth.require_writer(request, settings)
        report = get_graph().update(
            UpdateRequest(
                update=text,
                using_graphs=_iris(params, "using-graph-uri"),
                using_named_graphs=_iris(params, "using-named-graph-uri"),
                base_iri=request.base_url,
                user=user,
            )
        )
        forget_version()
        response = no_body()
        if report.warnings:
            response.headers["CareerKG-Warnings"] = str(len(report.warnings))
        return response
    asked_for = params.get("format") or params.get("output")
    if request.method in ("GET", "HEAD") and not asked_for and service_description.wants_the_editor(ANSWER_TYPES):
        return service_description.editor_page()  # a shared link to a query, opened in a browser: the page runs it
    gone = request.environ.get(CLIENT_GONE)  # (set by service.asgi when the client leaves)
    answer = get_graph().query(
        QueryRequest(
            query=text,
            default_graphs=_iris(params, "default-graph-uri"),
            named_graphs=_iris(params, "named-graph-uri"),
            accept=request.headers.get("Accept"),
            format=asked_for,
            base_iri=request.base_url,
        ),
        cancelled=gone.is_set if gone is not None else None,
    )
    if answer.head.problem is not None:
        body = dict(answer.head.problem)
        return problem(int(body.pop("status")), body.pop("title"), body.pop("detail"), **body)
    response = Response(_body(answer, get_metrics(current_app)), content_type=answer.head.media_type)
    response.call_on_close(answer.close)
    response.headers["Vary"] = "Accept"
    return response


def _body(answer: Answer, metrics: Metrics) -> Iterator[bytes]:
    """The answer's chunks; its size is recorded once it is all sent.

    An answer cut off after it began (the timeout, a worker's death) raises StreamAborted here: the server then
    closes the connection without ending the body, so no client can take the part for the whole.
    """
    yield from answer.chunks
    if "bytes" in answer.stats:
        metrics.result_bytes.observe(answer.stats["bytes"])


def _operation() -> tuple[MultiDict[str, str], str | None, str]:
    """The request's parameters, its operation (query, update or None) and the operation text."""
    if request.method in ("GET", "HEAD"):  # HEAD: the head of what GET answers
        params = request.args
        if "update" in params:
            raise BadRequest("updates must be sent by POST, not GET")
        return params, *_single(params, "query")
    mimetype = request.mimetype
    if mimetype == FORM:
        _check_charset(request.mimetype_params.get("charset"))
        params = MultiDict(request.args)
        params.update(request.form)
        if "query" in params and "update" in params:
            raise BadRequest("a request carries either 'query' or 'update', not both")
        kind, text = _single(params, "update") if "update" in params else _single(params, "query")
        if kind is None:
            raise BadRequest("the form has neither a 'query' nor an 'update' parameter")
        return params, kind, text
    if mimetype in (QUERY_TYPE, UPDATE_TYPE):
        _check_charset(request.mimetype_params.get("charset"))
        try:
            text = request.get_data(cache=False).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the request body is not valid UTF-8") from None
        for name in ("query", "update"):
            if name in request.args:
                raise BadRequest(f"a direct POST carries the operation in its body, not in a '{name}' URL parameter")
        return request.args, ("query" if mimetype == QUERY_TYPE else "update"), text
    if not mimetype:
        raise UnsupportedMediaType(f"a POST to /sparql needs a Content-Type: {FORM}, {QUERY_TYPE} or {UPDATE_TYPE}")
    raise UnsupportedMediaType(
        f"Content-Type {mimetype!r} is not accepted here; use {FORM}, {QUERY_TYPE} or {UPDATE_TYPE}"
    )


def _single(params: MultiDict[str, str], name: str) -> tuple[str | None, str]:
    values = params.getlist(name)
    if not values:
        return None, ""
    if len(values) > 1:
        raise BadRequest(f"the request carries {len(values)} '{name}' parameters; send exactly one")
    return name, values[0]


def _check_charset(charset: str | None) -> None:
    if charset and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"charset {charset!r} is not supported; SPARQL requests are UTF-8")


def _iris(params: MultiDict[str, str], name: str) -> list[str]:
    """The values of an IRI parameter, each checked to be an absolute IRI."""
    values = params.getlist(name)
    for value in values:
        if not is_absolute_iri(value):
            raise BadRequest(f"parameter '{name}' must be an absolute IRI, got {value!r}")
    return values
