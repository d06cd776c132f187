"""CareerKG on a real Virtuoso server (Debian's virtuoso-opensource): the dataset-graph mode that stores whose
default graph is the union of all their graphs need, several datasets on one server, the CLI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import requests

from tests.remote.test_remote import AUTH, ENV, new_tool
from tests.support import Server, Virtuoso, run_cli


def count(server_url: str, query: str) -> int:
    response = requests.get(server_url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_virtuoso_serves_exactly_careerkgs_dataset(virtuoso: Virtuoso, server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Virtuoso's default graph is the union of its graphs, system graphs included; CareerKG's is not."""
    server: Server = server_factory(*virtuoso.store_args(), env=ENV)
    embedded: Server = server_factory("--store", "memory")
    every_graph = requests.get(  # Virtuoso's own default graph, once CareerKG's dataset is in it
        f"http://127.0.0.1:{virtuoso.port}/sparql",
        params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "format": "application/sparql-results+json"},
        timeout=30,
    ).json()["results"]["bindings"][0]["n"]["value"]
    everything = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    assert count(server.url, everything) == count(embedded.url, everything)  # the same dataset, nothing more
    assert count(server.url, everything) < int(every_graph)  # Virtuoso itself holds more (its system graphs)
    assert count(server.url, "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }") == 0

    # A named graph written through CareerKG is part of its dataset, and only that one (a name no other test on
    # this server uses: graphs that other datasets made before this one's first contact stay theirs).
    graph = f"http://example.org/{uuid.uuid4().hex}"
    turtle = "<http://example.org/x> <http://example.org/y> 'z' ."
    put = requests.put(
        server.url + "/graph-store",
        params={"graph": graph},
        data=turtle,
        headers={**AUTH, "Content-Type": "text/turtle"},
        timeout=30,
    )
    assert put.status_code == 201, put.text
    named = requests.get(
        server.url + "/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"}, timeout=30
    ).json()["results"]["bindings"]
    assert [row["g"]["value"] for row in named] == [graph]
    assert count(server.url, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }") == count(
        embedded.url, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    )  # the default graph did not take in the named one, as Virtuoso's own default graph would


def test_two_datasets_share_one_virtuoso_independently(virtuoso: Virtuoso, server_factory) -> None:  # type: ignore[no-untyped-def]
    first: Server = server_factory(*virtuoso.store_args(), env=ENV)
    second: Server = server_factory(*virtuoso.store_args(), env=ENV)
    created = requests.put(first.url + "/api/v1/tools/only-here", json=new_tool("Only Here"), headers=AUTH, timeout=30)
    assert created.status_code == 201, created.text
    assert requests.get(first.url + "/api/v1/tools/only-here", timeout=10).status_code == 200
    assert requests.get(second.url + "/api/v1/tools/only-here", timeout=10).status_code == 404
    logged = [c["operation"] for c in requests.get(second.url + "/api/v1/changes", timeout=10).json()["items"]]
    assert "rest PUT tool/only-here" not in logged  # each dataset has its own change log
    assert "rest PUT tool/only-here" in [
        c["operation"] for c in requests.get(first.url + "/api/v1/changes", timeout=10).json()["items"]
    ]


def test_a_short_query_timeout_does_not_cut_the_fill(virtuoso: Virtuoso, server_factory) -> None:  # type: ignore[no-untyped-def]
    """Filling Virtuoso sends the whole dataset in one update, which takes longer than a 1 s query timeout allows
    a query; the update waits for its answer, so the fill completes at start-up instead of timing out."""
    server: Server = server_factory(*virtuoso.store_args(), env={**ENV, "CAREERKG_QUERY_TIMEOUT": "1"})
    embedded: Server = server_factory("--store", "memory")
    assert "did not answer in time" not in server.log.read_text()
    everything = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    assert count(server.url, everything) == count(embedded.url, everything)


def test_the_cli_works_on_a_virtuoso_dataset(virtuoso: Virtuoso, tmp_path: Path) -> None:
    args = virtuoso.store_args()
    roles = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/careerkg/ontology#Role> }"
    # The first use fills the dataset into Virtuoso over HTTP: 78 s in one CI run, over 120 s in the next
    result = run_cli("query", roles, *args, timeout=600)
    assert result.code == 0, result.err
    embedded = run_cli("query", roles, "--store", "memory")
    assert json.loads(result.out)["results"]["bindings"] == json.loads(embedded.out)["results"]["bindings"]
    exported = run_cli("export", "--format", "nq", *args)
    assert exported.code == 0, exported.err
    assert exported.out.count("\n") == run_cli("export", "--format", "nq", "--store", "memory").out.count("\n")
    assert "virtrdf" not in exported.out  # none of Virtuoso's own graphs
