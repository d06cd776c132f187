"""Dereferenceable IRIs: /id/{kind}/{slug} as a page for people or RDF by Accept; the ontology at its namespace."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pyoxigraph as ox
import rdflib
from flask import Blueprint, Response, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from service import dataset, negotiation, queries, rdfio
from service.api.catalog import Index, description, description_language, served_language
from service.blueprints.api import catalog
from service.errors import BadRequest, NotFound
from service.graph import get_graph
from service.namespaces import CKG, DCTERMS, ID, OWL, PREFIXES, RDF, RDFS, RESOURCE_IRI, SLUG, compact

bp = Blueprint("linked_data", __name__)
HTML = negotiation.Format("text/html", "html")
RDF_OFFERED = (negotiation.TURTLE, negotiation.JSONLD, negotiation.NTRIPLES, negotiation.RDFXML)
OFFERED = (HTML, *RDF_OFFERED)
ONTOLOGY_FILES = {"careerkg.ttl": "text/turtle", "shapes.ttl": "text/turtle", "context.jsonld": "application/ld+json"}
ONTOLOGY = CKG.rstrip("#")
# ``?_mediatype=`` names (a link can ask for a syntax a browser's Accept does not), besides the media types.
MEDIATYPE_NAMES = {"html": HTML, **negotiation.GRAPH_NAMES}
FIRST = (RDF + "type", RDFS + "label", DCTERMS + "description")  # shown first, in this order
LAST = DCTERMS + "source"  # who says so: after the statements
STATES_SHOWN = 500  # statements of a source listed on its page (the query editor has them all)


@bp.get("/id/<kind>/<slug>")
def resource(kind: str, slug: str) -> ResponseReturnValue:
    """The resource as a page (its statements and those pointing at it, labelled in the reader's language) or as
    RDF (its statements) in the negotiated syntax."""
    if not SLUG.match(kind) or not SLUG.match(slug):
        raise NotFound(f"/id/{kind}/{slug} is not a CareerKG identifier")
    subject = ox.NamedNode(f"{ID}{kind}/{slug}")
    served = get_graph()
    result = served.select(queries.load("outgoing"), bindings={"this": subject})
    assert isinstance(result, ox.QuerySolutions)
    triples = [ox.Triple(subject, row["p"], row["o"]) for row in result]
    if not triples:
        raise NotFound(f"no resource {subject.value}")
    fmt = _negotiate()
    if fmt is HTML:
        incoming = served.select(queries.load("incoming"), bindings={"this": subject})
        assert isinstance(incoming, ox.QuerySolutions)
        cat, index = catalog()
        lang = _language(index)
        said = cat.stated_by(subject.value)
        page = _document(subject, triples, [(r["s"], r["p"]) for r in incoming], index, lang, said=said)
        if kind == "source":
            page.update(_states(subject, index, lang))
        response = Response(render_template("document.html", **page))
        response.headers["Content-Language"] = page["lang"]
    else:
        response = Response(_rdf(triples, fmt), content_type=fmt.content_type)
    response.headers["Vary"] = "Accept, Accept-Language"
    response.headers["Link"] = ", ".join(
        [f'<{subject.value}>; rel="canonical"', *_alternates("linked_data.resource", kind=kind, slug=slug)]
    )
    return response


def _alternates(endpoint: str, **values: Any) -> list[str]:
    """RFC 8288 links to the page's data in every RDF syntax offered."""
    return [
        f'<{url_for(endpoint, **values, _mediatype=f.media_type)}>; rel="alternate"; type="{f.media_type}"'
        for f in RDF_OFFERED
    ]


@bp.get("/ontology")
def ontology() -> ResponseReturnValue:
    """The ontology at its namespace: a page documenting its classes and properties, or the RDF by Accept."""
    fmt = _negotiate()
    if fmt is not HTML:
        return Response(_rdf(_ontology_triples(), fmt), content_type=fmt.content_type, headers={"Vary": "Accept"})
    response = Response(render_template("ontology.html", **_ontology_page()))
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = ", ".join(_alternates("linked_data.ontology"))
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


# --- negotiation and RDF -------------------------------------------------------------------------------------


def _negotiate() -> negotiation.Format:
    """``?_mediatype=`` (a media type or a short name) if given, else Accept; JSON asked for is JSON-LD."""
    asked = request.args.get("_mediatype", "").strip().lower()
    if asked:
        chosen = MEDIATYPE_NAMES.get(asked) or next((f for f in OFFERED if f.media_type == asked), None)
        if chosen is None or chosen not in OFFERED:
            offered = ", ".join(f.media_type for f in OFFERED)
            raise BadRequest(f"_mediatype {asked!r} is not offered here; ask for one of {offered}")
        return chosen
    return negotiation.choose(request.headers.get("Accept"), OFFERED, aliases={"application/json": negotiation.JSONLD})


def _rdf(triples: list[ox.Triple], fmt: negotiation.Format) -> bytes:
    """Triples in an RDF syntax: Turtle with the usual prefixes, JSON-LD compacted with the published context."""
    assert fmt.rdf is not None
    if fmt is negotiation.JSONLD:
        graph = rdflib.Graph()
        for t in triples:
            graph.add(tuple(rdfio.to_rdflib(term) for term in (t.subject, t.predicate, t.object)))  # type: ignore[arg-type]
        # The published context, inline: the document parses without fetching anything.
        return graph.serialize(format="json-ld", context=_context(), auto_compact=True, indent=1).encode()
    prefixes = PREFIXES if fmt.rdf == ox.RdfFormat.TURTLE else None
    return ox.serialize(triples, format=fmt.rdf, prefixes=prefixes) or b""


@cache
def _context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((dataset.root() / "ontology" / "context.jsonld").read_text("utf-8"))
    return dict(context["@context"])


# --- the page of a resource ----------------------------------------------------------------------------------


@dataclass
class Group:
    """The values of one property on a page."""

    name: str
    iri: str
    values: list[dict[str, str]] = field(default_factory=list)


def _language(index: Index) -> str:
    """``?lang=`` if the data has it, else the best of Accept-Language the data has, else English."""
    offered = [lang for lang in index.languages if lang]
    asked = request.args.get("lang", "").strip()
    if asked:
        return served_language(asked, offered)
    return (request.accept_languages.best_match(offered) if offered else None) or "en"


def _document(
    subject: ox.NamedNode,
    triples: list[ox.Triple],
    incoming: list[tuple[Any, Any]],
    index: Index,
    lang: str,
    *,
    said: dict[tuple[str, Any], list[str]],
) -> dict[str, Any]:
    """What the page shows: the label and description in ``lang``, then each property with its values as links
    to local pages named by their labels, and the sources that state each (``said``), then what points here,
    grouped the same way."""
    names = _ontology_labels()
    entry = index.by_iri.get(subject.value)
    groups: dict[str, Group] = {}
    for t in sorted(triples, key=lambda t: (_order(t.predicate.value), str(t.object))):
        if t.predicate.value in (RDFS + "label", DCTERMS + "description") and entry is not None:
            continue  # the heading and the lead say these, in the reader's language (all languages below)
        group = groups.setdefault(t.predicate.value, Group(_name(t.predicate.value, names), t.predicate.value))
        value = _value(t.object, index, lang, names)
        value["sources"] = [
            _value(ox.NamedNode(iri), index, lang, names) for iri in sorted(said.get((t.predicate.value, t.object), []))
        ]
        group.values.append(value)
    backlinks: dict[str, Group] = {}
    for s, p in incoming:
        if isinstance(s, ox.NamedNode):
            group = backlinks.setdefault(p.value, Group(_name(p.value, names), p.value))
            group.values.append(_value(s, index, lang, names))
    for group in [*groups.values(), *backlinks.values()]:
        group.values.sort(key=lambda v: v["text"].casefold())
        if len({v["kind"] for v in group.values}) == 1:
            for v in group.values:  # a kind every value has goes without saying
                v["kind"] = ""
    labels = sorted(
        (t.object.language or "", t.object.value)
        for t in triples
        if t.predicate.value == RDFS + "label" and isinstance(t.object, ox.Literal)
    )
    statements: dict[str, list[Any]] = defaultdict(list)
    for t in triples:
        statements[t.predicate.value].append(t.object)
    return {
        "iri": subject.value,
        "label": entry.label(lang) if entry is not None else subject.value,
        "lang": lang,
        "languages": [code for code in index.languages if code],
        "description": description(statements, lang) if entry is not None else None,
        # The language the description is in (English when the reader's has none): the page marks it.
        "description_lang": (description_language(statements, lang) if entry is not None else None) or "en",
        "labels": labels,
        "groups": list(groups.values()),
        "backlinks": sorted(backlinks.values(), key=lambda g: g.name),
        "formats": [
            (f.media_type, url_for(request.endpoint or "", **(request.view_args or {}), _mediatype=f.media_type))
            for f in RDF_OFFERED
        ],
    }


def _states(source: ox.NamedNode, index: Index, lang: str) -> dict[str, Any]:
    """What a source document states, as its page lists it: each statement as subject, property and value,
    labelled, the first STATES_SHOWN of them, with a link to all of them in the query editor."""
    found = get_graph().select(queries.load("states"), bindings={"this": source})
    assert isinstance(found, ox.QuerySolutions)
    names = _ontology_labels()
    rows = [
        (_value(r["s"], index, lang, names), _name(r["p"].value, names), _value(r["o"], index, lang, names))
        for r in found
    ]
    rows.sort(key=lambda r: (r[0]["text"].casefold(), r[1], r[2]["text"].casefold()))
    query = queries.load("states") + f"VALUES ?this {{ <{source.value}> }}\n"  # an IRI of ours (a checked slug)
    return {
        "states": rows[:STATES_SHOWN],
        "states_total": len(rows),
        "states_query": url_for("sparql.endpoint", query=query),
    }


def _order(predicate: str) -> tuple[int, str]:
    if predicate in FIRST:
        return FIRST.index(predicate), ""
    return (len(FIRST) + 1, "") if predicate == LAST else (len(FIRST), predicate)


@cache
def _ontology_labels() -> dict[str, str]:
    """The ontology's English label of each of its terms (read once: the ontology ships with the code)."""
    labels: dict[str, str] = {}
    for t in _ontology_triples():
        subject, value = t.subject, t.object
        if t.predicate.value != RDFS + "label" or not isinstance(subject, ox.NamedNode):
            continue
        if isinstance(value, ox.Literal) and value.language in ("en", None):
            labels.setdefault(subject.value, value.value)
    return labels


def _name(iri: str, names: dict[str, str]) -> str:
    """A property or class as people read it: the ontology's label, else its local name in words."""
    if iri in names:
        return names[iri]
    local = _local(iri)
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local).lower() if local else iri


def _local(iri: str) -> str:
    return re.split(r"[#/]", iri)[-1]


def _value(term: Any, index: Index, lang: str, names: dict[str, str]) -> dict[str, Any]:
    """A value as a page shows it: a local page named by its label (and its kind), an ontology term by its label,
    an outside IRI as itself (or the ontology's label of it), a literal with its language."""
    if isinstance(term, ox.NamedNode):
        found = index.by_iri.get(term.value)
        match = RESOURCE_IRI.match(term.value)
        if match is not None:
            href = url_for("linked_data.resource", kind=match.group("kind"), slug=match.group("slug"))
            text = found.label(lang) if found is not None else match.group("slug").replace("-", " ")
            return {"text": text, "href": href, "kind": match.group("kind").replace("-", " "), "lang": ""}
        if term.value.startswith(CKG):
            href = url_for("linked_data.ontology") + "#" + _local(term.value)
            return {"text": _name(term.value, names), "href": href, "kind": "ontology", "lang": ""}
        # An outside IRI links out, named by the ontology's label where it gives one (ESCO's skill types).
        return {"text": names.get(term.value, term.value), "href": term.value, "kind": "", "lang": ""}
    if isinstance(term, ox.Literal):
        return {"text": term.value, "href": "", "kind": "", "lang": term.language or ""}
    return {"text": str(term), "href": "", "kind": "", "lang": ""}


# --- the ontology page ---------------------------------------------------------------------------------------


@cache
def _ontology_triples() -> list[ox.Triple]:
    return [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(path=str(dataset.ontology_path()))]


@cache
def ontology_terms() -> tuple[list[str], list[str]]:
    """The IRIs of the ontology's classes, and of its properties (the query editor completes them)."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for t in _ontology_triples():
        if (
            t.predicate.value == RDF + "type"
            and isinstance(t.subject, ox.NamedNode)
            and isinstance(t.object, ox.NamedNode)
        ):
            kinds[t.object.value].add(t.subject.value)
    properties = kinds[OWL + "ObjectProperty"] | kinds[OWL + "DatatypeProperty"] | kinds[RDF + "Property"]
    return sorted(kinds[OWL + "Class"]), sorted(properties)


def _ontology_page() -> dict[str, Any]:
    """Classes and properties, each with its label, comment, and the terms it relates to."""
    about: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for t in _ontology_triples():
        if isinstance(t.subject, ox.NamedNode):
            about[t.subject.value][t.predicate.value].append(t.object)
    names = _ontology_labels()

    def term(iri: str) -> dict[str, Any]:
        facts = about[iri]

        def links(predicate: str) -> list[dict[str, str]]:
            out = []
            for value in facts.get(predicate, []):
                if isinstance(value, ox.NamedNode):
                    local = value.value.startswith(CKG)
                    out.append(
                        {
                            "text": _name(value.value, names) if local else compact(value.value),
                            "href": "#" + _local(value.value) if local else value.value,
                        }
                    )
            return out

        comment = next((v.value for v in facts.get(RDFS + "comment", []) if isinstance(v, ox.Literal)), "")
        return {
            "id": _local(iri),
            "iri": iri,
            "label": _name(iri, names),
            "curie": compact(iri),
            "comment": comment,
            "relations": [
                (title, found)
                for title, predicate in (
                    ("Subclass of", RDFS + "subClassOf"),
                    ("Subproperty of", RDFS + "subPropertyOf"),
                    ("Domain", RDFS + "domain"),
                    ("Range", RDFS + "range"),
                    ("Inverse of", OWL + "inverseOf"),
                )
                if (found := links(predicate))
            ],
        }

    def typed(*types: str) -> list[dict[str, Any]]:
        wanted = {OWL + t for t in types}
        iris = [
            iri
            for iri, facts in about.items()
            if iri.startswith(CKG)
            and any(isinstance(v, ox.NamedNode) and v.value in wanted for v in facts.get(RDF + "type", []))
        ]
        return sorted((term(iri) for iri in iris), key=lambda t: t["label"].casefold())

    header = about[ONTOLOGY]
    return {
        "iri": ONTOLOGY,
        "title": next((v.value for v in header.get(RDFS + "label", [])), "CareerKG ontology"),
        "comment": next((v.value for v in header.get(RDFS + "comment", [])), ""),
        "version": next((v.value for v in header.get(OWL + "versionInfo", [])), ""),
        "sections": [
            ("Classes", typed("Class")),
            ("Relations between resources", typed("ObjectProperty")),
            ("Values of resources", typed("DatatypeProperty")),
        ],
        "formats": [(f.media_type, url_for("linked_data.ontology", _mediatype=f.media_type)) for f in RDF_OFFERED],
    }
