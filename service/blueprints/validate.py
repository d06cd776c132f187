"""POST /validate: SHACL-validate a posted RDF document, alone or merged with the current graph."""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from service import negotiation, rdfio, writes
from service.errors import BadRequest
from service.graph import get_graph
from service.validation import validate

bp = Blueprint("validate", __name__)
OFFERED = (
    negotiation.Format("application/json", "json", charset=False),
    negotiation.TURTLE,
    negotiation.JSONLD,
    negotiation.NTRIPLES,
    negotiation.RDFXML,
)


@bp.post("/validate")
def validate_document() -> ResponseReturnValue:
    """Validate the body (any RDF syntax, by Content-Type); ``?with=current`` merges it with the graph first.

    The parsers load no external entities and fetch no remote JSON-LD contexts.
    """
    fmt = rdfio.format_for_media_type(request.mimetype)
    mode = request.args.get("with", "")
    if mode not in ("", "current"):
        raise BadRequest(f"with: {mode!r} is not known; use with=current, or leave it out")
    answer = negotiation.choose(request.headers.get("Accept"), OFFERED)
    quads = rdfio.parse_bytes(request.get_data(cache=False), fmt, source="request body")
    if mode == "current":
        store = get_graph().store
        report = writes.validate_change(store, writes.delta_of_quads(store, added=quads))
    else:
        report = validate(rdfio.to_graph(quads))
    if answer.rdf is None:
        return Response(report.to_json_text(), mimetype="application/json")
    return Response(report.to_rdf(answer.rdf), content_type=answer.content_type)
