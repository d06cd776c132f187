"""The app's graph: the store, its query workers and its write lock, reached by views through ``get_graph``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import Flask, current_app

from service.config import Settings
from service.loading import ensure_filled
from service.sparql.execute import NetworkPolicy, QueryRequest, UpdateRequest, prepare_update, query_job
from service.sparql.pool import Answer, QueryPool
from service.store import Store, open_store

_EXTENSION = "careerkg.graph"


@dataclass
class Graph:
    """The store as the service uses it: guarded queries in killable workers, serialised writes."""

    store: Store
    settings: Settings
    write_lock: threading.RLock = field(default_factory=threading.RLock)
    version: int = 1
    pool: QueryPool | None = None

    def __post_init__(self) -> None:
        self.network = NetworkPolicy(self.settings.network_allow)
        self.pool = QueryPool(query_job(self.store), size=self.settings.query_workers, fork_lock=self.write_lock)

    def query(self, request: QueryRequest) -> Answer:
        """Evaluate a query in a worker; stopped (503) at the query timeout."""
        self.network.check(request.query)
        assert self.pool is not None
        return self.pool.run(request.to_job(), self.settings.query_timeout)

    def update(self, request: UpdateRequest) -> None:
        """Apply a SPARQL update in one transaction."""
        text = prepare_update(request, self.network)
        with self.write_lock:
            self.store.update(text, base_iri=request.base_iri)
            self.changed()

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
