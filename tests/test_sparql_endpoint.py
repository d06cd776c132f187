"""/sparql against a real server: real clients, negotiation, auth, limits, timeouts, SSRF."""

from __future__ import annotations

import csv
import io
import os
import socket
import threading
import time
from pathlib import Path

import pytest
import rdflib
import requests
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, N3, TSV, TURTLE, XML, SPARQLWrapper

from tests.conftest import STORES, WRITE_TOKEN, Server, store_args

# The article's roles: those that cite it (roles from other sources do not change what these tests expect).
ROLES = (
    "SELECT ?role WHERE { ?role a <https://w3id.org/careerkg/ontology#Role> ; "
    "<http://purl.org/dc/terms/source> <https://w3id.org/careerkg/id/source/ai-engineer-vs-ml-engineer> } ORDER BY ?role"
)
EXPECTED_ROLES = ["https://w3id.org/careerkg/id/role/ai-engineer", "https://w3id.org/careerkg/id/role/ml-engineer"]
AI = "https://w3id.org/careerkg/id/role/ai-engineer"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def post_query(server: Server, query: str, accept: str | None = None) -> requests.Response:
    headers = {"Content-Type": "application/sparql-query"}
    if accept:
        headers["Accept"] = accept
    return requests.post(server.url + "/sparql", data=query.encode(), headers=headers, timeout=30)


def post_update(server: Server, update: str, token: str | None = WRITE_TOKEN) -> requests.Response:
    headers = {"Content-Type": "application/sparql-update"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(server.url + "/sparql", data=update.encode(), headers=headers, timeout=30)


def ask(server: Server, query: str) -> bool:
    return bool(post_query(server, query).json()["boolean"])


# --- real clients -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_in_every_format(writable_server: Server, method: str) -> None:
    client = SPARQLWrapper(writable_server.url + "/sparql")
    client.setMethod(method)
    client.setQuery(ROLES)
    client.setReturnFormat(JSON)
    rows = client.query().convert()["results"]["bindings"]  # type: ignore[index,call-overload]
    assert [r["role"]["value"] for r in rows] == EXPECTED_ROLES

    client.setReturnFormat(XML)
    doc = client.query().convert()
    uris = [n.firstChild.data for n in doc.getElementsByTagName("uri")]  # type: ignore[union-attr]
    assert uris == EXPECTED_ROLES

    client.setReturnFormat(CSV)
    text = client.query().convert().decode()  # type: ignore[union-attr]
    assert [row[0] for row in csv.reader(io.StringIO(text))][1:] == EXPECTED_ROLES

    client.setReturnFormat(TSV)
    text = client.query().convert().decode()  # type: ignore[union-attr]
    assert text.splitlines()[1:] == [f"<{r}>" for r in EXPECTED_ROLES]


def test_sparqlwrapper_ask_construct_describe(writable_server: Server) -> None:
    client = SPARQLWrapper(writable_server.url + "/sparql")
    client.setQuery(f"ASK {{ <{AI}> ?p ?o }}")
    client.setReturnFormat(JSON)
    assert client.query().convert()["boolean"] is True  # type: ignore[index,call-overload]
    client.setReturnFormat(XML)
    doc = client.query().convert()
    assert doc.getElementsByTagName("boolean")[0].firstChild.data == "true"  # type: ignore[union-attr]

    for fmt in (TURTLE, N3, XML, "json-ld"):
        client.setQuery(f"CONSTRUCT {{ <{AI}> ?p ?o }} WHERE {{ <{AI}> ?p ?o }}")
        client.setReturnFormat(fmt)
        graph = client.queryAndConvert()
        if not isinstance(graph, rdflib.Graph):
            graph = rdflib.Graph().parse(data=graph, format="turtle" if fmt in (TURTLE, N3) else "json-ld")  # type: ignore[arg-type]
        assert (rdflib.URIRef(AI), rdflib.RDFS.label, rdflib.Literal("AI Engineer", lang="en")) in graph, fmt
    client.setQuery(f"DESCRIBE <{AI}>")
    client.setReturnFormat(TURTLE)
    graph = rdflib.Graph().parse(data=client.query().convert(), format="turtle")  # type: ignore[arg-type]
    assert len(graph) > 20


def test_rdflib_sparqlstore(writable_server: Server) -> None:
    graph = rdflib.Graph(store=SPARQLStore(writable_server.url + "/sparql", returnFormat="json"))
    rows = list(graph.query(ROLES))
    assert [str(r[0]) for r in rows] == EXPECTED_ROLES  # type: ignore[index]
    label = graph.value(rdflib.URIRef(AI), rdflib.RDFS.label)
    assert label is not None
    assert (rdflib.URIRef(AI), rdflib.RDF.type, rdflib.URIRef("https://w3id.org/careerkg/ontology#Role")) in graph


# --- negotiation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("application/json", "application/sparql-results+json"),
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
        ("text/html, text/tab-separated-values;q=0.1", "text/tab-separated-values"),
        ("text/*;q=0.9, application/sparql-results+json;q=0.1", "text/csv"),
    ],
)
def test_select_negotiation_honours_q_values(writable_server: Server, accept: str | None, expected: str) -> None:
    response = post_query(writable_server, ROLES, accept)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == expected
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/turtle"),
        ("application/n-triples", "application/n-triples"),
        ("application/ld+json;q=1, text/turtle;q=0.5", "application/ld+json"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/trig", "application/trig"),
        ("application/n-quads", "application/n-quads"),
    ],
)
def test_construct_negotiation(writable_server: Server, accept: str | None, expected: str) -> None:
    response = post_query(writable_server, f"CONSTRUCT {{ <{AI}> ?p ?o }} WHERE {{ <{AI}> ?p ?o }}", accept)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == expected
    fmt = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld"}.get(expected)
    if fmt:
        graph = rdflib.Graph().parse(data=response.text, format=fmt)
        assert (rdflib.URIRef(AI), None, None) in graph


def test_406_lists_what_is_offered(writable_server: Server) -> None:
    response = post_query(writable_server, ROLES, "image/png, application/pdf;q=0.5")
    assert response.status_code == 406
    body = response.json()
    assert "application/sparql-results+json" in body["offered"]
    assert "text/csv" in body["offered"]
    response = post_query(writable_server, "CONSTRUCT WHERE { ?s ?p ?o }", "text/csv")
    assert response.status_code == 406
    assert "text/turtle" in response.json()["offered"]


def test_format_parameter_overrides_accept(writable_server: Server) -> None:
    response = requests.get(writable_server.url + "/sparql", params={"query": ROLES, "format": "csv"}, timeout=10)
    assert response.headers["Content-Type"].startswith("text/csv")


def test_service_description_by_accept(writable_server: Server) -> None:
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    for accept, fmt in [("text/turtle", "turtle"), ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")]:
        response = requests.get(writable_server.url + "/sparql", headers={"Accept": accept}, timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(accept)
        graph = rdflib.Graph().parse(data=response.text, format=fmt)
        service = rdflib.URIRef(writable_server.url + "/sparql")
        assert (service, rdflib.RDF.type, sd.Service) in graph
        assert (service, sd.supportedLanguage, sd.SPARQL11Query) in graph
        assert (service, sd.resultFormat, rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_CSV")) in graph


# --- errors -------------------------------------------------------------------------


def test_syntax_error_gives_position_not_traceback(writable_server: Server) -> None:
    response = requests.get(writable_server.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p }"}, timeout=10)
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "SPARQL syntax error"
    assert "1:" in body["detail"]
    assert "Traceback" not in response.text


def test_other_methods_get_405_with_allow(writable_server: Server) -> None:
    response = requests.delete(writable_server.url + "/sparql", timeout=10)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.headers["Content-Type"] == "application/problem+json"


def test_body_over_the_limit_gets_413(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = server_factory("--store", "memory", env={"CAREERKG_MAX_BODY": "1000"})
    response = post_query(server, "ASK { " + "?s ?p ?o . " * 200 + "}")
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


# --- updates and auth ---------------------------------------------------------------


def test_update_needs_a_valid_token_and_changes_nothing_without(writable_server: Server) -> None:
    triple = "<http://example.org/auth-test> <http://example.org/p> 'x'"
    for token, status in [(None, 401), ("wrong-token", 403)]:
        response = post_update(writable_server, f"INSERT DATA {{ {triple} }}", token)
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/problem+json"
        assert not ask(writable_server, f"ASK {{ {triple} }}")
    assert post_update(writable_server, f"INSERT DATA {{ {triple} }}").status_code == 204
    assert ask(writable_server, f"ASK {{ {triple} }}")
    assert post_update(writable_server, f"DELETE DATA {{ {triple} }}").status_code == 204
    assert not ask(writable_server, f"ASK {{ {triple} }}")


def test_writes_disabled_without_configured_token(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = server_factory("--store", "memory", env={"CAREERKG_WRITE_TOKEN": ""})
    response = post_update(server, "CLEAR ALL", token="anything")
    assert response.status_code == 403
    assert "disabled" in response.json()["detail"]
    assert ask(server, f"ASK {{ <{AI}> ?p ?o }}")


def test_update_by_form_and_base_iri(writable_server: Server) -> None:
    response = requests.post(
        writable_server.url + "/sparql",
        data={"update": "INSERT DATA { GRAPH <http://example.org/base-test> { <http://example.org/s> <p> 1 } }"},
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 204
    # Relative IRIs resolve against the endpoint.
    assert ask(writable_server, f"ASK {{ GRAPH ?g {{ ?s <{writable_server.url}/p> 1 }} }}")
    post_update(writable_server, "DROP GRAPH <http://example.org/base-test>")


# --- protection ---------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its live children, from /proc."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    if children_file.exists():
        pids += [int(c) for c in children_file.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def worker_pid(server: Server) -> int:
    """The gunicorn worker (the one process serving requests) under the server's master."""
    children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
    return int(children[0])


@pytest.mark.parametrize("store_kind", STORES)
def test_runaway_query_is_stopped_and_its_cpu_freed(store_kind: str, request, server_factory, oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    # On a remote store the worker waiting for the store is killed and its connection closed; what the
    # store then does is up to it (docs/deployment.md: set the store's own timeout too).
    server = server_factory(*store_args(store_kind, request, oxigraph_factory), env={"CAREERKG_QUERY_TIMEOUT": "2"})
    results: dict[str, object] = {}

    def runaway() -> None:
        started = time.monotonic()
        response = post_query(server, RUNAWAY)
        results["status"] = response.status_code
        results["body"] = response.json()
        results["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)
    # Meanwhile the server keeps answering.
    started = time.monotonic()
    assert ask(server, f"ASK {{ <{AI}> ?p ?o }}")
    assert time.monotonic() - started < 1.5
    thread.join(timeout=30)
    assert results["status"] == 503
    assert results["body"]["title"] == "Query timeout"  # type: ignore[index]
    assert 1.5 < float(results["seconds"]) < 10  # type: ignore[arg-type]
    # After the timeout nothing keeps burning CPU: measure the server's process tree over a second.
    worker = worker_pid(server)
    before = process_cpu_seconds(worker)
    time.sleep(1.0)
    assert process_cpu_seconds(worker) - before < 0.3
    assert ask(server, f"ASK {{ <{AI}> ?p ?o }}")
    metrics = requests.get(server.url + "/metrics", timeout=5).text
    assert "careerkg_query_timeouts_total 1.0" in metrics


class Listener:
    """A local TCP listener that records every connection attempt."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join()
        self.sock.close()


@pytest.mark.parametrize(
    "operation",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
        "select * where { service silent <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
        "LOAD <http://127.0.0.1:{port}/data.ttl>",
        "LOAD SILENT <http://127.0.0.1:{port}/data.ttl> INTO GRAPH <http://example.org/g>",
    ],
)
def test_service_and_load_reach_nothing(writable_server: Server, operation: str) -> None:
    listener = Listener()
    try:
        text = operation.replace("{port}", str(listener.port))
        if text.upper().startswith("LOAD"):
            response = post_update(writable_server, text)
        else:
            response = post_query(writable_server, text)
        assert response.status_code == 403
        assert response.headers["Content-Type"] == "application/problem+json"
        time.sleep(0.5)
        assert listener.connections == 0
    finally:
        listener.close()


def test_keywords_inside_strings_are_not_refused(writable_server: Server) -> None:
    response = post_query(writable_server, 'SELECT * WHERE { ?s ?p "SERVICE <http://127.0.0.1:1/>" } LIMIT 1')
    assert response.status_code == 200


def test_large_results_stream(writable_server: Server) -> None:
    # Virtuoso takes longer than this server's 10 s query timeout to write 200,000 rows as JSON here.
    rows = 20000 if writable_server.store_kind == "virtuoso" else 200000
    query = f"SELECT * WHERE {{ ?a ?b ?c . ?d ?e ?f }} LIMIT {rows}"
    with requests.post(
        writable_server.url + "/sparql",
        data=query.encode(),
        headers={"Content-Type": "application/sparql-query", "Accept": "text/tab-separated-values"},
        stream=True,
        timeout=60,
    ) as response:
        assert response.status_code == 200
        assert "Content-Length" not in response.headers  # streamed, not buffered
        lines = sum(chunk.count(b"\n") for chunk in response.iter_content(65536))
    assert lines == rows + 1
