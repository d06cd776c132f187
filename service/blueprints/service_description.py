"""The SPARQL service description (sd:), and the query editor for browsers, at GET /sparql."""

from __future__ import annotations

import json

import pyoxigraph as ox
from flask import Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from service import negotiation, queries
from service.blueprints.linked_data import ontology_terms
from service.config import Settings
from service.namespaces import ID, PREFIXES

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
OFFERED = (negotiation.TURTLE, negotiation.JSONLD, negotiation.RDFXML, negotiation.NTRIPLES)
RESULT_FORMATS = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "RDF_XML",
    "JSON-LD",
    "TriG",
    "N-Quads",
)


def wants_the_editor(offered: tuple[str, ...]) -> bool:
    """Whether the client is a browser navigating here: it ranks HTML above every type of answer offered (a
    client that takes anything gets the answer)."""
    return _html_first(request.headers.get("Accept", ""), offered)


@negotiation.PerAccept
def _html_first(accept: str, offered: tuple[str, ...]) -> bool:
    parsed = parse_accept_header(accept, MIMEAccept)
    return parsed.quality("text/html") > max((parsed.quality(t) for t in offered), default=0)


def respond() -> ResponseReturnValue:
    """HTML editor for browsers, otherwise the service description in the negotiated RDF syntax."""
    accept = request.headers.get("Accept", "")
    parsed = parse_accept_header(accept, MIMEAccept)
    if accept and parsed.best_match(["text/html", *[f.media_type for f in OFFERED]]) == "text/html":
        return editor_page()
    fmt = negotiation.choose(accept, OFFERED)
    assert fmt.rdf is not None
    settings: Settings = current_app.config["CAREERKG"]
    body = ox.serialize(description(request.base_url, settings), format=fmt.rdf, prefixes={"sd": SD, **PREFIXES})
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    return response


def editor_page() -> ResponseReturnValue:
    """The query editor (YASGUI), with the example queries over the careers graph, CareerKG's prefixes and the
    ontology's terms for completion; a shared link's ``?query=`` is opened and run by the page itself."""
    listed = queries.examples()
    classes, properties = ontology_terms()
    data = {
        "endpoint": request.base_url,
        "local_ids": ID,
        "examples": [{"title": e.title, "text": e.text} for e in listed],
        "prefixes": PREFIXES,
        "classes": classes,
        "properties": properties,
    }
    return render_template(
        "sparql.html",
        endpoint=request.base_url,
        examples=listed,
        editor_data=json.dumps(data).replace("</", "<\\/"),
    )


def description(endpoint: str, settings: Settings) -> list[ox.Triple]:
    """The sd:Service triples of this endpoint."""
    service = ox.NamedNode(endpoint)
    dataset = ox.BlankNode("dataset")
    default_graph = ox.BlankNode("defaultGraph")

    def sd(local: str) -> ox.NamedNode:
        return ox.NamedNode(SD + local)

    triples = [
        ox.Triple(service, RDF_TYPE, sd("Service")),
        ox.Triple(service, sd("endpoint"), service),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Update")),
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, sd("Graph")),
    ]
    triples += [ox.Triple(service, sd("resultFormat"), ox.NamedNode(FORMATS + f)) for f in RESULT_FORMATS]
    triples += [
        ox.Triple(service, sd("inputFormat"), ox.NamedNode(FORMATS + f))
        for f in ("Turtle", "N-Triples", "RDF_XML", "JSON-LD", "TriG", "N-Quads")
    ]
    if settings.network_allow:
        triples.append(ox.Triple(service, sd("feature"), sd("BasicFederatedQuery")))
    return triples
