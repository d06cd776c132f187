"""Dereferenceable IRIs: /id/{kind}/{slug} as an HTML page for browsers or RDF by Accept; the ontology files."""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from service import dataset, negotiation, queries
from service.errors import NotFound
from service.graph import get_graph
from service.namespaces import DCTERMS, ID, PREFIXES, RDFS, SLUG, compact

bp = Blueprint("linked_data", __name__)
HTML = negotiation.Format("text/html", "html")
OFFERED = (HTML, negotiation.TURTLE, negotiation.JSONLD, negotiation.NTRIPLES, negotiation.RDFXML)
ONTOLOGY_FILES = {"careerkg.ttl": "text/turtle", "shapes.ttl": "text/turtle", "context.jsonld": "application/ld+json"}


@bp.get("/id/<kind>/<slug>")
def resource(kind: str, slug: str) -> ResponseReturnValue:
    """The resource's triples (and those pointing at it, in HTML) in the negotiated syntax."""
    if not SLUG.match(kind) or not SLUG.match(slug):
        raise NotFound(f"/id/{kind}/{slug} is not a CareerKG identifier")
    subject = ox.NamedNode(f"{ID}{kind}/{slug}")
    served = get_graph()
    result = served.select(queries.load("outgoing"), bindings={"this": subject})
    assert isinstance(result, ox.QuerySolutions)
    triples = [ox.Triple(subject, row["p"], row["o"]) for row in result]
    if not triples:
        raise NotFound(f"no resource {subject.value}")
    fmt = negotiation.choose(request.headers.get("Accept"), OFFERED)
    if fmt is HTML:
        incoming = served.select(queries.load("incoming"), bindings={"this": subject})
        assert isinstance(incoming, ox.QuerySolutions)
        response = Response(render_template("resource.html", **_page(subject, triples, list(incoming))))
    else:
        assert fmt.rdf is not None
        prefixes = PREFIXES if fmt.rdf == ox.RdfFormat.TURTLE else None
        response = Response(ox.serialize(triples, format=fmt.rdf, prefixes=prefixes), content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = f'<{subject.value}>; rel="canonical"'
    return response


@bp.get("/ontology/<name>")
def ontology_file(name: str) -> ResponseReturnValue:
    """The ontology, the shapes and the JSON-LD context, as files."""
    if name not in ONTOLOGY_FILES:
        raise NotFound(f"no ontology file {name!r}; there are {', '.join(ONTOLOGY_FILES)}")
    return send_file(dataset.root() / "ontology" / name, mimetype=ONTOLOGY_FILES[name])


def context() -> ResponseReturnValue:
    """The JSON-LD context of the REST API."""
    return ontology_file("context.jsonld")


bp.add_url_rule("/ontology/context.jsonld", endpoint="context", view_func=context)


def _page(subject: ox.NamedNode, triples: list[ox.Triple], incoming: list[ox.QuerySolution]) -> dict[str, object]:
    """What the HTML page shows: label, description, then each property with its values."""

    def english(predicate: str) -> str | None:
        return next(
            (
                t.object.value
                for t in triples
                if t.predicate.value == predicate and isinstance(t.object, ox.Literal) and t.object.language == "en"
            ),
            None,
        )

    ordered = sorted(triples, key=lambda t: (t.predicate.value, str(t.object)))
    return {
        "iri": subject.value,
        "label": english(RDFS + "label") or subject.value,
        "description": english(DCTERMS + "description"),
        "rows": [(compact(t.predicate.value), _value(t.object)) for t in ordered],
        "backlinks": sorted(
            ((_value(r["s"]), compact(r["p"].value)) for r in incoming if isinstance(r["s"], ox.NamedNode)),
            key=lambda b: (b[0]["text"], b[1]),
        ),
        "formats": [(f.name, f.media_type) for f in OFFERED[1:]],
    }


def _value(term: object) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        href = term.value
        if term.value.startswith(ID):
            kind, _, slug = term.value[len(ID) :].partition("/")
            if SLUG.match(kind) and SLUG.match(slug):
                href = url_for("linked_data.resource", kind=kind, slug=slug)
        return {"text": compact(term.value), "href": href}
    if isinstance(term, ox.Literal):
        suffix = f" @{term.language}" if term.language else ""
        return {"text": term.value + suffix, "href": ""}
    return {"text": str(term), "href": ""}
