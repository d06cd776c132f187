"""POST /validate: SHACL-validate a posted RDF document, alone or merged with the current graph."""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from service import negotiation, rdfio
from service.errors import BadRequest
from service.graph import get_graph

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

    The document is parsed in a sandboxed worker: it loads no external entities and fetches no remote JSON-LD
    contexts; RDF/XML entity declarations are refused.
    """
    fmt = rdfio.format_for_media_type(request.mimetype)
    mode = request.args.get("with", "")
    if mode not in ("", "current"):
        raise BadRequest(f"with: {mode!r} is not known; use with=current, or leave it out")
    answer = negotiation.choose(request.headers.get("Accept"), OFFERED)
    data = request.get_data(cache=False)
    report = get_graph().validate_document(data, fmt, source="request body", with_current=mode == "current")
    if answer.rdf is None:
        return Response(report.to_json_text(), mimetype="application/json")
    return Response(report.to_rdf(answer.rdf), content_type=answer.content_type)
