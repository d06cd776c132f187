"""The one interface the rest of CareerKG uses to reach a triple store."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

import pyoxigraph as ox

from service.errors import CareerKGError, StoreError


class StoreUnavailable(StoreError):
    """The remote store did not answer (down, unreachable, overloaded)."""


class StoreConflict(CareerKGError):
    """Another writer changed the graph after this change was validated; nothing was written."""

    status = 409
    title = "Conflict"


# A value bound to a query variable. Values are passed as terms, never pasted into query text.
Binding: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal
GraphName: TypeAlias = ox.NamedNode | ox.BlankNode | ox.DefaultGraph
# SELECT gives solutions, ASK a boolean, CONSTRUCT/DESCRIBE an iterator of triples.
QueryResult: TypeAlias = ox.QuerySolutions | ox.QueryBoolean | Iterator[ox.Triple]


class Store(ABC):
    """A SPARQL 1.1 dataset: queried with bindings, changed by quads or SPARQL Update."""

    location: str
    shared: bool = False  # whether other processes may write it too (a remote store)
    # Whether ``fill`` also adds to a store that holds data, fast and still all or nothing (else a load into it takes
    # the careful path: the change worked out quad by quad, one transaction).
    adds_in_bulk: bool = False

    @abstractmethod
    def query(
        self,
        sparql: str,
        *,
        bindings: Mapping[str, Binding] | None = None,
        default_graph: Sequence[GraphName] | None = None,
        named_graphs: Sequence[ox.NamedNode | ox.BlankNode] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """Evaluate a query; ``bindings`` give variables their values before evaluation."""

    @abstractmethod
    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        """Apply a SPARQL Update, all of it or nothing."""

    @abstractmethod
    def add(self, quads: Iterable[ox.Quad]) -> None:
        """Add quads, all of them or none."""

    @abstractmethod
    def apply(self, added: Iterable[ox.Quad], removed: Iterable[ox.Quad]) -> None:
        """Remove then add quads, in one transaction (removed quads hold no blank nodes)."""

    @abstractmethod
    def replace_graph(self, graph: GraphName, quads: Iterable[ox.Quad]) -> None:
        """Replace the content of one graph with ``quads``, in one transaction."""

    @abstractmethod
    def quads(self, graph: GraphName | None = None) -> Iterator[ox.Quad]:
        """Every quad, or the quads of one graph."""

    @abstractmethod
    def quads_of(
        self,
        subject: ox.NamedNode | ox.BlankNode | None = None,
        obj: ox.NamedNode | ox.BlankNode | None = None,
        predicate: ox.NamedNode | None = None,
    ) -> Iterator[ox.Quad]:
        """The quads matching a subject, predicate and/or object, in any graph."""

    def quads_about(self, subjects: Sequence[ox.NamedNode]) -> Iterator[ox.Quad]:
        """The quads of several subjects, in any graph (one lookup where the store can batch them)."""
        for subject in subjects:
            yield from self.quads_of(subject=subject)

    def contains(self, quad: ox.Quad) -> bool:
        """Whether the store holds this quad."""
        return any(q == quad for q in self.quads_of(subject=quad.subject))  # type: ignore[arg-type]

    def present(self, quads: Iterable[ox.Quad]) -> set[ox.Quad]:
        """Which of these quads the store holds."""
        return {q for q in quads if self.contains(q)}

    @abstractmethod
    def version_token(self) -> str:
        """The dataset version: it changes with every commit, and every process using the store agrees on it."""

    @abstractmethod
    def commit(
        self,
        added: Iterable[ox.Quad],
        removed: Iterable[ox.Quad],
        *,
        expected: str | None,
        entry: Mapping[str, Any],
        replaces: Mapping[GraphName, Sequence[ox.Quad]] | None = None,
    ) -> str:
        """Apply a validated change in one transaction and record ``entry`` in the change log; the new version.

        ``expected`` is the version the change was computed against: a store other processes write refuses the
        commit (StoreConflict) when it has moved on. A graph in ``replaces`` gets that whole new content (how a
        change that removes statements about blank nodes is written: they cannot be named one by one).
        """

    def fill(self, data: ox.Store, *, entry: Mapping[str, Any], expected: str | None) -> str:
        """Add everything ``data`` holds, validated, in one commit; the new version. The store is empty, or
        ``adds_in_bulk`` and ``data`` holds only quads it does not hold.

        ``data`` is the caller's no longer: a store may take it over instead of copying it. ``expected`` is the
        version the store had when it was found empty (StoreConflict if another process filled it since).
        """
        return self.commit(data.quads_for_pattern(None, None, None, None), [], expected=expected, entry=entry)

    @abstractmethod
    def change_entries(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Recorded changes, newest first (each with its ``id`` and ``at``), and how many there are."""

    def ping(self) -> None:  # noqa: B027 - a store in this process is always there
        """Raise StoreUnavailable unless the store answers now."""

    @abstractmethod
    def named_graphs(self) -> list[ox.NamedNode | ox.BlankNode]:
        """The names of the non-empty named graphs."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of quads."""

    def is_empty(self) -> bool:
        """Whether the store holds no quad at all."""
        return next(self.quads(), None) is None

    def wait_for_fill(self) -> None:  # noqa: B027 - a store only this process writes has no one to wait for
        """Wait while another process fills this store (before deciding whether to fill it)."""

    def dump(self, fmt: ox.RdfFormat, graph: GraphName | None = None) -> bytes:
        """Serialise the dataset (or, for triple syntaxes, one graph: the default if not given)."""
        if fmt.supports_datasets:
            return ox.serialize(self.quads(graph), format=fmt) or b""
        graph = graph if graph is not None else ox.DefaultGraph()
        triples = (ox.Triple(q.subject, q.predicate, q.object) for q in self.quads(graph))
        return ox.serialize(triples, format=fmt, prefixes=_prefixes()) or b""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for stores that hold nothing open
        """Release what the store holds open."""


def _prefixes() -> dict[str, str]:
    from service.namespaces import PREFIXES

    return PREFIXES
