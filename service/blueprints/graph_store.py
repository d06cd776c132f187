"""The SPARQL 1.1 Graph Store HTTP Protocol at /graph-store (?graph=IRI, ?default, or direct paths)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from typing import IO

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.wsgi import wrap_file

from service import auth, conditional, negotiation, rdfio
from service.config import Settings
from service.errors import BadRequest, NotFound
from service.graph import forget_version, get_graph
from service.namespaces import PREFIXES
from service.problems import no_body
from service.store import GraphName

bp = Blueprint("graph_store", __name__)

GRAPH_OFFERED = (negotiation.TURTLE, negotiation.NTRIPLES, negotiation.RDFXML, negotiation.JSONLD)
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]
IN_MEMORY = 1024 * 1024  # bytes of a serialised graph held in memory; past that, in a temporary file
PART = 64 * 1024  # bytes of a graph's file sent at a time


@bp.route("/graph-store", methods=METHODS)
def indirect() -> ResponseReturnValue:
    """Graphs named by ?graph=IRI or ?default."""
    has_graph, has_default = "graph" in request.args, "default" in request.args
    if has_graph and has_default:
        raise BadRequest("use either ?graph=IRI or ?default, not both")
    if has_default:
        return _handle(ox.DefaultGraph())
    if has_graph:
        values = request.args.getlist("graph")
        if len(values) != 1:
            raise BadRequest("give exactly one ?graph= parameter")
        return _handle(_graph_iri(values[0]))
    if request.method == "POST":  # POST to the store itself creates a new graph
        new = f"{request.base_url.rstrip('/')}/{uuid.uuid4()}"
        return _handle(ox.NamedNode(new), location=new)
    raise BadRequest("name the graph with ?graph=IRI or ?default")


@bp.route("/graph-store/<path:rest>", methods=METHODS)
def direct(rest: str) -> ResponseReturnValue:
    """Graphs named directly by the request URL."""
    return _handle(_graph_iri(request.base_url))


def _graph_iri(value: str) -> ox.NamedNode:
    if not rdfio.is_absolute_iri(value):
        raise BadRequest(f"graph must be an absolute IRI, got {value!r}")
    return ox.NamedNode(value)


def _handle(graph: GraphName, location: str | None = None) -> ResponseReturnValue:
    served = get_graph()
    if request.method in ("GET", "HEAD"):
        if not served.graph_exists(graph):
            raise NotFound(f"no graph {_name(graph)} in this store")
        fmt = negotiation.choose(request.headers.get("Accept"), GRAPH_OFFERED)
        assert fmt.rdf is not None
        etag = conditional.etag(request.full_path, fmt.content_type)  # known before the graph is written out
        conditional.check_read(etag)
        held = conditional.not_modified(etag)
        if held is not None or conditional.star_none_match():
            return _validated(no_body(304), held or etag)  # the tag as the client holds it (its encoding label too)
        triples = (ox.Triple(q.subject, q.predicate, q.object) for q in served.graph_quads(graph))
        spooled = _serialised(triples, fmt.rdf)
        size = spooled.tell()
        spooled.seek(0)
        if size <= IN_MEMORY:  # sent whole, with its ETag
            response = Response(spooled.read(), content_type=fmt.content_type)
            spooled.close()
        else:
            response = Response(wrap_file(request.environ, spooled, PART), content_type=fmt.content_type)
            response.direct_passthrough = True
            response.content_length = size
        return _validated(response, etag)

    settings: Settings = current_app.config["CAREERKG"]
    user = auth.require_writer(request, settings)
    existed = next(served.graph_quads(graph), None) is not None  # an empty default graph counts as new
    precondition = conditional.write_check(lambda: served.graph_exists(graph))
    if request.method == "DELETE":
        if not existed:
            raise NotFound(f"no graph {_name(graph)} in this store")
        served.drop_graph(graph, user, precondition)
        forget_version()
        return no_body()

    quads = _body_quads(graph)
    if request.method == "PUT":
        report = served.replace_graph(graph, quads, user, precondition)
    else:
        report = served.add(quads, user, precondition=precondition)
    forget_version()
    response = no_body(201 if location is not None or not existed else 204)
    if location is not None:
        response.headers["Location"] = location
    if report.warnings:
        response.headers["CareerKG-Warnings"] = str(len(report.warnings))
    return response


def _validated(response: Response, etag: str) -> Response:
    """A graph's answer (or 304) with its ETag, which names the dataset version: a conditional write checks it."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Vary"] = "Accept"
    return response


def _serialised(triples: Iterator[ox.Triple], rdf: ox.RdfFormat) -> IO[bytes]:
    """A graph in the format asked for, written whole in this thread (the store's iterator may not be read from
    another: the part of an answer after its first is read in another thread, and pyoxigraph panicked, ending the
    server) to a file held in memory up to IN_MEMORY bytes and on disk past that, so that a large graph is never
    held whole in memory. The file is at its end."""
    spooled = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115 - the answer closes it
    ox.serialize(triples, spooled, format=rdf, prefixes=PREFIXES if rdf == ox.RdfFormat.TURTLE else None)
    return spooled


def _body_quads(graph: GraphName) -> list[ox.Quad]:
    """The triples of the request body (or of each part of a multipart body), placed in ``graph``."""
    if request.mimetype == "multipart/form-data":
        quads: list[ox.Quad] = []
        for part in request.files.values():
            fmt = rdfio.format_for_media_type(part.mimetype)
            quads += _parse(part.read(), fmt, part.filename or "part", graph)
        if not request.files:
            raise BadRequest("the multipart body has no file parts")
        return quads
    return _parse(request.get_data(cache=False), rdfio.format_for_media_type(request.mimetype), "request body", graph)


def _parse(data: bytes, fmt: ox.RdfFormat, source: str, graph: GraphName) -> list[ox.Quad]:
    # Relative IRIs in a named graph's body resolve against the graph's own IRI.
    base = graph.value if isinstance(graph, ox.NamedNode) else request.base_url
    return get_graph().parse(data, fmt, source=source, base_iri=base, to_graph=graph)


def _name(graph: GraphName) -> str:
    return f"<{graph.value}>" if isinstance(graph, ox.NamedNode) else "(default)"
