"""The app's graph: the store, its query workers and its write lock, reached by views through ``get_graph``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Flask, current_app

from service import rdfio
from service.config import Settings
from service.errors import ValidationFailed
from service.loading import ensure_filled
from service.sparql.execute import NetworkPolicy, QueryRequest, UpdateRequest, prepare_update, query_job
from service.sparql.pool import Answer, QueryPool
from service.store import EmbeddedStore, GraphName, Store, open_store
from service.validation import Report, validate

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
        self.pool = QueryPool(query_job(self.store), size=self.settings.query_workers, fork_lock=self.write_lock)

    def query(self, request: QueryRequest) -> Answer:
        """Evaluate a query in a worker; stopped (503) at the query timeout."""
        self.network.check(request.query)
        assert self.pool is not None
        return self.pool.run(request.to_job(), self.settings.query_timeout)

    def update(self, request: UpdateRequest) -> Report:
        """Apply a SPARQL update in one transaction, if the graph it produces conforms."""
        text = prepare_update(request, self.network)
        return self._commit(lambda store: store.update(text, base_iri=request.base_iri))

    def replace_graph(self, graph: GraphName, quads: Iterable[ox.Quad]) -> Report:
        """Replace one graph's content (Graph Store PUT), if the result conforms."""
        quads = list(quads)
        return self._commit(lambda store: store.replace_graph(graph, quads))

    def add(self, quads: Iterable[ox.Quad]) -> Report:
        """Add quads (Graph Store POST), if the result conforms."""
        quads = list(quads)
        return self._commit(lambda store: store.add(quads))

    def drop_graph(self, graph: GraphName) -> Report:
        """Remove one graph's content (Graph Store DELETE), if the result conforms."""
        return self._commit(lambda store: store.replace_graph(graph, []))

    def graph_exists(self, graph: GraphName) -> bool:
        """Whether a graph holds any triple (the default graph always exists)."""
        return isinstance(graph, ox.DefaultGraph) or next(self.store.quads(graph), None) is not None

    def _commit(self, change: Callable[[Store], None]) -> Report:
        """Apply a change to a scratch copy, validate the graph it gives, then apply it for real.

        Writers are serialised; readers keep seeing the graph before the change until it commits.
        """
        with self.write_lock:
            scratch = EmbeddedStore()
            scratch.add(self.store.quads())
            change(scratch)
            report = validate(rdfio.to_graph(scratch.quads()))
            if not report.conforms:
                raise ValidationFailed(report.summary(), report)
            change(self.store)
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
