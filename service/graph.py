"""The app's graph: the store, its query workers and its write lock, reached by views through ``get_graph``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Flask, current_app

from service import writes
from service.config import Settings
from service.loading import ensure_filled
from service.sparql.execute import NetworkPolicy, QueryRequest, UpdateRequest, prepare_update, query_job
from service.sparql.pool import Answer, QueryPool
from service.store import GraphName, Store, open_store
from service.validation import Report

_EXTENSION = "careerkg.graph"


@dataclass
class Graph:
    """The store as the service uses it: guarded queries in killable workers, serialised writes."""

    store: Store
    settings: Settings
    write_lock: threading.RLock = field(default_factory=threading.RLock)
    version: int = 1
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    pool: QueryPool | None = None

    def __post_init__(self) -> None:
        self.network = NetworkPolicy(self.settings.network_allow)
        location = self.settings.store
        self.changelog = writes.ChangeLog(writes.changelog_path(location))
        self.version = len(self.changelog) + 1
        self.pool = QueryPool(query_job(self.store), size=self.settings.query_workers, fork_lock=self.write_lock)

    def query(self, request: QueryRequest) -> Answer:
        """Evaluate a query in a worker; stopped (503) at the query timeout."""
        self.network.check(request.query)
        assert self.pool is not None
        return self.pool.run(request.to_job(), self.settings.query_timeout)

    def update(self, request: UpdateRequest) -> Report:
        """Apply a SPARQL update in one transaction, if the graph it produces conforms."""
        text = prepare_update(request, self.network)
        with self.write_lock:
            delta = writes.delta_of_update(self.store, text, request.base_iri)
            return self._commit(
                delta, lambda store: store.update(text, base_iri=request.base_iri), "sparql-update", request.user
            )

    def replace_graph(self, graph: GraphName, quads: Iterable[ox.Quad], user: str | None) -> Report:
        """Replace one graph's content (Graph Store PUT), if the result conforms."""
        quads = list(quads)
        with self.write_lock:
            delta = writes.delta_of_replace(self.store, graph, quads)
            return self._commit(delta, lambda store: store.replace_graph(graph, quads), "graph-store PUT", user)

    def add(self, quads: Iterable[ox.Quad], user: str | None, operation: str = "graph-store POST") -> Report:
        """Add quads, if the result conforms."""
        quads = list(quads)
        with self.write_lock:
            delta = writes.delta_of_quads(self.store, added=quads)
            return self._commit(delta, lambda store: store.add(quads), operation, user)

    def drop_graph(self, graph: GraphName, user: str | None) -> Report:
        """Remove one graph's content (Graph Store DELETE), if the result conforms."""
        with self.write_lock:
            delta = writes.delta_of_replace(self.store, graph, [])
            return self._commit(delta, lambda store: store.replace_graph(graph, []), "graph-store DELETE", user)

    def change(self, delta: writes.Delta, user: str | None, operation: str) -> Report:
        """Apply a computed delta (REST writes), if the result conforms."""
        with self.write_lock:
            return self._commit(delta, writes.apply_delta(delta), operation, user)

    def graph_exists(self, graph: GraphName) -> bool:
        """Whether a graph holds any triple (the default graph always exists)."""
        return isinstance(graph, ox.DefaultGraph) or next(self.store.quads(graph), None) is not None

    def _commit(self, delta: writes.Delta, apply: Callable[[Store], None], operation: str, user: str | None) -> Report:
        report = writes.commit(self.store, self.changelog, delta, apply, operation=operation, user=user)
        if delta.added or delta.removed:
            self.changed()
        return report

    def changed(self) -> None:
        """Record a commit: a new dataset version, and workers that show the new data."""
        with self.write_lock:
            self.version += 1
            if self.pool is not None:
                self.pool.invalidate()

    def close(self) -> None:
        """Stop workers and release the store."""
        if self.pool is not None:
            self.pool.close()
        self.store.close()


def init_app(app: Flask, settings: Settings) -> None:
    """Open the configured store, fill it if empty, and keep it on the app."""
    store = open_store(settings.store if settings.store else "memory")
    ensure_filled(store, settings.data)
    app.extensions[_EXTENSION] = Graph(store, settings)


def get_graph() -> Graph:
    """The graph of the current app."""
    graph: Graph = current_app.extensions[_EXTENSION]
    return graph


def get_store() -> Store:
    """The store of the current app."""
    return get_graph().store
