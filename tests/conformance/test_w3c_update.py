"""The W3C SPARQL 1.1 Update suites (evaluation and syntax), run over HTTP against a real server.

An evaluation test empties the store, loads its default graph and named graphs through the Graph Store
Protocol, sends its update to /sparql, and compares the dataset read back through the Graph Store Protocol
with the expected one (each graph canonicalised, so blank nodes match up to renaming; the set of non-empty
named graphs must be the expected set). A syntax test sends its update: a positive one must not be refused
as a syntax error, a negative one must be (400 with a problem document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import requests
from rdflib.collection import Collection

from tests.conformance.test_w3c_query import DATA_TYPES, DAWGT, MF, _manifests, _path, write
from tests.support import W3C, WRITE_TOKEN, Server, strict_xfails

UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

# Tests this server fails, each with the reason. They run as strict xfails.
KNOWN_FAILURES: dict[str, str] = {
    "update-silent/load-silent": "LOAD is refused (403) unless an operator allows network targets: no SSRF",
    "update-silent/load-into-silent": "LOAD is refused (403) unless an operator allows network targets: no SSRF",
}


@dataclass
class UpdateTest:
    """One entry of a W3C update manifest."""

    id: str
    kind: str
    request: Path
    data: Path | None = None
    graph_data: dict[str, Path] = field(default_factory=dict)
    result_data: Path | None = None
    result_graphs: dict[str, Path] = field(default_factory=dict)


def _graphs(g: rdflib.Graph, node: rdflib.term.Node) -> dict[str, Path]:
    out = {}
    for item in g.objects(node, UT.graphData):
        out[str(g.value(item, rdflib.RDFS.label))] = _path(g.value(item, UT.graph))
    return out


def load_tests() -> dict[str, UpdateTest]:
    tests: dict[str, UpdateTest] = {}
    for path, g, root in _manifests(W3C / "manifest-sparql11-update.ttl"):
        entries = g.value(root, MF.entries)
        if entries is None:
            continue
        for test in Collection(g, entries):
            if (test, DAWGT.approval, DAWGT.Withdrawn) in g:
                continue
            kind = str(g.value(test, rdflib.RDF.type)).rsplit("#", 1)[-1]
            test_id = f"{path.parent.name}/{str(test).rsplit('#', 1)[-1]}"
            action = g.value(test, MF.action)
            if kind != "UpdateEvaluationTest":
                tests[test_id] = UpdateTest(test_id, kind, _path(action))
                continue
            result = g.value(test, MF.result)
            data, expected = g.value(action, UT.data), g.value(result, UT.data) if result is not None else None
            tests[test_id] = UpdateTest(
                test_id,
                kind,
                _path(g.value(action, UT.request)),
                _path(data) if data is not None else None,
                _graphs(g, action),
                _path(expected) if expected is not None else None,
                _graphs(g, result) if result is not None else {},
            )
    return tests


TESTS = load_tests()


def send_update(server: Server, test: UpdateTest) -> requests.Response:
    # The update's relative IRIs resolve against its own file, as the suite assumes.
    text = f"BASE <{test.request.as_uri()}>\n" + test.request.read_text(encoding="utf-8")
    return requests.post(
        server.url + "/sparql",
        data=text.encode("utf-8"),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=60,
    )


def _body(path: Path) -> bytes:
    body = path.read_bytes()
    return f"@base <{path.as_uri()}> .\n".encode() + body if path.suffix == ".ttl" else body


def _canonical(data: bytes, fmt: ox.RdfFormat, base: str) -> set[ox.Quad]:
    dataset = ox.Dataset(
        ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in ox.parse(data, format=fmt, base_iri=base)
    )
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set(dataset)


def read_graph(server: Server, graph: str | None) -> set[ox.Quad]:
    """One graph's content (the default graph for None), canonicalised."""
    response = requests.get(
        server.url + "/graph-store" + ("?default" if graph is None else ""),
        params={"graph": graph} if graph is not None else None,
        headers={"Accept": "application/n-triples"},
        timeout=60,
    )
    if response.status_code == 404:
        return set()
    assert response.status_code == 200, response.text[:300]
    return _canonical(response.content, ox.RdfFormat.N_TRIPLES, server.url)


def expected_graph(path: Path | None) -> set[ox.Quad]:
    if path is None:
        return set()
    return _canonical(_body(path), _FORMATS[path.suffix], path.as_uri())


_FORMATS = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES, ".rdf": ox.RdfFormat.RDF_XML}


def named_graphs(server: Server) -> set[str]:
    response = requests.post(
        server.url + "/sparql",
        data=b"SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
        headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text[:300]
    return {row["g"]["value"] for row in response.json()["results"]["bindings"]}


NEGATIVE = {"NegativeUpdateSyntaxTest11", "NegativeSyntaxTest11"}  # the update manifests use both names
POSITIVE = {"PositiveUpdateSyntaxTest11", "PositiveSyntaxTest11"}


def check(server: Server, test: UpdateTest) -> None:
    server.w3c_data = None  # type: ignore[attr-defined]  # the query suite must load its data again
    if test.kind in NEGATIVE:
        response = send_update(server, test)
        assert response.status_code == 400, response.text[:500]
        assert response.headers["Content-Type"] == "application/problem+json"
        return
    if test.kind in POSITIVE:
        response = send_update(server, test)
        assert response.status_code != 400, response.text[:500]
        assert response.status_code < 500, response.text[:500]
        return
    write(server, "POST", "/sparql", b"DROP ALL", "application/sparql-update")
    if test.data is not None:
        write(server, "POST", "/graph-store?default", _body(test.data), DATA_TYPES[test.data.suffix])
    for name, path in test.graph_data.items():
        write(server, "PUT", f"/graph-store?graph={name}", _body(path), DATA_TYPES[path.suffix])
    response = send_update(server, test)
    assert response.status_code == 204, response.text[:500]
    assert read_graph(server, None) == expected_graph(test.result_data), test.id
    expected = {name: expected_graph(path) for name, path in test.result_graphs.items()}
    assert named_graphs(server) == {name for name, quads in expected.items() if quads}, test.id  # empty ones vanish
    for name, quads in expected.items():
        assert read_graph(server, name) == quads, f"{test.id}: graph {name}"


@pytest.mark.parametrize("test_id", strict_xfails(TESTS, KNOWN_FAILURES))
def test_w3c_update(writable_server: Server, test_id: str) -> None:
    check(writable_server, TESTS[test_id])


def test_the_suite_is_all_here() -> None:
    """Every update test of the manifests is collected: 94 evaluation tests and the syntax tests."""
    kinds = [t.kind for t in TESTS.values()]
    assert kinds.count("UpdateEvaluationTest") == 94
    assert sum(kind in POSITIVE | NEGATIVE for kind in kinds) == len(kinds) - 94 > 50
    assert set(KNOWN_FAILURES) <= set(TESTS)
