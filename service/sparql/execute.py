"""What query workers do: evaluate queries and stream their answers, compute updates' deltas, parse untrusted RDF.

Everything that reads text a client sent (a query, an update, an RDF document) is read here, in a worker process
(``service.sparql.pool``): a parser that overflows its stack on deeply nested input kills that worker only. The
answers that come back are plain data (serialised results, N-Quads, JSON), never objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from service import jsonbody, negotiation, rdfio, writes
from service.errors import BadRequest, CareerKGError, InputError, UpdateFailed
from service.namespaces import PREFIXES
from service.sparql import lexer, network
from service.store import Store
from service.validation import validate

Send = Callable[[bytes, bytes], None]
HOLD = 64 * 1024  # bytes of an answer produced before its status is sent: most timeouts are then a clean 503


@dataclass(frozen=True)
class QueryRequest:
    """A SPARQL query with its protocol dataset and the answer format asked for."""

    query: str
    default_graphs: Sequence[str] = ()
    named_graphs: Sequence[str] = ()
    accept: str | None = None
    format: str | None = None
    base_iri: str | None = None

    def to_job(self) -> dict[str, Any]:
        """The job sent to a query worker."""
        return {
            "job": "query",
            "refuse_network": False,
            "query": self.query,
            "default_graphs": list(self.default_graphs),
            "named_graphs": list(self.named_graphs),
            "accept": self.accept,
            "format": self.format,
            "base_iri": self.base_iri,
        }


@dataclass(frozen=True)
class UpdateRequest:
    """A SPARQL update with the protocol's USING graphs."""

    update: str
    using_graphs: Sequence[str] = ()
    using_named_graphs: Sequence[str] = ()
    base_iri: str | None = None
    user: str | None = None

    def text(self) -> str:
        """The update to run, with the protocol's USING graphs placed in it."""
        if self.using_graphs or self.using_named_graphs:
            if lexer.has_dataset_clause(self.update):
                raise BadRequest(
                    "using-graph-uri/using-named-graph-uri cannot be combined with USING, USING NAMED or WITH in "
                    "the update"
                )
            return lexer.with_using(self.update, list(self.using_graphs), list(self.using_named_graphs))
        return self.update


def worker_job(store: Store) -> Callable[[dict[str, Any], Send], None]:
    """The job a worker runs, by the request's ``job``: query, update (its delta), parse, syntax, targets."""

    def job(request: dict[str, Any], send: Send) -> None:
        def problem(status: int, title: str, detail: str, **extra: Any) -> None:
            send(b"X", json.dumps({"status": status, "title": title, "detail": detail, **extra}).encode())

        try:
            kind = request["job"]
            if kind == "query":
                _guard(request, request["query"], update=False)
                _query(store, request, send, problem)
            elif kind == "update":
                text = UpdateRequest(request["update"], request["using"], request["using_named"]).text()
                _guard(request, text, update=True)
                delta = writes.delta_of_update(store, text, request["base_iri"])
                _send_json(send, delta.to_json())
            elif kind == "parse":
                _send_json(send, {"quads": _nquads(_parse(request))})
            elif kind == "validate":  # parse and validate a client's document here, under the timeout
                quads = _parse(request)
                if request["with_current"]:
                    report = writes.validate_change(store, writes.delta_of_quads(store, added=quads))
                else:
                    report = validate(rdfio.to_graph(quads))
                _send_json(send, report.to_wire())
            elif kind == "syntax":
                _syntax(request)
                _send_json(send, {})
            elif kind == "targets":
                found = network.parsed_targets(request["text"], update=request["update"], base_iri=request["base_iri"])
                _send_json(send, {"targets": found})
            else:
                raise CareerKGError(f"unknown job {kind!r}")
        except negotiation.NotAcceptable as exc:
            problem(exc.status, exc.title, exc.message, offered=exc.offered)
        except CareerKGError as exc:
            problem(exc.status, exc.title, exc.message)
        except (OSError, RuntimeError, ValueError) as exc:
            problem(400, "Evaluation error", str(exc))

    return job


def _parse(request: dict[str, Any]) -> list[ox.Quad]:
    fmt = ox.RdfFormat.from_media_type(request["format"])
    assert fmt is not None
    _check_depth(request["data"], fmt, request["source"])
    return rdfio.parse_bytes(request["data"], fmt, source=request["source"], base_iri=request["base_iri"])


def _guard(request: dict[str, Any], text: str, *, update: bool) -> None:
    """What a worker reads before evaluating: how deep the text nests, and (sandboxed, without an allow-list) the
    SERVICE or LOAD it would use, refused with 403 once the text is known to parse."""
    network.check_nesting(text, "update" if update else "query")
    if request.get("refuse_network"):
        used = network.refused_operations(text)
        if used:
            _syntax({"text": text, "update": update, "base_iri": request["base_iri"]})
            raise network.NetworkRefused(network.disabled(used))


def _check_depth(data: bytes, fmt: ox.RdfFormat, source: str) -> None:
    """400 for Turtle/TriG lists and blank nodes, or JSON-LD objects, nested deeper than MAX_NESTING."""
    limit = network.MAX_NESTING
    if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.N3):
        if network.nesting_depth(data.decode("utf-8", errors="replace")) > limit:
            raise InputError(f"lists and blank nodes nest more than {limit} deep", file=source)
    elif fmt == ox.RdfFormat.JSON_LD:
        try:
            too_deep = jsonbody.depth(json.loads(data)) > limit
        except RecursionError:
            too_deep = True
        except ValueError:
            return  # not JSON: the parser says where
        if too_deep:
            raise InputError(f"the JSON-LD nests objects and arrays more than {limit} deep", file=source)


def _send_json(send: Send, document: dict[str, Any]) -> None:
    send(b"H", json.dumps({"media_type": "application/json"}).encode())
    send(b"D", json.dumps(document).encode())
    send(b"E", b"{}")


def _nquads(quads: Sequence[ox.Quad]) -> str:
    return (ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"").decode()


def _syntax(request: dict[str, Any]) -> None:
    """Parse a query or update on an empty store (in a sandbox: a LOAD or SERVICE in it reaches nothing)."""
    empty = ox.Store()
    try:
        if request["update"]:
            empty.update(request["text"], base_iri=request["base_iri"])
        else:
            result = empty.query(request["text"], base_iri=request["base_iri"])
            if isinstance(result, ox.QuerySolutions):
                next(iter(result), None)
    except SyntaxError as exc:
        from service.errors import QuerySyntaxError

        raise QuerySyntaxError(str(exc)) from None
    except (OSError, RuntimeError, ValueError):
        pass  # it parsed: evaluation on nothing may fail, and does not matter here


def _query(store: Store, request: dict[str, Any], send: Send, problem: Callable[..., None]) -> None:
    dataset_given = bool(request["default_graphs"] or request["named_graphs"])
    try:
        result = store.query(
            request["query"],
            default_graph=[ox.NamedNode(g) for g in request["default_graphs"]] if dataset_given else None,
            named_graphs=[ox.NamedNode(g) for g in request["named_graphs"]] if dataset_given else None,
            base_iri=request["base_iri"],
        )
        offered = (
            negotiation.SOLUTIONS
            if isinstance(result, ox.QuerySolutions)
            else negotiation.BOOLEAN
            if isinstance(result, ox.QueryBoolean)
            else negotiation.GRAPH
        )
        fmt = negotiation.choose(request["accept"], offered, request["format"])
    except UpdateFailed as exc:
        problem(exc.status, exc.title, exc.message)
        return
    out: Any = _FrameWriter(send, fmt.content_type)  # a binary file-like object, as pyoxigraph's serialisers take
    try:
        if isinstance(result, ox.QuerySolutions | ox.QueryBoolean):
            assert fmt.results is not None
            result.serialize(out, format=fmt.results)
        else:
            assert fmt.rdf is not None
            prefixes = PREFIXES if fmt.rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
            ox.serialize(result, out, format=fmt.rdf, prefixes=prefixes)
    except (OSError, RuntimeError, ValueError) as exc:
        if not out.started:  # nothing sent yet: a proper error answer
            problem(400, "Query evaluation error", str(exc))
            return
        out.flush()
        problem(500, "Query evaluation error", str(exc))  # after data: the server aborts the answer
        return
    out.flush()
    send(b"E", json.dumps({"bytes": out.sent}).encode())


class _FrameWriter:
    """A binary file-like object that sends what is written as data frames of about 64 KiB.

    The head (the media type, which lets the server send 200) goes only with the first frame: the answer's first
    64 KiB, or all of it when smaller, is produced before the client is told the query succeeded.
    """

    def __init__(self, send: Send, media_type: str) -> None:
        self._send = send
        self._media_type = media_type
        self._buffer = bytearray()
        self.sent = 0
        self.started = False

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= HOLD:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if not self.started:
            self._send(b"H", json.dumps({"media_type": self._media_type}).encode())
            self.started = True
        if self._buffer:
            self._send(b"D", bytes(self._buffer))
            self.sent += len(self._buffer)
            self._buffer.clear()
