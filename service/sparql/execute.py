"""Running SPARQL: guards (SSRF, dataset conflicts), the worker job that evaluates and serialises."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from service import negotiation
from service.errors import BadRequest, CareerKGError, Forbidden
from service.namespaces import PREFIXES
from service.sparql import lexer
from service.store import Store


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
        """The picklable form sent to a query worker."""
        return {
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


@dataclass
class NetworkPolicy:
    """Which SERVICE/LOAD targets may be reached (IRI prefixes); none by default."""

    allowed: Sequence[str] = field(default_factory=tuple)

    def check(self, text: str) -> None:
        """Refuse SERVICE and LOAD unless every target is allowed."""
        used = lexer.network_operations(text)
        if not used:
            return
        operations = " and ".join(sorted(used))
        if not self.allowed:
            raise Forbidden(
                f"{operations} would reach the network and is disabled on this server "
                "(an operator can allow targets with CAREERKG_NETWORK_ALLOW)"
            )
        for target in lexer.service_targets(text):
            if not any(target.startswith(prefix) for prefix in self.allowed):
                raise Forbidden(f"{operations} target {target!r} is not in the allow-list of this server")


def prepare_update(request: UpdateRequest, policy: NetworkPolicy) -> str:
    """The update text to run: guarded, with the protocol's USING graphs placed in it."""
    policy.check(request.update)
    if request.using_graphs or request.using_named_graphs:
        if lexer.has_dataset_clause(request.update):
            raise BadRequest(
                "using-graph-uri/using-named-graph-uri cannot be combined with USING, USING NAMED or WITH in the update"
            )
        return lexer.with_using(request.update, list(request.using_graphs), list(request.using_named_graphs))
    return request.update


def query_job(store: Store) -> Callable[[dict[str, Any], Callable[[bytes, bytes], None]], None]:
    """The job a query worker runs: evaluate, choose the format, stream the serialisation."""

    def job(request: dict[str, Any], send: Callable[[bytes, bytes], None]) -> None:
        def problem(status: int, title: str, detail: str, **extra: Any) -> None:
            send(b"X", json.dumps({"status": status, "title": title, "detail": detail, **extra}).encode())

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
        except negotiation.NotAcceptable as exc:
            problem(exc.status, exc.title, exc.message, offered=exc.offered)
            return
        except CareerKGError as exc:
            problem(exc.status, exc.title, exc.message)
            return
        except (OSError, RuntimeError, ValueError) as exc:
            problem(400, "Query evaluation error", str(exc))
            return
        send(b"H", json.dumps({"media_type": fmt.content_type}).encode())
        out: Any = _FrameWriter(send)  # a binary file-like object, as pyoxigraph's serialisers take
        try:
            if isinstance(result, ox.QuerySolutions | ox.QueryBoolean):
                assert fmt.results is not None
                result.serialize(out, format=fmt.results)
            else:
                assert fmt.rdf is not None
                prefixes = PREFIXES if fmt.rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
                ox.serialize(result, out, format=fmt.rdf, prefixes=prefixes)
        except (OSError, RuntimeError, ValueError) as exc:
            out.flush()
            problem(500, "Query evaluation error", str(exc))
            return
        out.flush()
        send(b"E", json.dumps({"bytes": out.sent}).encode())

    return job


class _FrameWriter:
    """A binary file-like object that sends what is written as data frames of about 64 KiB."""

    def __init__(self, send: Callable[[bytes, bytes], None]) -> None:
        self._send = send
        self._buffer = bytearray()
        self.sent = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= 64 * 1024:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._buffer:
            self._send(b"D", bytes(self._buffer))
            self.sent += len(self._buffer)
            self._buffer.clear()
