"""Reading RDF files into quads (with file and line on every error) and moving terms to rdflib."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pyoxigraph as ox
import rdflib

from service.errors import InputError, UnsupportedMediaType
from service.namespaces import DCTERMS, RDF, SOURCE_GRAPHS, STATEMENTS

# File suffix -> syntax. TriG and N-Quads keep their named graphs.
SUFFIX_FORMATS: dict[str, ox.RdfFormat] = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
    ".jsonld": ox.RdfFormat.JSON_LD,
}

# Names users give on the command line -> syntax.
NAMED_FORMATS: dict[str, ox.RdfFormat] = {
    "ttl": ox.RdfFormat.TURTLE,
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "xml": ox.RdfFormat.RDF_XML,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
}

# Media type -> syntax, for request bodies (Graph Store, /validate).
MEDIA_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-quads": ox.RdfFormat.N_QUADS,
}


def is_absolute_iri(text: str) -> bool:
    """Whether the text is an absolute IRI (pyoxigraph parses it, and it has a scheme)."""
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return ":" in text


def format_for_media_type(media_type: str) -> ox.RdfFormat:
    """The RDF syntax of a request body, from its Content-Type; 415 naming the accepted types otherwise."""
    accepted = ", ".join(sorted(MEDIA_FORMATS))
    if not media_type:
        raise UnsupportedMediaType(f"the body needs a Content-Type: {accepted}")
    fmt = MEDIA_FORMATS.get(media_type)
    if fmt is None:
        raise UnsupportedMediaType(f"Content-Type {media_type!r} is not an RDF syntax this server reads: {accepted}")
    return fmt


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_POSITION = re.compile(r"line (\d+) column (\d+)")


@dataclass(frozen=True)
class ParsedFile:
    """The quads read from one file."""

    path: Path
    quads: list[ox.Quad]


def expand(paths: Iterable[Path | str]) -> list[Path]:
    """Files named directly, plus the RDF files inside named folders (sorted). A missing path raises, and so does a
    file of no RDF syntax known by its suffix, or one that is not a regular file: a pipe would be read without end,
    a device such as /dev/zero until memory ran out."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIX_FORMATS)
            if not found:
                raise InputError("folder holds no RDF files (.ttl .nt .nq .trig .rdf .jsonld)", file=path)
            files.extend(found)
        elif path.exists():
            format_for(path)
            files.append(path)
        else:
            raise InputError("no such file or folder", file=path)
    for file in files:
        if not file.is_file():
            raise InputError("not a regular file (a pipe, device or socket): give RDF data in a file", file=file)
    return files


def format_for(path: Path) -> ox.RdfFormat:
    """The RDF syntax of a file, from its suffix."""
    try:
        return SUFFIX_FORMATS[path.suffix.lower()]
    except KeyError:
        known = " ".join(SUFFIX_FORMATS)
        raise InputError(f"unknown RDF file type {path.suffix!r} (known: {known})", file=path) from None


def parse_file(path: Path) -> ParsedFile:
    """Parse one file into quads; a syntax error becomes an InputError naming file, line and column."""
    fmt = format_for(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), file=path) from None
    return ParsedFile(path, parse_bytes(data, fmt, source=path, base_iri=path.resolve().as_uri()))


def parse_bytes(
    data: bytes | str,
    fmt: ox.RdfFormat,
    *,
    source: Path | str = "input",
    base_iri: str | None = None,
    to_graph: ox.NamedNode | None = None,
) -> list[ox.Quad]:
    """Parse a document into quads (into ``to_graph`` if given, for triple syntaxes)."""
    try:
        quads = list(ox.parse(data, format=fmt, base_iri=base_iri, rename_blank_nodes=True))
    except SyntaxError as exc:
        raise _input_error(exc, source) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(str(exc), file=source) from None
    odd = rdf12_term(quads)
    if odd is not None:
        raise InputError(f"{RDF12}: {odd.object}", file=source)
    quads = asserting_sources(quads)
    if to_graph is not None:
        quads = [
            ox.Quad(q.subject, q.predicate, q.object, to_graph) if isinstance(q.graph_name, ox.DefaultGraph) else q
            for q in quads
        ]
    return quads


def is_source_graph(graph: ox.NamedNode | ox.BlankNode | ox.DefaultGraph) -> bool:
    """Whether a graph of a file is a source document's: it holds the statements that document makes
    (docs/provenance.md)."""
    return isinstance(graph, ox.NamedNode) and graph.value.startswith(SOURCE_GRAPHS)


STATEMENT = ox.NamedNode(RDF + "Statement")
_TYPE, _SUBJECT, _PREDICATE, _OBJECT = (ox.NamedNode(RDF + n) for n in ("type", "subject", "predicate", "object"))
_SOURCE = ox.NamedNode(DCTERMS + "source")


def statement_iri(subject: Any, predicate: Any, obj: Any) -> ox.NamedNode:
    """The IRI of the record of a statement: the same for the same triple, whoever states it (a hash of its
    N-Triples line: pyoxigraph prints a term as N-Triples writes it)."""
    if isinstance(obj, ox.Triple):  # (an RDF 1.2 triple term prints without its <<( )>>)
        triple = ox.serialize([ox.Triple(subject, predicate, obj)], format=ox.RdfFormat.N_TRIPLES) or b""
    else:
        triple = f"{subject} {predicate} {obj} .\n".encode()
    return ox.NamedNode(f"{STATEMENTS}{hashlib.sha1(triple, usedforsecurity=False).hexdigest()[:20]}")


def stated(quad: ox.Quad, graph: ox.NamedNode | ox.DefaultGraph) -> list[ox.Quad]:
    """What a statement of a source graph becomes in ``graph``: the statement, and its record (standard RDF
    reification: an rdf:Statement with its subject, predicate and object) citing the source. A statement about a
    blank node is asserted without a record (a blank node has no name to record it by), and so is a citation (a
    resource's dcterms:source, which sums up the records: a record of it would only repeat it)."""
    s, p, o, source = quad.subject, quad.predicate, quad.object, quad.graph_name
    # None for the default graph: pyoxigraph tells a DefaultGraph (and a Literal) from the other kinds of term by
    # trying them in turn, which made these quads cost most of a second of the curated data's start-up
    into = graph if isinstance(graph, ox.NamedNode) else None
    out = [ox.Quad(s, p, o, into)]
    if (
        isinstance(source, ox.NamedNode)
        and not isinstance(s, ox.BlankNode)
        and not isinstance(o, ox.BlankNode)
        and p != _SOURCE
    ):
        record = statement_iri(s, p, o)
        out += [
            ox.Quad(record, _TYPE, STATEMENT, into),
            ox.Quad(record, _SUBJECT, s, into),
            ox.Quad(record, _PREDICATE, p, into),
            ox.Quad(record, _OBJECT, o, into),
            ox.Quad(record, _SOURCE, source, into),
        ]
    return out


def asserting_sources(quads: list[ox.Quad]) -> list[ox.Quad]:
    """The quads with each source graph's statements moved into the default graph, with their records: the graph
    CareerKG serves states what its sources state, and the records say who states what."""
    if not any(is_source_graph(q.graph_name) for q in quads):
        return quads
    out: list[ox.Quad] = []
    for q in quads:
        out += stated(q, ox.DefaultGraph()) if is_source_graph(q.graph_name) else [q]
    return list(dict.fromkeys(out))


COPY_SHARE = 4  # assert_sources_in makes a new store when the source graphs hold a quarter of the quads or more


def assert_sources_in(store: ox.Store, target: ox.NamedNode | ox.DefaultGraph) -> ox.Store:
    """The same for a store (the fast fill reads files straight into one): a store in which every source graph's
    statements are in ``target``, the graph the load's default graph goes to, with their records.

    When they are a large part of the store, a new store: moved inside ``store`` they would stay in its indexes
    (pyoxigraph's in-memory store keeps removed quads as versions), and every query over a store that takes it over
    would read past them (the curated data's aggregate took 2.0 ms there, 1.3 ms in a fresh store). When they are a
    small part (the curated data beside a million generated triples), in place: a copy would cost seconds and the
    store's size again in memory, for a few removed versions among many quads."""
    sources = sorted((g for g in store.named_graphs() if isinstance(g, ox.NamedNode) and is_source_graph(g)), key=str)
    if not sources:
        return store
    moving = [q for g in sources for q in store.quads_for_pattern(None, None, None, g)]
    if len(moving) * COPY_SHARE < len(store):
        store.extend([out for q in moving for out in stated(q, target)])
        for graph in sources:
            store.remove_graph(graph)
        return store
    moved = ox.Store()
    moved.bulk_extend(  # in one call: one a graph took a fifth longer
        itertools.chain(
            (q for q in store if not is_source_graph(q.graph_name)), (out for q in moving for out in stated(q, target))
        )
    )
    return moved


def _input_error(exc: SyntaxError, source: Path | str) -> InputError:
    message = exc.msg if isinstance(exc.msg, str) else str(exc)
    line, column = exc.lineno, exc.offset
    if line is None:
        match = _POSITION.search(message)
        if match:
            line, column = int(match.group(1)), int(match.group(2))
    # Drop the parser's own "between line … column …" prefix: we say where ourselves.
    message = re.sub(r"^Parser error (between|at) line \d+ column \d+( and line \d+ column \d+)?: ", "", message)
    return InputError(message, file=source, line=line, column=column)


def read_files(paths: Sequence[Path | str]) -> list[ParsedFile]:
    """Parse every file under ``paths``; the first unreadable one raises."""
    return [parse_file(path) for path in expand(paths)]


# --- Terms: pyoxigraph <-> rdflib -------------------------------------------------

OxTerm: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | ox.DefaultGraph


RDF12 = (
    "RDF 1.2 triple terms and directional language strings are not supported here "
    "(the shapes and both SHACL engines read RDF 1.1)"
)


def _is_rdf12(term: OxTerm) -> bool:
    """Whether a term is an RDF 1.2 triple term or a language string with a base direction."""
    return isinstance(term, ox.Triple) or (isinstance(term, ox.Literal) and term.direction is not None)


def rdf12_term(quads: Iterable[ox.Quad]) -> ox.Quad | None:
    """The first quad whose object is an RDF 1.2 term, if any."""
    return next((quad for quad in quads if _is_rdf12(quad.object)), None)


def to_rdflib(term: OxTerm) -> rdflib.term.Node:
    """The rdflib term for a pyoxigraph term (RDF 1.1: rdflib has no triple terms nor base directions)."""
    if _is_rdf12(term):
        raise InputError(f"{RDF12}: {term}")
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:  # RDF 1.1: a simple literal is an xsd:string
            return rdflib.Literal(term.value)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    raise TypeError(f"no rdflib counterpart for {term!r}")


def to_oxigraph(term: rdflib.term.Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The pyoxigraph term for an rdflib term."""
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"no pyoxigraph counterpart for {term!r}")


def to_graph(quads: Iterable[ox.Quad], graph: rdflib.Graph | None = None) -> rdflib.Graph:
    """An rdflib graph of the quads' triples (graph names dropped: validation sees their union). Each term is
    converted once (the same IRIs recur throughout a dataset) and the triples added in one call: a fifth faster
    on the shipped data, where validating data that breaks the shapes spends most of its time here."""
    graph = graph if graph is not None else rdflib.Graph()
    converted: dict[OxTerm, rdflib.term.Node] = {}

    def term(value: OxTerm) -> rdflib.term.Node:
        found = converted.get(value)
        if found is None:
            found = converted[value] = to_rdflib(value)
        return found

    graph.addN((term(q.subject), term(q.predicate), term(q.object), graph) for q in quads)
    return graph


def iter_triples(quads: Iterable[ox.Quad]) -> Iterator[ox.Triple]:
    """The triples of quads, graph names dropped."""
    for quad in quads:
        yield ox.Triple(quad.subject, quad.predicate, quad.object)
