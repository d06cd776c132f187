"""The embedded store: pyoxigraph, in memory or on disk (RocksDB)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pyoxigraph as ox

from service.errors import QuerySyntaxError, StoreError, UpdateFailed
from service.store.base import Binding, GraphName, QueryResult, Store


class EmbeddedStore(Store):
    """A pyoxigraph store; ``path=None`` keeps everything in memory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.location = str(path) if path else "memory"
        try:
            self._store = ox.Store(str(path)) if path else ox.Store()
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"the store at {path} is in use by another process "
                    "(is `careerkg serve` running? query it over HTTP, or use --store memory)"
                ) from None
            raise StoreError(f"cannot open the store at {path}: {exc}") from None

    def query(
        self,
        sparql: str,
        *,
        bindings: Mapping[str, Binding] | None = None,
        default_graph: Sequence[GraphName] | None = None,
        named_graphs: Sequence[ox.NamedNode | ox.BlankNode] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        substitutions: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
            ox.Variable(name): value for name, value in (bindings or {}).items()
        }
        try:
            return self._store.query(
                sparql,
                base_iri=base_iri,
                default_graph=list(default_graph) if default_graph is not None else None,
                named_graphs=list(named_graphs) if named_graphs is not None else None,
                substitutions=substitutions or None,
            )
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from None

    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        try:
            self._store.update(sparql, base_iri=base_iri)
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from None
        except RuntimeError as exc:  # evaluation: a graph that does not exist, or already does
            raise UpdateFailed(str(exc)) from None
        self._flush()

    def add(self, quads: Iterable[ox.Quad]) -> None:
        self._store.extend(quads)
        self._flush()

    def apply(self, added: Iterable[ox.Quad], removed: Iterable[ox.Quad]) -> None:
        # One SPARQL update is one transaction; the data is serialised by the library, never pasted text.
        removing = ox.serialize(removed, format=ox.RdfFormat.N_QUADS) or b""
        adding = ox.serialize(added, format=ox.RdfFormat.N_QUADS) or b""
        operations = []
        if removing:
            operations.append("DELETE DATA { " + _quad_data(removing) + " }")
        if adding:
            operations.append("INSERT DATA { " + _quad_data(adding) + " }")
        if operations:
            self._store.update(" ;\n".join(operations))

    def replace_graph(self, graph: GraphName, quads: Iterable[ox.Quad]) -> None:
        # One SPARQL Update is one transaction: clear and insert become visible together.
        quads = list(quads)
        target = "DEFAULT" if isinstance(graph, ox.DefaultGraph) else f"GRAPH {graph}"
        body = ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in quads), format=ox.RdfFormat.N_TRIPLES)
        text = body.decode() if body else ""
        insert = (
            f"INSERT DATA {{ {text} }}"
            if isinstance(graph, ox.DefaultGraph)
            else (f"INSERT DATA {{ GRAPH {graph} {{ {text} }} }}")
        )
        self._store.update(f"CLEAR SILENT {target} ;\n{insert}")
        self._flush()

    def quads(self, graph: GraphName | None = None) -> Iterator[ox.Quad]:
        return iter(self._store.quads_for_pattern(None, None, None, graph))

    def quads_of(
        self,
        subject: ox.NamedNode | ox.BlankNode | None = None,
        obj: ox.NamedNode | ox.BlankNode | None = None,
        predicate: ox.NamedNode | None = None,
    ) -> Iterator[ox.Quad]:
        return iter(self._store.quads_for_pattern(subject, predicate, obj, None))

    def contains(self, quad: ox.Quad) -> bool:
        return (
            next(iter(self._store.quads_for_pattern(quad.subject, quad.predicate, quad.object, quad.graph_name)), None)
            is not None
        )

    def named_graphs(self) -> list[ox.NamedNode | ox.BlankNode]:
        return [g for g in self._store.named_graphs() if next(self.quads(g), None) is not None]

    def __len__(self) -> int:
        return len(self._store)

    def _flush(self) -> None:
        """Nothing per write: RocksDB's write-ahead log already survives a killed process (tested)."""

    def close(self) -> None:
        if self.path is not None:
            self._store.flush()
        del self._store


def _quad_data(nquads: bytes) -> str:
    """N-Quads as SPARQL QuadData: a named-graph quad becomes GRAPH <g> { s p o }."""
    parts = []
    for quad in ox.parse(nquads, format=ox.RdfFormat.N_QUADS):
        triple = ox.serialize([ox.Triple(quad.subject, quad.predicate, quad.object)], format=ox.RdfFormat.N_TRIPLES)
        text = (triple or b"").decode().strip()
        if isinstance(quad.graph_name, ox.DefaultGraph):
            parts.append(text)
        else:
            parts.append(f"GRAPH {quad.graph_name} {{ {text} }}")
    return "\n".join(parts)
