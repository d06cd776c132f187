"""The app's graph: the store, its query workers and its write lock, reached by views through ``get_graph``."""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Flask, current_app, g, has_request_context

from service import writes
from service.config import Settings
from service.loading import ensure_filled
from service.sparql.execute import NetworkPolicy, QueryRequest, UpdateRequest, prepare_update, query_job
from service.sparql.pool import Answer, QueryPool
from service.store import GraphName, RemoteStore, Store, StoreConflict, StoreUnavailable
from service.validation import Report

_EXTENSION = "careerkg.graph"
log = logging.getLogger(__name__)


@dataclass
class Graph:
    """The store as the service uses it: guarded queries in killable workers, serialised writes.

    With the embedded store this process is the only writer: the dataset version is a counter and query
    workers are re-forked after each write. A remote store may have other writers (other CareerKG
    processes): the version is the store's shared marker, read once per request, and query workers
    query the store live.
    """

    store: Store
    settings: Settings
    write_lock: threading.RLock = field(default_factory=threading.RLock)
    counter: int = 1
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    pool: QueryPool | None = None
    filled: bool = True

    def __post_init__(self) -> None:
        self.network = NetworkPolicy(self.settings.network_allow)
        self.shared = self.store.shared
        if self.shared:
            # Every process on the same store must give the same ETags for the same data.
            self.instance = hashlib.sha256(self.store.location.encode()).hexdigest()[:8]
            remote = self.store if isinstance(self.store, RemoteStore) else None
            self.changelog = writes.ChangeLog(None, shared=remote)
        else:
            self.changelog = writes.ChangeLog(writes.changelog_path(self.settings.store))
            self.counter = len(self.changelog) + 1
        self.pool = QueryPool(query_job(self.store), size=self.settings.query_workers, fork_lock=self.write_lock)

    @property
    def version(self) -> str:
        """The dataset version (read from a shared store at most once per request)."""
        if not self.shared:
            return str(self.counter)
        if has_request_context():
            cached: str | None = g.get("careerkg_version")
            if cached is None:
                cached = g.careerkg_version = self.store.version_token() or ""
            return cached
        return self.store.version_token() or ""

    def query(self, request: QueryRequest) -> Answer:
        """Evaluate a query in a worker; stopped (503) at the query timeout."""
        self.network.check(request.query)
        assert self.pool is not None
        return self.pool.run(request.to_job(), self.settings.query_timeout)

    def update(self, request: UpdateRequest) -> Report:
        """Apply a SPARQL update in one transaction, if the graph it produces conforms."""
        text = prepare_update(request, self.network)
        return self._retrying(
            lambda: writes.delta_of_update(self.store, text, request.base_iri),
            lambda store: store.update(text, base_iri=request.base_iri),
            "sparql-update",
            request.user,
        )

    def replace_graph(self, graph: GraphName, quads: Iterable[ox.Quad], user: str | None) -> Report:
        """Replace one graph's content (Graph Store PUT), if the result conforms."""
        quads = list(quads)
        return self._retrying(
            lambda: writes.delta_of_replace(self.store, graph, quads),
            lambda store: store.replace_graph(graph, quads),
            "graph-store PUT",
            user,
        )

    def add(self, quads: Iterable[ox.Quad], user: str | None, operation: str = "graph-store POST") -> Report:
        """Add quads, if the result conforms."""
        quads = list(quads)
        return self._retrying(
            lambda: writes.delta_of_quads(self.store, added=quads),
            lambda store: store.add(quads),
            operation,
            user,
        )

    def drop_graph(self, graph: GraphName, user: str | None) -> Report:
        """Remove one graph's content (Graph Store DELETE), if the result conforms."""
        return self._retrying(
            lambda: writes.delta_of_replace(self.store, graph, []),
            lambda store: store.replace_graph(graph, []),
            "graph-store DELETE",
            user,
        )

    def change(self, delta: writes.Delta, user: str | None, operation: str) -> Report:
        """Apply a computed delta (REST writes), if the result conforms."""
        with self.write_lock:
            return self._commit(delta, writes.apply_delta(delta), operation, user)

    def _retrying(
        self, compute: Callable[[], writes.Delta], apply: Callable[[Store], None], operation: str, user: str | None
    ) -> Report:
        """Compute, validate and commit a change; on a shared store, again if another process won the race."""
        attempts = 3 if self.shared else 1
        for attempt in range(attempts):
            with self.write_lock:
                try:
                    return self._commit(compute(), apply, operation, user)
                except StoreConflict:
                    if attempt == attempts - 1:
                        raise
        raise AssertionError("unreachable")

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
        if self.shared:
            if has_request_context():
                g.pop("careerkg_version", None)  # the next read in this request sees the new version
            return
        with self.write_lock:
            self.counter += 1
            if self.pool is not None:
                self.pool.invalidate()

    def ready(self) -> tuple[bool, str]:
        """Whether the store answers and holds data (a remote store that was down is filled when back)."""
        if isinstance(self.store, RemoteStore):
            self.store.ping()
            if not self.filled:
                with self.write_lock:
                    ensure_filled(self.store, self.settings.data)
                    self.filled = True
        if self.store.is_empty():
            return False, "empty"
        return True, "ready"

    def close(self) -> None:
        """Stop workers and release the store."""
        if self.pool is not None:
            self.pool.close()
        self.store.close()


def init_app(app: Flask, settings: Settings, store: Store | None = None) -> None:
    """Open the configured store, fill it if empty, and keep it on the app.

    A remote store that does not answer yet does not stop the service: /ready says 503 until it does,
    and it is filled then if it is empty.
    """
    store = store if store is not None else settings.open_store()
    filled = True
    try:
        ensure_filled(store, settings.data)
    except StoreUnavailable as exc:
        log.warning("%s; serving anyway, /ready answers 503 until the store is back", exc.message)
        filled = False
    except StoreConflict:
        # Another process (a sibling worker, another instance) filled the shared store first.
        if store.is_empty():
            raise
    app.extensions[_EXTENSION] = Graph(store, settings, filled=filled)


def get_graph() -> Graph:
    """The graph of the current app."""
    graph: Graph = current_app.extensions[_EXTENSION]
    return graph


def get_store() -> Store:
    """The store of the current app."""
    return get_graph().store
