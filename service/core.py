"""The served graph: the store, its query workers, the write path and validation, with no knowledge of HTTP.

Views translate HTTP to calls on one ``ServedGraph`` and back; nothing here reads a request or an app.

Untrusted input is read in query workers (``service.sparql.pool``): queries, updates (their deltas) and RDF
documents. The guards in front of them (body size by the WSGI layer, nesting depth, DTD entities, literal length,
the network policy) give clear 4xx answers; the workers are what no input can get past.

Locks, always taken in this order, never the other way round:

1. ``write_lock`` serialises writers: computing a delta, validating it, committing it.
2. ``fork_gate`` is held while the embedded store changes and while a worker is forked, so no worker is a copy
   of a half-applied write (a remote store is not copied: its commits do not take it).
3. the pool's own condition guards its worker lists; it is never held while forking or waiting for a worker's
   answer.

Readers take none of them: queries run in workers, REST reads go to the store, which is safe for concurrent use.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pyoxigraph as ox

from service import writes
from service.config import Settings
from service.errors import CareerKGError, InputError, PayloadTooLarge
from service.loading import ensure_filled, give_memory_back
from service.sparql.execute import QueryRequest, UpdateRequest, worker_job
from service.sparql.network import NetworkPolicy, NetworkRefused, Route
from service.sparql.pool import Answer, QueryPool, StreamAborted
from service.store import Binding, GraphName, Store, StoreConflict, StoreUnavailable
from service.validation import Report, prepare

Precondition = Callable[[str], None] | None  # see service.conditional.write_check

log = logging.getLogger(__name__)


class WorkerStopped(CareerKGError):
    """A worker stopped while it sent an answer the service needed whole (a delta, a parsed document)."""

    status = 503
    title = "Request stopped"


class Filling(CareerKGError):
    """The store is being filled and validated in the background; only /health and /ready answer meanwhile."""

    status = 503
    title = "Filling"
    retry_after = 5

    def __init__(self) -> None:
        super().__init__(
            "the store is being filled and its data validated; try again shortly (readiness answers 200 once done)"
        )


def settle() -> None:
    """Collect, then freeze what the process holds (gc.freeze) and give freed heap back to the system.

    What is frozen is never looked at by the garbage collector again: a full collection writes to every object it
    visits, and each page it writes is copied out of the pages the query workers share with the server (at 100k
    triples the server's own pages after 7,500 lookups: 53 MiB without this, 26 MiB with it). Objects frozen here
    that later become garbage in a cycle are never freed, so it is done only after a fill (300 writes after a freeze
    grew a process by 17 MiB, as much as without it; freezing before every fork instead grew it by 284 MiB).
    """
    gc.collect()
    gc.freeze()
    give_memory_back()


class ServedGraph:
    """The dataset CareerKG serves, and every way to read and change it."""

    def __init__(self, store: Store, settings: Settings, *, filled: bool = True) -> None:
        self.store = store
        self.settings = settings
        self.filled = filled
        self.filling = threading.Event()  # set until fill_in_background is done
        self.closed = threading.Event()
        self.fill_error: str | None = None  # why it failed
        self.write_lock = threading.Lock()
        self.fork_gate = threading.Lock()
        self._counted: tuple[str, int] | None = None  # (dataset version, quads): see size()
        self._count_lock = threading.Lock()
        prepare()  # before the first query worker is forked
        self.pool = QueryPool(
            worker_job(store), size=settings.query_workers, fork_gate=self.fork_gate, memory=settings.query_memory
        )
        self.policy = NetworkPolicy.of(settings.network_allow, sandboxed=not store.shared and self.pool.sandbox)
        # ETags name the dataset: the same on every process sharing a remote store, new for each embedded one.
        digest = hashlib.sha256(store.location.encode()).hexdigest()[:8]
        self.instance = digest if store.shared else uuid.uuid4().hex[:8]

    # --- reading --------------------------------------------------------------------------------------

    def version(self) -> str:
        """The dataset version (a remote store is asked: other processes may have written)."""
        return self.store.version_token()

    def query(self, request: QueryRequest, cancelled: Callable[[], bool] | None = None) -> Answer:
        """Evaluate a query in a worker; stopped (503) at the query timeout, or as soon as ``cancelled`` says so."""
        route = self._route(request.query, update=False, base_iri=request.base_iri)
        job = {**request.to_job(), "refuse_network": self.policy.refused_in_the_sandbox(request.query)}
        return self.pool.run(job, self.settings.query_timeout, sandboxed=route is Route.SANDBOX, cancelled=cancelled)

    def select(self, sparql: str, bindings: Mapping[str, Binding] | None = None) -> Any:
        """Run one of CareerKG's own queries (fixed text, values as bindings) on the store."""
        return self.store.query(sparql, bindings=bindings)

    def graph_quads(self, graph: GraphName) -> Iterator[ox.Quad]:
        """The quads of one graph."""
        return self.store.quads(graph)

    def graph_exists(self, graph: GraphName) -> bool:
        """Whether a graph holds any triple (the default graph always exists)."""
        return isinstance(graph, ox.DefaultGraph) or next(self.store.quads(graph), None) is not None

    def size(self) -> int:
        """The number of quads, counted once per dataset version: counting reads the whole store (130 ms in memory,
        250 ms on disk at a million quads), which every /ready probe and /stats request would otherwise pay."""
        version = self.version()
        with self._count_lock:
            if self._counted is None or self._counted[0] != version:
                self._counted = (version, len(self.store))
            return self._counted[1]

    def changes(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The change log, newest first."""
        return self.store.change_entries(offset, limit)

    # --- untrusted documents -------------------------------------------------------------------------------

    def parse(
        self, data: bytes, fmt: ox.RdfFormat, *, source: str, base_iri: str | None, to_graph: GraphName | None = None
    ) -> list[ox.Quad]:
        """Parse a document a client sent, in a sandboxed worker; InputError (400) names where it is wrong."""
        document = self._json_job(self._document_job("parse", data, fmt, source, base_iri), sandboxed=True)
        quads = list(ox.parse(document["quads"].encode(), format=ox.RdfFormat.N_QUADS))
        self._check_literals(quads)
        if to_graph is not None:
            quads = [ox.Quad(q.subject, q.predicate, q.object, to_graph) for q in quads]
        return quads

    def validate_document(self, data: bytes, fmt: ox.RdfFormat, *, source: str, with_current: bool) -> Report:
        """Validate a document a client sent, alone or as a change to the current graph (touched nodes only), in a
        worker (parsing and validation both bounded by the query timeout)."""
        job = {**self._document_job("validate", data, fmt, source, None), "with_current": with_current}
        return Report.from_wire(self._json_job(job, sandboxed=not (with_current and self.store.shared)))

    def _document_job(
        self, job: str, data: bytes, fmt: ox.RdfFormat, source: str, base_iri: str | None
    ) -> dict[str, Any]:
        if fmt == ox.RdfFormat.RDF_XML and _declares_entities(data):
            raise InputError("RDF/XML with entity declarations (<!ENTITY ...>) is not accepted", file=source)
        return {"job": job, "data": data, "format": fmt.media_type, "source": source, "base_iri": base_iri}

    # --- writing ---------------------------------------------------------------------------------------------

    def update(self, request: UpdateRequest) -> Report:
        """Apply a SPARQL update in one transaction, if the graph it produces conforms."""
        route = self._route(request.update, update=True, base_iri=request.base_iri)
        job = {
            "job": "update",
            "update": request.update,
            "using": list(request.using_graphs),
            "using_named": list(request.using_named_graphs),
            "base_iri": request.base_iri,
            "refuse_network": self.policy.refused_in_the_sandbox(request.update),
        }

        def compute() -> writes.Delta:
            return writes.Delta.from_json(self._json_job(job, sandboxed=route is Route.SANDBOX))

        return self._write(compute, "sparql-update", request.user)

    def replace_graph(
        self, graph: GraphName, quads: Iterable[ox.Quad], user: str | None, precondition: Precondition = None
    ) -> Report:
        """Replace one graph's content (Graph Store PUT), if the result conforms."""
        quads = list(quads)
        return self._write(
            lambda: writes.delta_of_replace(self.store, graph, quads), "graph-store PUT", user, precondition
        )

    def add(
        self,
        quads: Iterable[ox.Quad],
        user: str | None,
        operation: str = "graph-store POST",
        precondition: Precondition = None,
    ) -> Report:
        """Add quads, if the result conforms."""
        quads = list(quads)
        return self._write(lambda: writes.delta_of_quads(self.store, added=quads), operation, user, precondition)

    def drop_graph(self, graph: GraphName, user: str | None, precondition: Precondition = None) -> Report:
        """Remove one graph's content (Graph Store DELETE), if the result conforms."""
        return self._write(
            lambda: writes.delta_of_replace(self.store, graph, []), "graph-store DELETE", user, precondition
        )

    def edit(
        self,
        build: Callable[[Store], writes.Delta],
        user: str | None,
        operation: str,
        precondition: Precondition = None,
    ) -> Report:
        """Apply the delta ``build`` computes from the store (REST writes), if the result conforms."""
        return self._write(lambda: build(self.store), operation, user, precondition)

    def _write(
        self, compute: Callable[[], writes.Delta], operation: str, user: str | None, precondition: Precondition = None
    ) -> Report:
        """Compute, validate and commit a change; on a shared store, again if another process won the race.
        ``precondition`` (a conditional request's check) is given the ETag part of the dataset version the change
        was computed against, under the write lock; the commit is conditional on that version (on a shared store,
        a commit another process made meanwhile is a conflict, and the change and the check are made again)."""
        attempts = 3 if self.store.shared else 1
        for attempt in range(attempts):
            with self.write_lock:
                delta = compute()
                if precondition is not None:
                    precondition(f"{self.instance}-{delta.base or self.store.version_token()}")
                self._check_literals(delta.added)
                # Forks must not copy half a write of the store in this process; a remote store is not copied.
                gate = None if self.store.shared else self.fork_gate
                try:
                    report = writes.commit(self.store, delta, operation=operation, user=user, gate=gate)
                except StoreConflict:
                    if attempt == attempts - 1:
                        raise
                    continue
                if (delta.added or delta.removed) and not self.store.shared:
                    self.pool.invalidate()  # workers forked before the commit would answer from the old data
                return report
        raise AssertionError("unreachable")

    # --- guards -------------------------------------------------------------------------------------------------

    def _route(self, text: str, *, update: bool, base_iri: str | None) -> Route:
        """Where to evaluate a request (NetworkRefused if it would reach a target not allowed); a syntax error is
        reported first, as the protocol's tests expect."""
        try:
            return self.policy.route(text, update=update, base_iri=base_iri, targets=self._targets)
        except CareerKGError as refused:
            if refused.status != NetworkRefused.status:
                raise
            self._json_job({"job": "syntax", "text": text, "update": update, "base_iri": base_iri}, sandboxed=True)
            raise

    def _targets(self, text: str, update: bool, base_iri: str | None) -> list[tuple[str, str | None]]:
        job = {"job": "targets", "text": text, "update": update, "base_iri": base_iri}
        return [(op, iri) for op, iri in self._json_job(job, sandboxed=True)["targets"]]

    def _json_job(self, job: dict[str, Any], *, sandboxed: bool) -> dict[str, Any]:
        """Run a job whose answer is one JSON document; its problem, if it has one, raised as an error."""
        answer = self.pool.run(job, self.settings.query_timeout, sandboxed=sandboxed)
        if answer.head.problem is not None:
            raise _error(answer.head.problem)
        try:
            document: dict[str, Any] = json.loads(answer.read())
        except StreamAborted as exc:  # the worker stopped (the timeout, a crash) while sending: nothing was written
            raise WorkerStopped(f"the request stopped before its answer was complete ({exc})") from None
        return document

    def _check_literals(self, quads: Iterable[ox.Quad]) -> None:
        limit = self.settings.max_literal
        for quad in quads:
            if isinstance(quad.object, ox.Literal) and len(quad.object.value) > limit:
                raise PayloadTooLarge(
                    f"a literal of {len(quad.object.value):,} characters is longer than the {limit:,} this server "
                    "accepts (CAREERKG_MAX_LITERAL)"
                )

    # --- lifecycle ------------------------------------------------------------------------------------------

    def fill_in_background(self, failed: Callable[[CareerKGError], None], warm: Callable[[], None]) -> None:
        """Fill the store (as ``open_served`` would) in a thread, so the process answers /health meanwhile (the
        parsers and the validator release the GIL); once the data is in, the process is ready, and the thread goes on
        to ``warm`` what the first requests would build (a REST request meanwhile waits for it: at a million triples
        about 8 s, which a restart over a filled store no longer adds to its time to /ready). ``failed`` is called
        with the error if the data cannot be served (it does not conform, a file cannot be read)."""
        self.filling.set()

        def fill() -> None:
            try:
                with self.write_lock, self.fork_gate:  # nothing is written and no worker is forked meanwhile
                    ensure_filled(self.store, self.settings.data)
            except BaseException as exc:  # a panic in an engine is a BaseException: it must be reported too
                if not isinstance(exc, CareerKGError):
                    log.error("filling the store failed", exc_info=exc)
                    exc = CareerKGError("filling the store failed: see the log")
                self.fill_error = exc.message
                failed(exc)
                return
            self.pool.invalidate()
            settle()  # before the first query worker is forked: what is shared with it is frozen already
            self.filling.clear()
            try:
                warm()
            except Exception:  # the first request builds it then
                log.exception("warming up after the fill failed")
            settle()  # the index too
            # Parked, not ended, until the store closes: an ended thread's malloc arena, where the fill left its
            # freed holes among the store's memory, would go to the next new thread, a request thread that forks
            # query workers; each worker's allocations would then land in those holes, in pages it shares with
            # the server, and copy them (185 MiB per worker after 3,000 queries at 1M triples; parked: none).
            self.closed.wait()

        threading.Thread(target=fill, name="careerkg-fill", daemon=True).start()

    def ready(self) -> tuple[bool, str]:
        """Whether the store answers and holds data (a remote store that was down is filled when back)."""
        if self.filling.is_set():
            return False, "filling" if self.fill_error is None else "not filled: the data cannot be served"
        self.store.ping()
        if not self.filled:  # a remote store that was down at start: workers do not copy it, no gate needed
            with self.write_lock:
                ensure_filled(self.store, self.settings.data)
                self.filled = True
        if self.store.is_empty():
            return False, "empty"
        return True, "ready"

    def close(self) -> None:
        """Stop workers and release the store."""
        self.closed.set()
        self.pool.close()
        self.store.close()


def open_served(
    settings: Settings,
    store: Store | None = None,
    *,
    in_background: bool = False,
) -> ServedGraph:
    """Open the configured store (or serve ``store``), fill it if empty, and serve it.

    ``in_background`` leaves the filling of a store of this process to ``ServedGraph.fill_in_background``, called
    once the app is built: /health answers at once, other routes 503 until the data is in. A remote store that
    does not answer yet does not stop the service: /ready says 503 until it does, and it is filled then if it is
    empty.
    """
    store = store if store is not None else settings.open_store()
    if in_background and not store.shared:
        served = ServedGraph(store, settings)
        served.filling.set()
        return served
    filled = True
    try:
        ensure_filled(store, settings.data)
    except StoreUnavailable as exc:
        log.warning("%s; serving anyway, /ready answers 503 until the store is back", exc.message)
        filled = False
    except StoreConflict:
        # Another process (a sibling worker, another instance) filled the shared store first, or is filling it.
        store.wait_for_fill()
        if store.is_empty():
            raise
    return ServedGraph(store, settings, filled=filled)


def _declares_entities(data: bytes) -> bool:
    return any(mark in data for mark in (b"<!ENTITY", "<!ENTITY".encode("utf-16-le"), "<!ENTITY".encode("utf-16-be")))


def _error(problem: Mapping[str, Any]) -> CareerKGError:
    """The error a worker's problem document stands for (its status, title and detail)."""
    error = CareerKGError(str(problem.get("detail", "")))
    error.status = int(problem.get("status", 500))
    error.title = str(problem.get("title", "Error"))
    return error
