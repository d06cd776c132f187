"""A remote store: any SPARQL 1.1 Protocol endpoint (Oxigraph server, Fuseki, GraphDB, Virtuoso, Neptune).

Everything goes through SPARQL queries and updates, so nothing beyond the Protocol is assumed.
Bound variables become a VALUES block at the head of the WHERE clause, written from terms by
pyoxigraph, never from user text. Reads are retried on connection failures and 502/503/504;
updates are not retried once sent. When the endpoint cannot be reached, every call raises
``StoreUnavailable`` (503) at once, and the next call tries again: the service recovers by itself.

Stores whose default graph is the union of all their graphs (Virtuoso, GraphDB, Neptune) are used in
*dataset graph* mode (``Endpoint.graph``): CareerKG's default graph lives in that named graph, the
graphs the store held before CareerKG first wrote to it (its system graphs) are recorded in that
dataset's own bookkeeping graph and left out, and queries without a dataset of their own are sent with the protocol's
``default-graph-uri`` and ``named-graph-uri`` so they see exactly CareerKG's dataset.

Several CareerKG processes may share one remote store. A marker in the named graph ``META``
holds the dataset version; every commit is one update request that applies its delta *only if*
the marker still holds the version the delta was validated against, swaps the marker and records
the change (optimistic concurrency: a write that lost the race changes nothing and is retried or
answered 409).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyoxigraph as ox
import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth
from urllib3.util.retry import Retry

from service.errors import CareerKGError, Forbidden, QuerySyntaxError, StoreError
from service.sparql import lexer
from service.store.base import Binding, GraphName, QueryResult, Store, StoreConflict, StoreUnavailable

log = logging.getLogger(__name__)

META = ox.NamedNode("https://w3id.org/careerkg/meta/")
DATASET = ox.NamedNode("https://w3id.org/careerkg/meta/dataset")
VERSION = ox.NamedNode("https://w3id.org/careerkg/ontology#datasetVersion")
CHANGE = ox.NamedNode("https://w3id.org/careerkg/ontology#Change")
ENTRY = ox.NamedNode("https://w3id.org/careerkg/ontology#changeEntry")
AT = ox.NamedNode("https://w3id.org/careerkg/ontology#changedAt")
FOREIGN = ox.NamedNode("https://w3id.org/careerkg/ontology#foreignGraph")
SURVEYED = ox.NamedNode("https://w3id.org/careerkg/ontology#foreignGraphsSurveyed")
NO_GRAPH = ox.NamedNode("https://w3id.org/careerkg/meta/no-graph")  # names no graph: an empty set of named graphs
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")

SOLUTIONS_ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples"
ACCEPT = f"{SOLUTIONS_ACCEPT}, application/sparql-results+xml;q=0.9, {GRAPH_ACCEPT};q=0.8, text/turtle;q=0.7"
# For CONSTRUCT and DESCRIBE: some stores (Virtuoso) would write their triples as SPARQL JSON solutions.
GRAPH_FIRST = f"{GRAPH_ACCEPT}, text/turtle;q=0.9, application/rdf+xml;q=0.8"
RESULT_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
BATCH = 400  # quads per membership query, and per operation of an update
# An update request's text at most when a fill is written in steps: Virtuoso compiles a request of more than about a
# megabyte into code too large to run (SQ199), whatever its operations.
FILL_REQUEST_CHARS = 400_000
FILLING = "filling "  # the dataset version while a fill is written in steps: "filling <token> <started, ISO time>"
ABANDONED_FILL = 900.0  # seconds after which a fill in steps that never finished is taken as abandoned
PING_TIMEOUT = 2.0  # seconds a readiness probe waits for the store


# Every statement of the dataset CareerKG serves: the default graph and the named graphs but its bookkeeping one.
ALL_GRAPHS = f"{{ ?s ?p ?o }} UNION {{ GRAPH ?g {{ ?s ?p ?o }} FILTER (?g != {META}) }}"


class BlankNodeRemoval(CareerKGError):
    """A change a remote store cannot express: removing statements about blank nodes one by one."""

    status = 422
    title = "Unsupported change"


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a remote store."""

    query: str
    update: str | None = None
    auth: str | None = None  # "user:password"
    graph: str | None = None  # dataset graph mode: the named graph that holds CareerKG's default graph
    connect_timeout: float = 3.0
    read_timeout: float = 30.0
    # An update waits longer than a query: filling a store sends up to FILL_REQUEST_CHARS of data in one update,
    # and a client that gives up on an update cannot tell whether the store applied it.
    write_timeout: float = 120.0


class RemoteStore(Store):
    """A store reached over the SPARQL 1.1 Protocol."""

    shared = True

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.location = endpoint.query
        self.update_url = endpoint.update or endpoint.query
        self._local = threading.local()
        self._pid = os.getpid()
        self._abandoned: list[threading.local] = []  # the parent's sessions, in a forked worker
        self._auth: AuthBase | None = None
        if endpoint.auth:
            user, sep, password = endpoint.auth.partition(":")
            if not sep:
                raise StoreError("--store-auth must be USER:PASSWORD")
            self._auth = _ChallengeAuth(user, password)
        self._marked = False
        self.graph = ox.NamedNode(endpoint.graph) if endpoint.graph else None
        # The bookkeeping graph: one per dataset graph, so several CareerKG datasets can share a store.
        self.meta = META if self.graph is None else ox.NamedNode(f"{META.value}{_digest(self.graph.value)}/")
        self._surveyed = self.graph is None

    # --- HTTP -------------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        """A pooled session per thread, and new ones in a forked process (inherited sockets are not ours)."""
        if os.getpid() != self._pid:
            # Keep the parent's sessions referenced forever: closing them would close file numbers the
            # child may already reuse for something else.
            self._abandoned.append(self._local)
            self._local = threading.local()
            self._pid = os.getpid()
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            # Queries: retried on connection failures and 502/503/504. Updates: only a failed connect is retried.
            reads = Retry(
                total=3,
                connect=2,
                read=0,
                status=2,
                backoff_factor=0.05,
                status_forcelist=(502, 503, 504),
                allowed_methods=frozenset({"GET", "POST"}),
                raise_on_status=False,
            )
            session = self._local.session = self._new_session(reads)
            self._local.writer = self._new_session(Retry(total=1, connect=1, read=0, status=0))
        return session

    def _new_session(self, retry: Retry) -> requests.Session:
        session = requests.Session()
        for scheme in ("http://", "https://"):
            session.mount(scheme, HTTPAdapter(max_retries=retry, pool_maxsize=16))
        session.auth = self._auth
        session.headers["User-Agent"] = "CareerKG"
        return session

    def _post(
        self,
        url: str,
        data: list[tuple[str, str]],
        *,
        accept: str | None,
        write: bool,
        read_timeout: float | None = None,
    ) -> requests.Response:
        session = self._session()
        if write:
            session = self._local.writer
        headers = {"Accept": accept} if accept else {}
        try:
            response = session.post(
                url,
                data=data,
                headers=headers,
                timeout=(self.endpoint.connect_timeout, read_timeout or self._wait(write)),
            )
        except requests.RequestException as exc:
            # urllib3 reports a read timeout under its retry machinery, which requests turns into ConnectionError.
            if isinstance(exc, requests.Timeout) or "timed out" in str(exc):
                raise StoreUnavailable(f"the remote store at {url} did not answer in time") from None
            raise StoreUnavailable(f"the remote store at {url} cannot be reached ({_reason(exc)})") from None
        if response.status_code >= 400:
            text = response.text.strip()[:2000]
            if response.status_code in (401, 403):
                raise StoreError(f"the remote store at {url} refused the credentials ({response.status_code}): {text}")
            if response.status_code == 400:
                sent = dict(data).get("query") or dict(data).get("update") or ""
                if sent.startswith(_BASE_MARK):  # positions in the text the client sent, without our BASE line
                    text = re.sub(r"\b(\d+):(\d+)\b", lambda m: f"{int(m[1]) - 1}:{m[2]}", text, count=1)
                raise QuerySyntaxError(f"the remote store refused the request: {text}")
            if response.status_code >= 500 or response.status_code in (404, 405, 408, 429):
                raise StoreUnavailable(f"the remote store at {url} answered {response.status_code}: {text}")
            raise StoreError(f"the remote store at {url} answered {response.status_code}: {text}")
        return response

    def _select(self, sparql: str) -> list[dict[str, Any]]:
        """Run a SELECT this module wrote; its solutions as dicts of terms."""
        result = self._query_text(sparql, hide=False)
        assert isinstance(result, ox.QuerySolutions)
        names = [v.value for v in result.variables]
        return [{n: s[n] for n in names if s[n] is not None} for s in result]

    def _query_text(self, sparql: str, params: Sequence[tuple[str, str]] = (), *, hide: bool = True) -> QueryResult:
        """Run a query; ``hide`` drops solutions and triples that show CareerKG's own META graph."""
        accept = GRAPH_FIRST if lexer.query_form(sparql) in ("CONSTRUCT", "DESCRIBE") else ACCEPT
        response = self._post(self.endpoint.query, [("query", sparql), *params], accept=accept, write=False)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            if media_type in RESULT_FORMATS:
                body = response.content
                if RESULT_FORMATS[media_type] == ox.QueryResultsFormat.JSON:
                    body = _readable_json(body, hide=hide)
                return ox.parse_query_results(body, format=RESULT_FORMATS[media_type])
            if media_type in GRAPH_FORMATS:
                quads = ox.parse(response.content, format=GRAPH_FORMATS[media_type])
                return (
                    ox.Triple(q.subject, q.predicate, q.object)
                    for q in quads
                    if not (hide and any(_is_meta(t) for t in (q.subject, q.object)))
                )
        except SyntaxError as exc:
            raise StoreError(f"the remote store sent results that do not parse: {exc}") from None
        raise StoreError(f"the remote store answered in {media_type or 'no media type'}, which CareerKG cannot read")

    def _wait(self, write: bool) -> float:
        """Seconds to wait for an answer: the query timeout, or longer for an update."""
        read = self.endpoint.read_timeout
        return max(read, self.endpoint.write_timeout) if write else read

    def _update_text(self, sparql: str, read_timeout: float | None = None) -> None:
        self._post(self.update_url, [("update", sparql)], accept=None, write=True, read_timeout=read_timeout).close()

    # --- where CareerKG's dataset lives on the store ------------------------------------------------

    def _default(self, pattern: str) -> str:
        """A pattern over CareerKG's default graph."""
        return pattern if self.graph is None else f"GRAPH {self.graph} {{ {pattern} }}"

    def _all(self) -> str:
        """Every statement of CareerKG's dataset; ?g is bound for named graphs only."""
        if self.graph is None:
            return ALL_GRAPHS
        return f"{{ {self._default('?s ?p ?o')} }} UNION {{ GRAPH ?g {{ ?s ?p ?o }} {self._own('?g')} }}"

    def _own(self, var: str) -> str:
        """Filters keeping the named graphs that belong to CareerKG's dataset."""
        if self.graph is None:
            return f"FILTER ({var} != {self.meta})"
        self._survey()
        return (
            f"FILTER (!STRSTARTS(STR({var}), {ox.Literal(META.value)}) && {var} != {self.graph}) "
            f"FILTER NOT EXISTS {{ GRAPH {self.meta} {{ {DATASET} {FOREIGN} {var} }} }}"
        )

    def _survey(self) -> None:
        """Once per store: record the graphs it held before CareerKG wrote to it, which are not CareerKG's."""
        if self._surveyed:
            return
        self._update_text(
            f"INSERT {{ GRAPH {self.meta} {{ {DATASET} {FOREIGN} ?g . {DATASET} {SURVEYED} true }} }} WHERE {{ "
            f"FILTER NOT EXISTS {{ GRAPH {self.meta} {{ {DATASET} {SURVEYED} ?done }} }} "
            f"OPTIONAL {{ SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
            f"FILTER (!STRSTARTS(STR(?g), {ox.Literal(META.value)}) && ?g != {self.graph}) }} }} }}"
        )
        self._surveyed = True

    def _joined(self, values: str, pattern: str) -> str:
        """A VALUES block joined with a pattern: first where the store starts from it, after the pattern in
        dataset-graph mode (Virtuoso loses the rows of a leading VALUES block of several variables)."""
        return f"{values} {pattern}" if self.graph is None else f"{pattern} {values}"

    def _inserts(self, quads: Iterable[ox.Quad]) -> list[str]:
        """Update operations adding quads: INSERT DATA, or INSERT … WHERE {} for the part with blank nodes
        (the same fresh nodes; some stores refuse blank nodes in INSERT DATA)."""
        quads = list(quads)
        has_blank = any(_has_blank(q) for q in quads)
        return [
            f"INSERT {{ {part} }} WHERE {{}}" if has_blank and i == 0 else f"INSERT DATA {{ {part} }}"
            for i, part in enumerate(self._quad_chunks(quads))
        ]

    def _quad_chunks(self, quads: Iterable[ox.Quad]) -> list[str]:
        """QuadData in parts of at most BATCH quads (some stores compile each operation into bounded code).

        The quads with blank nodes stay together in one part: a blank node label means one node only
        within one operation.
        """
        ground: list[ox.Quad] = []
        blank: list[ox.Quad] = []
        for quad in quads:
            (blank if _has_blank(quad) else ground).append(quad)
        parts = [ground[i : i + BATCH] for i in range(0, len(ground), BATCH)]
        return [self._quad_data(part) for part in ([blank] if blank else []) + parts]

    def _quad_data(self, quads: Iterable[ox.Quad]) -> str:
        """Quads as SPARQL QuadData; the default graph's written into the dataset graph in that mode."""
        if self.graph is None:
            return _quad_data(quads)
        self._survey()
        graph = self.graph
        return _quad_data(
            ox.Quad(q.subject, q.predicate, q.object, graph) if isinstance(q.graph_name, ox.DefaultGraph) else q
            for q in quads
        )

    # --- the store interface ----------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        bindings: Mapping[str, Binding] | None = None,
        default_graph: Sequence[GraphName] | None = None,
        named_graphs: Sequence[ox.NamedNode | ox.BlankNode] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        text = _with_base(lexer.with_values(sparql, dict(bindings)) if bindings else sparql, base_iri)
        params: list[tuple[str, str]] = []
        for graph in default_graph or ():
            if isinstance(graph, ox.NamedNode):
                params.append(("default-graph-uri", graph.value))
        for graph in named_graphs or ():
            if isinstance(graph, ox.NamedNode):
                params.append(("named-graph-uri", graph.value))
        if self.graph is not None and not params and not lexer.has_from(text):
            params.append(("default-graph-uri", self.graph.value))
            names = self.named_graphs() or [NO_GRAPH]
            params.extend(("named-graph-uri", n.value) for n in names if isinstance(n, ox.NamedNode))
        return self._query_text(text, params)

    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        if self.graph is None:
            self._update_text(_with_base(sparql, base_iri))
            return
        # Dataset graph mode: the store's own default graph is not CareerKG's, so the update runs on a copy of
        # CareerKG's dataset and the difference is written (graphs losing blank nodes are rewritten whole).
        from service.store.embedded import EmbeddedStore

        scratch = EmbeddedStore()
        scratch.add(self.quads())
        before = set(scratch.quads())
        scratch.update(sparql, base_iri=base_iri)
        after = set(scratch.quads())
        rewritten = {q.graph_name for q in before - after if _has_blank(q)}
        for graph in rewritten:
            self.replace_graph(graph, [q for q in after if q.graph_name == graph])
        self.apply(
            [q for q in after - before if q.graph_name not in rewritten],
            [q for q in before - after if q.graph_name not in rewritten],
        )

    def add(self, quads: Iterable[ox.Quad]) -> None:
        self.apply(quads, [])

    def apply(self, added: Iterable[ox.Quad], removed: Iterable[ox.Quad]) -> None:
        operations = [f"DELETE DATA {{ {part} }}" for part in self._quad_chunks(removed)]
        operations += self._inserts(added)
        if operations:
            self._update_text(" ;\n".join(operations))

    def replace_graph(self, graph: GraphName, quads: Iterable[ox.Quad]) -> None:
        if isinstance(graph, ox.DefaultGraph):
            target = "DEFAULT" if self.graph is None else f"GRAPH {self.graph}"
        else:
            target = f"GRAPH {graph}"
        inserts = self._inserts(ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads)
        self._update_text(" ;\n".join([f"CLEAR SILENT {target}", *inserts]))

    def quads(self, graph: GraphName | None = None) -> Iterator[ox.Quad]:
        if _is_meta(graph):
            return iter(())  # CareerKG's bookkeeping is not part of the dataset it serves
        if isinstance(graph, ox.DefaultGraph):
            return self._quads_where(self._default("?s ?p ?o"))
        if graph is not None:
            return self._quads_where(f"GRAPH {graph} {{ ?s ?p ?o }}", graph)
        return self._quads_where(self._all())

    def _quads_where(self, pattern: str, graph: GraphName | None = None) -> Iterator[ox.Quad]:
        rows = self._select(f"SELECT ?s ?p ?o ?g WHERE {{ {pattern} }}")
        for row in rows:
            name = row.get("g", graph if graph is not None else ox.DefaultGraph())
            yield ox.Quad(row["s"], row["p"], row["o"], name)

    def quads_of(
        self,
        subject: ox.NamedNode | ox.BlankNode | None = None,
        obj: ox.NamedNode | ox.BlankNode | None = None,
        predicate: ox.NamedNode | None = None,
    ) -> Iterator[ox.Quad]:
        given: dict[str, Binding] = {}
        for name, term in (("s", subject), ("p", predicate), ("o", obj)):
            if term is not None:
                if isinstance(term, ox.BlankNode):
                    return iter(())  # a blank node has no name outside one result set
                given[name] = term
        query = lexer.with_values(
            f"SELECT ?s ?p ?o ?g WHERE {{ {self._all()} }}",
            given,
        )
        out = []
        for found in self._select(query):
            row = {**given, **found}
            out.append(ox.Quad(row["s"], row["p"], row["o"], row.get("g", ox.DefaultGraph())))
        return iter(out)

    def quads_about(self, subjects: Sequence[ox.NamedNode]) -> Iterator[ox.Quad]:
        out: list[ox.Quad] = []
        for start in range(0, len(subjects), BATCH):
            values = " ".join(str(s) for s in subjects[start : start + BATCH])
            query = f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?s {{ {values} }} {self._all()} }}"
            out.extend(
                ox.Quad(row["s"], row["p"], row["o"], row.get("g", ox.DefaultGraph())) for row in self._select(query)
            )
        return iter(out)

    def contains(self, quad: ox.Quad) -> bool:
        return quad in self.present([quad])

    def present(self, quads: Iterable[ox.Quad]) -> set[ox.Quad]:
        """Which of these quads the store holds, asked in batches."""
        ground = [q for q in quads if not _has_blank(q)]
        found: set[ox.Quad] = set()
        for start in range(0, len(ground), BATCH):
            batch = ground[start : start + BATCH]
            default = [q for q in batch if isinstance(q.graph_name, ox.DefaultGraph)]
            named = [q for q in batch if not isinstance(q.graph_name, ox.DefaultGraph)]
            if default:
                rows = " ".join(f"({q.subject} {q.predicate} {q.object})" for q in default)
                where = self._joined(f"VALUES (?s ?p ?o) {{ {rows} }}", self._default("?s ?p ?o"))
                for row in self._select(f"SELECT ?s ?p ?o WHERE {{ {where} }}"):
                    found.add(ox.Quad(row["s"], row["p"], row["o"], ox.DefaultGraph()))
            if named:
                rows = " ".join(f"({q.subject} {q.predicate} {q.object} {q.graph_name})" for q in named)
                where = self._joined(f"VALUES (?s ?p ?o ?g) {{ {rows} }}", "GRAPH ?g { ?s ?p ?o }")
                query = f"SELECT ?s ?p ?o ?g WHERE {{ {where} }}"
                for row in self._select(query):
                    found.add(ox.Quad(row["s"], row["p"], row["o"], row["g"]))
        return found

    def named_graphs(self) -> list[ox.NamedNode | ox.BlankNode]:
        rows = self._select(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {self._own('?g')} }}")
        return [row["g"] for row in rows]

    def __len__(self) -> int:
        rows = self._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {self._all()} }}")
        return int(rows[0]["n"].value) if rows else 0

    def is_empty(self) -> bool:
        rows = self._select(f"SELECT ?s WHERE {{ {self._all()} }} LIMIT 1")
        return not rows

    def ping(self) -> None:
        """Raise StoreUnavailable unless the endpoint answers a trivial query within the ping timeout."""
        self._post(
            self.endpoint.query, [("query", "ASK {}")], accept=ACCEPT, write=False, read_timeout=PING_TIMEOUT
        ).close()

    # --- the shared dataset version and optimistic commits ----------------------------------------

    def version_token(self) -> str:
        """The dataset version every CareerKG process on this store agrees on."""
        if not self._marked:
            # Reads pass here too, so this small, idempotent update waits no longer than a query.
            self._update_text(
                f"INSERT {{ GRAPH {self.meta} {{ {DATASET} {VERSION} {ox.Literal(uuid.uuid4().hex)} }} }} "
                f"WHERE {{ FILTER NOT EXISTS {{ GRAPH {self.meta} {{ {DATASET} {VERSION} ?any }} }} }}",
                read_timeout=self.endpoint.read_timeout,
            )
            self._marked = True
        rows = self._select(f"SELECT ?v WHERE {{ GRAPH {self.meta} {{ {DATASET} {VERSION} ?v }} }}")
        if not rows:
            self._marked = False
            raise StoreConflict("the dataset version marker of the remote store is missing; try again")
        values = [str(row["v"].value) for row in rows]
        # A fill in steps holds the dataset: its version wins over any other (a store may hold two values).
        return next((v for v in values if v.startswith(FILLING)), min(values))

    # --- filling an empty dataset -------------------------------------------------------------------

    def fill(self, data: ox.Store, *, entry: Mapping[str, Any], expected: str | None) -> str:
        """One commit when the update is small; otherwise in steps no store refuses. The steps hold the dataset
        under a "filling" version (other writers' commits fail meanwhile, other processes wait for the end), and a
        fill that dies half-way is undone by the next process that finds it abandoned."""
        quads = list(data.quads_for_pattern(None, None, None, None))
        chunks = self._quad_chunks(quads)
        if sum(len(chunk) for chunk in chunks) <= FILL_REQUEST_CHARS:
            return self.commit(quads, [], expected=expected, entry=entry)
        expected = expected if expected is not None else self.version_token()
        if expected.startswith(FILLING):  # another process is filling it: never take over its fill
            raise StoreConflict("the graph is being filled by another process; nothing was written")
        token = uuid.uuid4().hex
        filling = f"{FILLING}{token} {datetime.now(UTC).isoformat(timespec='seconds')}"
        self._update_text(
            f"DELETE {{ {self._guard(expected)} }} INSERT {{ GRAPH {self.meta} {{ {DATASET} {VERSION} "
            f"{ox.Literal(filling)} }} }} WHERE {{ {self._guard(expected)} }}"
        )
        if self.version_token() != filling:
            raise StoreConflict("another writer changed the graph while it was being filled; nothing was written")
        held = self._guard(filling)
        try:
            request: list[str] = []
            for chunk in chunks:
                operation = f"INSERT {{ {chunk} }} WHERE {{ {held} }}"
                if request and sum(map(len, request)) + len(operation) > FILL_REQUEST_CHARS:
                    self._update_text(" ;\n".join(request))
                    request = []
                request.append(operation)
            self._update_text(" ;\n".join([*request, self._recording(held, token, entry)]))
        except BaseException:
            self._undo_fill(filling)
            raise
        return token

    def _guard(self, version: str) -> str:
        return f"GRAPH {self.meta} {{ {DATASET} {VERSION} {ox.Literal(version)} }}"

    def _recording(self, guard: str, token: str, entry: Mapping[str, Any]) -> str:
        """The operation that ends a commit: the new version, and the change recorded with its entry."""
        change = self._change(token)
        now = ox.Literal(datetime.now(UTC).isoformat(timespec="milliseconds"), datatype=XSD_DATETIME)
        record = ox.Literal(json.dumps(dict(entry)))
        return (
            f"DELETE {{ {guard} }} INSERT {{ GRAPH {self.meta} {{ {DATASET} {VERSION} {ox.Literal(token)} . "
            f"{change} {RDF_TYPE} {CHANGE} ; {ENTRY} {record} ; {AT} {now} }} }} WHERE {{ {guard} }}"
        )

    def _change(self, token: str) -> ox.NamedNode:
        """The IRI of the change log entry a commit records under its new version ``token``."""
        return ox.NamedNode(f"{self.meta.value}change/{token}")

    def _undo_fill(self, filling: str) -> None:
        """Empty a dataset a fill in steps left half-written, and give it a version of its own again."""
        held = self._guard(filling)
        default = self._default("?s ?p ?o")
        self._update_text(
            f"DELETE {{ {default} }} WHERE {{ {held} {default} }} ;\n"
            f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ {held} GRAPH ?g {{ ?s ?p ?o }} {self._own('?g')} }} ;\n"
            f"DELETE {{ {held} }} INSERT {{ GRAPH {self.meta} {{ {DATASET} {VERSION} "
            f"{ox.Literal(uuid.uuid4().hex)} }} }} WHERE {{ {held} }}"
        )

    def wait_for_fill(self) -> None:
        """Wait while another process fills this dataset in steps; undo a fill it abandoned."""
        deadline = time.monotonic() + ABANDONED_FILL
        while (version := self.version_token()).startswith(FILLING):
            started = datetime.fromisoformat(version.rsplit(" ", 1)[1])
            if (datetime.now(UTC) - started).total_seconds() >= ABANDONED_FILL or time.monotonic() >= deadline:
                log.warning("%s holds a fill that never finished (begun %s): emptied", self.location, started)
                self._undo_fill(version)
                return
            time.sleep(1.0)

    def commit(
        self,
        added: Iterable[ox.Quad],
        removed: Iterable[ox.Quad],
        *,
        expected: str | None,
        entry: Mapping[str, Any],
        replaces: Mapping[GraphName, Sequence[ox.Quad]] | None = None,
    ) -> str:
        """Apply a delta if the dataset is still at version ``expected``; the new version, or StoreConflict.

        Blank nodes cannot be named in an update, so a graph losing statements about blank nodes must have
        its whole new content in ``replaces``; it is then cleared by a pattern and refilled.
        """
        expected = expected if expected is not None else self.version_token()
        if expected.startswith(FILLING):  # another process is filling the dataset in steps: its guard, not ours
            raise StoreConflict("the graph is being filled by another process; nothing was written")
        token = uuid.uuid4().hex
        added, removed = list(added), list(removed)
        replaces = replaces or {}
        if any(_is_meta(q.graph_name) for q in [*added, *removed]) or any(_is_meta(g) for g in replaces):
            raise Forbidden(f"the graph <{self.meta.value}> holds CareerKG's bookkeeping and cannot be written")
        guard = self._guard(expected)
        operations = []
        if any(_has_blank(q) and q.graph_name not in replaces for q in removed):
            raise BlankNodeRemoval(
                "this change removes statements about blank nodes, which a remote store cannot name in an "
                "update; replace the whole graph instead (Graph Store PUT)"
            )
        for graph in replaces:
            pattern = (
                self._default("?s ?p ?o") if isinstance(graph, ox.DefaultGraph) else f"GRAPH {graph} {{ ?s ?p ?o }}"
            )
            operations.append(f"DELETE {{ {pattern} }} WHERE {{ {guard} {pattern} }}")
            removed = [q for q in removed if q.graph_name != graph]
            added = [q for q in added if q.graph_name != graph] + list(replaces[graph])
        for removing in self._quad_chunks(removed):
            operations.append(f"DELETE {{ {removing} }} WHERE {{ {guard} }}")
        for adding in self._quad_chunks(added):
            operations.append(f"INSERT {{ {adding} }} WHERE {{ {guard} }}")
        operations.append(self._recording(guard, token, entry))
        self._update_text(" ;\n".join(operations))
        change = self._change(token)
        rows = self._select(
            f"SELECT ?c WHERE {{ GRAPH {self.meta} {{ {change} {RDF_TYPE} {CHANGE} }} BIND (1 AS ?c) }}"
        )
        if not rows:
            raise StoreConflict(
                "another writer changed the graph while this change was being validated; nothing was written"
            )
        return token

    def change_entries(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Recorded changes, newest first, and how many there are."""
        rows = self._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {self.meta} {{ ?c {RDF_TYPE} {CHANGE} }} }}")
        total = int(rows[0]["n"].value) if rows else 0
        if offset >= total:
            return [], total  # and some stores refuse to sort past their row limit (Virtuoso: 10,000)
        page = self._select(
            f"SELECT ?e ?at WHERE {{ GRAPH {self.meta} {{ ?c {ENTRY} ?e ; {AT} ?at }} }} "
            f"ORDER BY DESC(?at) LIMIT {int(limit)} OFFSET {int(offset)}"
        )
        entries = []
        for position, row in enumerate(page):
            entry = json.loads(row["e"].value)
            entry["id"] = total - offset - position
            entry["at"] = row["at"].value
            entries.append(entry)
        return entries, total


class _ChallengeAuth(AuthBase):
    """HTTP basic or digest, whichever the server's first challenge asks for (Virtuoso wants digest)."""

    def __init__(self, user: str, password: str) -> None:
        self._basic = HTTPBasicAuth(user, password)
        self._digest = HTTPDigestAuth(user, password)
        self._scheme: str | None = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._scheme == "digest":
            return self._digest(request)
        if self._scheme == "basic":
            return self._basic(request)
        request.register_hook("response", self._challenged)
        return request

    def _challenged(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401 or self._scheme is not None:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        self._scheme = "digest" if challenge.lower().lstrip().startswith("digest") else "basic"
        _ = response.content
        response.close()
        retry = response.request.copy()
        retry.hooks["response"] = []
        if self._scheme == "digest":
            # Answer this challenge now; later ones (other threads, stale nonces) requests' digest auth handles.
            self._digest.init_per_thread_state()
            self._digest._thread_local.chal = requests.utils.parse_dict_header(challenge.split(" ", 1)[1])
            header = self._digest.build_digest_header(retry.method or "POST", retry.url or "")
            if header:
                retry.headers["Authorization"] = header
        else:
            retry.prepare_auth(self._basic)
        assert response.connection is not None
        again: requests.Response = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _is_meta(term: object) -> bool:
    return isinstance(term, ox.NamedNode) and term.value.startswith(META.value)


# Virtuoso writes blank nodes as {"type": "bnode", "value": "nodeID://b10001"}, which is no valid label.
_VIRTUOSO_BLANK = re.compile(rb'("type"\s*:\s*"bnode"\s*,\s*"value"\s*:\s*")nodeID://')


def _readable_json(body: bytes, *, hide: bool) -> bytes:
    """SPARQL JSON results CareerKG can parse and serve: with valid blank node labels, and without the
    solutions that bind a term of its META graph (when ``hide``)."""
    if b"nodeID://" in body:
        body = _VIRTUOSO_BLANK.sub(rb"\1nodeID_", body)  # as a byte substitution: results can be large
    if not (hide and META.value.encode() in body):
        return body
    document = json.loads(body)
    if "results" in document:
        document["results"]["bindings"] = [
            row
            for row in document["results"]["bindings"]
            if not any(v.get("type") == "uri" and v.get("value", "").startswith(META.value) for v in row.values())
        ]
    return json.dumps(document).encode()


_BASE_MARK = "BASE <"


def _with_base(text: str, base_iri: str | None) -> str:
    """The text with a BASE line for the protocol's base IRI, when it has relative IRIs to resolve."""
    if not base_iri or not any(t.kind == "iri" and ":" not in t.text for t in lexer.tokens(text)):
        return text
    return f"{_BASE_MARK}{ox.NamedNode(base_iri).value}>\n{text}"


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    return type(exc).__name__


def _has_blank(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


def _quad_data(quads: Iterable[ox.Quad]) -> str:
    """Quads as SPARQL QuadData, each term written by pyoxigraph: default-graph triples bare, the others in one
    GRAPH block per graph (some stores mishandle a blank node shared by several blocks)."""
    by_graph: dict[GraphName, list[str]] = {}
    for quad in quads:
        by_graph.setdefault(quad.graph_name, []).append(f"{quad.subject} {quad.predicate} {quad.object} .")
    parts = []
    for graph, triples in by_graph.items():
        body = "\n".join(triples)
        parts.append(body if isinstance(graph, ox.DefaultGraph) else f"GRAPH {graph} {{\n{body}\n}}")
    return "\n".join(parts)
