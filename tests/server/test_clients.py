"""Real SPARQL clients against a real server: SPARQLWrapper and rdflib's SPARQLStore."""

from __future__ import annotations

import csv
import io

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, N3, TSV, TURTLE, XML, SPARQLWrapper

from tests.app.test_sparql import AI, EXPECTED_ROLES, ROLES
from tests.support import Server


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_in_every_format(server: Server, method: str) -> None:
    client = SPARQLWrapper(server.url + "/sparql")
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


def test_sparqlwrapper_ask_construct_describe(server: Server) -> None:
    client = SPARQLWrapper(server.url + "/sparql")
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


def test_rdflib_sparqlstore(server: Server) -> None:
    graph = rdflib.Graph(store=SPARQLStore(server.url + "/sparql", returnFormat="json"))
    rows = list(graph.query(ROLES))
    assert [str(r[0]) for r in rows] == EXPECTED_ROLES  # type: ignore[index]
    label = graph.value(rdflib.URIRef(AI), rdflib.RDFS.label)
    assert label is not None
    assert (rdflib.URIRef(AI), rdflib.RDF.type, rdflib.URIRef("https://w3id.org/careerkg/ontology#Role")) in graph
