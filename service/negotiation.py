"""Content negotiation: one table of media types, one Accept parser (werkzeug's, q-values honoured)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import pyoxigraph as ox
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from service.errors import CareerKGError


@dataclass(frozen=True)
class Format:
    """A media type we serve and the serialiser behind it."""

    media_type: str
    name: str
    results: ox.QueryResultsFormat | None = None
    rdf: ox.RdfFormat | None = None
    charset: bool = True

    @property
    def content_type(self) -> str:
        """The Content-Type header value."""
        return f"{self.media_type}; charset=utf-8" if self.charset else self.media_type


def _f(media_type: str, name: str, **kw: object) -> Format:
    return Format(media_type, name, **kw)  # type: ignore[arg-type]


SPARQL_JSON = _f("application/sparql-results+json", "json", results=ox.QueryResultsFormat.JSON)
SPARQL_XML = _f("application/sparql-results+xml", "xml", results=ox.QueryResultsFormat.XML)
CSV = _f("text/csv", "csv", results=ox.QueryResultsFormat.CSV)
TSV = _f("text/tab-separated-values", "tsv", results=ox.QueryResultsFormat.TSV)
TURTLE = _f("text/turtle", "ttl", rdf=ox.RdfFormat.TURTLE)
NTRIPLES = _f("application/n-triples", "nt", rdf=ox.RdfFormat.N_TRIPLES)
RDFXML = _f("application/rdf+xml", "rdfxml", rdf=ox.RdfFormat.RDF_XML)
JSONLD = _f("application/ld+json", "jsonld", rdf=ox.RdfFormat.JSON_LD)
TRIG = _f("application/trig", "trig", rdf=ox.RdfFormat.TRIG)
NQUADS = _f("application/n-quads", "nq", rdf=ox.RdfFormat.N_QUADS)

# What each kind of answer can be served as, the default first. Aliases map common
# requests (application/json, application/xml, text/plain) onto a real format.
SOLUTIONS = (SPARQL_JSON, SPARQL_XML, CSV, TSV)
BOOLEAN = (SPARQL_JSON, SPARQL_XML, CSV, TSV)
GRAPH = (TURTLE, NTRIPLES, RDFXML, JSONLD, TRIG, NQUADS)
DATASET = (TRIG, NQUADS, JSONLD)
ALIASES: dict[str, Format] = {
    "application/json": SPARQL_JSON,
    "application/xml": SPARQL_XML,
    "text/xml": SPARQL_XML,
    "text/plain": NTRIPLES,
    "application/x-turtle": TURTLE,
    "application/xhtml+xml": RDFXML,
}
# ``format=``/``output=`` names (as SPARQLWrapper, Fuseki and Virtuoso clients send them), per kind of answer.
RESULT_NAMES: dict[str, Format] = {"json": SPARQL_JSON, "xml": SPARQL_XML, "csv": CSV, "tsv": TSV}
GRAPH_NAMES: dict[str, Format] = {
    "turtle": TURTLE,
    "ttl": TURTLE,
    "n3": TURTLE,
    "nt": NTRIPLES,
    "ntriples": NTRIPLES,
    "n-triples": NTRIPLES,
    "xml": RDFXML,
    "rdfxml": RDFXML,
    "rdf+xml": RDFXML,
    "json-ld": JSONLD,
    "jsonld": JSONLD,
    "json": JSONLD,
    "trig": TRIG,
    "nq": NQUADS,
    "nquads": NQUADS,
}
BY_MEDIA_TYPE: dict[str, Format] = {f.media_type: f for f in (*SOLUTIONS, *GRAPH)}


class NotAcceptable(CareerKGError):
    """Nothing we can produce matches the Accept header."""

    status = 406
    title = "Not Acceptable"

    def __init__(self, accept: str, offered: tuple[Format, ...]) -> None:
        self.offered = [f.media_type for f in offered]
        super().__init__(
            f"cannot answer with any type of Accept: {accept!r}; this answer is offered as: " + ", ".join(self.offered)
        )


CACHED_ACCEPT = 512  # characters: longer Accept headers are parsed every time, never remembered
T = TypeVar("T")


class PerAccept(Generic[T]):
    """A function of an Accept header (its first argument) and hashable values, remembered for headers of ordinary
    length: clients send the same few over and over, and a client sending long, ever-different ones gets no cache
    space (1,024 entries of at most CACHED_ACCEPT characters and a small answer each: about 1 MiB)."""

    def __init__(self, function: Callable[..., T]) -> None:
        self._function = function
        self._cached = functools.lru_cache(maxsize=1024)(function)
        self.cache_info = self._cached.cache_info

    def __call__(self, accept: str, *args: Hashable) -> T:
        if len(accept) > CACHED_ACCEPT:
            return self._function(accept, *args)
        return self._cached(accept, *args)


def choose(
    accept: str | None,
    offered: tuple[Format, ...],
    fmt: str | None = None,
    aliases: Mapping[str, Format] | None = None,
) -> Format:
    """The best offered format for an Accept header; a ``format=`` name that fits the answer wins. ``aliases``
    maps further requested types onto offered formats for this answer (JSON asked of an IRI is JSON-LD)."""
    if fmt:
        key = fmt.strip().lower()
        names = RESULT_NAMES if offered[0] in SOLUTIONS else GRAPH_NAMES
        chosen = names.get(key) or BY_MEDIA_TYPE.get(key) or ALIASES.get(key)
        if chosen in offered:
            return chosen
    if not accept or not accept.strip():
        return offered[0]
    best = _best(accept, offered, tuple((aliases or {}).items()))
    if best is None:
        raise NotAcceptable(accept, offered)
    return best


@PerAccept
def _best(accept: str, offered: tuple[Format, ...], aliases: tuple[tuple[str, Format], ...]) -> Format | None:
    """The best match, or None."""
    parsed = parse_accept_header(_without_parameters(accept), MIMEAccept)
    candidates: dict[str, Format] = {f.media_type: f for f in offered}
    candidates.update({alias: f for alias, f in {**ALIASES, **dict(aliases)}.items() if f in offered})
    # Prefer our default order among equally-good matches: werkzeug keeps offer order on ties.
    best = parsed.best_match(list(candidates))
    return None if best is None else candidates[best]


def _without_parameters(accept: str) -> str:
    """The Accept header with media-type parameters other than q dropped (``text/turtle; charset=utf-8``
    asks for Turtle; werkzeug would otherwise match the parameters too)."""
    items = []
    for item in accept.split(","):
        media_type, *params = (p.strip() for p in item.split(";"))
        q = [p for p in params if p.replace(" ", "").lower().startswith("q=")]
        items.append(";".join([media_type, *q]))
    return ",".join(items)
