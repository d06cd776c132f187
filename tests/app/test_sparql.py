"""/sparql in process: negotiation, errors, auth, limits, SSRF."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import pytest
import rdflib
import requests

from service import queries
from tests.inprocess import Site
from tests.support import WRITE_TOKEN, Listener

# The article's roles: those that cite it (roles from other sources do not change what these tests expect).
ROLES = (
    "SELECT ?role WHERE { ?role a <https://w3id.org/careerkg/ontology#Role> ; "
    "<http://purl.org/dc/terms/source> <https://w3id.org/careerkg/id/source/ai-engineer-vs-ml-engineer> } ORDER BY ?role"
)
EXPECTED_ROLES = ["https://w3id.org/careerkg/id/role/ai-engineer", "https://w3id.org/careerkg/id/role/ml-engineer"]
AI = "https://w3id.org/careerkg/id/role/ai-engineer"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def post_query(server: Site, query: str, accept: str | None = None) -> requests.Response:
    headers = {"Content-Type": "application/sparql-query"}
    if accept:
        headers["Accept"] = accept
    return server.http.post(server.url + "/sparql", data=query.encode(), headers=headers, timeout=30)


def post_update(server: Site, update: str, token: str | None = WRITE_TOKEN) -> requests.Response:
    headers = {"Content-Type": "application/sparql-update"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return server.http.post(server.url + "/sparql", data=update.encode(), headers=headers, timeout=30)


def ask(server: Site, query: str) -> bool:
    return bool(post_query(server, query).json()["boolean"])


# --- real clients -------------------------------------------------------------------


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
def test_select_negotiation_honours_q_values(site: Site, accept: str | None, expected: str) -> None:
    response = post_query(site, ROLES, accept)
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
def test_construct_negotiation(site: Site, accept: str | None, expected: str) -> None:
    response = post_query(site, f"CONSTRUCT {{ <{AI}> ?p ?o }} WHERE {{ <{AI}> ?p ?o }}", accept)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == expected
    fmt = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld"}.get(expected)
    if fmt:
        graph = rdflib.Graph().parse(data=response.text, format=fmt)
        assert (rdflib.URIRef(AI), None, None) in graph


def test_head_answers_as_get_does_without_the_body(site: Site) -> None:
    for params, accept in (
        ({"query": "ASK {}"}, "application/sparql-results+json"),
        ({}, "text/turtle"),
        ({"query": "ASK {}"}, "text/html"),  # a shared query link, opened by a browser: the editor page
    ):
        got = site.http.get(
            site.url + "/sparql", params=params, headers={"Accept": accept, "Accept-Encoding": "identity"}, timeout=30
        )
        head = site.http.head(
            site.url + "/sparql", params=params, headers={"Accept": accept, "Accept-Encoding": "identity"}, timeout=30
        )
        assert got.status_code == head.status_code == 200, head.headers
        assert head.headers["Content-Type"] == got.headers["Content-Type"]
        assert head.content == b""


def test_406_lists_what_is_offered(site: Site) -> None:
    response = post_query(site, ROLES, "image/png, application/pdf;q=0.5")
    assert response.status_code == 406
    body = response.json()
    assert "application/sparql-results+json" in body["offered"]
    assert "text/csv" in body["offered"]
    response = post_query(site, "CONSTRUCT WHERE { ?s ?p ?o }", "text/csv")
    assert response.status_code == 406
    assert "text/turtle" in response.json()["offered"]


def test_format_parameter_overrides_accept(site: Site) -> None:
    response = site.http.get(site.url + "/sparql", params={"query": ROLES, "format": "csv"}, timeout=10)
    assert response.headers["Content-Type"].startswith("text/csv")


def test_service_description_by_accept(site: Site) -> None:
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    for accept, fmt in [("text/turtle", "turtle"), ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")]:
        response = site.http.get(site.url + "/sparql", headers={"Accept": accept}, timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(accept)
        graph = rdflib.Graph().parse(data=response.text, format=fmt)
        service = rdflib.URIRef(site.url + "/sparql")
        assert (service, rdflib.RDF.type, sd.Service) in graph
        assert (service, sd.supportedLanguage, sd.SPARQL11Query) in graph
        assert (service, sd.resultFormat, rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_CSV")) in graph


# --- errors -------------------------------------------------------------------------


def test_syntax_error_gives_position_not_traceback(site: Site) -> None:
    response = site.http.get(site.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p }"}, timeout=10)
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "SPARQL syntax error"
    assert "1:" in body["detail"]
    assert "Traceback" not in response.text


def test_other_methods_get_405_with_allow(site: Site) -> None:
    response = site.http.delete(site.url + "/sparql", timeout=10)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.headers["Content-Type"] == "application/problem+json"


def test_body_over_the_limit_gets_413(site_factory: Callable[..., Site]) -> None:
    server = site_factory(max_body=1000)
    response = post_query(server, "ASK { " + "?s ?p ?o . " * 200 + "}")
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert server.http.get(server.url + "/health", timeout=5).status_code == 200


# --- updates and auth ---------------------------------------------------------------


def test_update_needs_a_valid_token_and_changes_nothing_without(site: Site) -> None:
    triple = "<http://example.org/auth-test> <http://example.org/p> 'x'"
    for token, status in [(None, 401), ("wrong-token", 403)]:
        response = post_update(site, f"INSERT DATA {{ {triple} }}", token)
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/problem+json"
        assert not ask(site, f"ASK {{ {triple} }}")
    assert post_update(site, f"INSERT DATA {{ {triple} }}").status_code == 204
    assert ask(site, f"ASK {{ {triple} }}")
    assert post_update(site, f"DELETE DATA {{ {triple} }}").status_code == 204
    assert not ask(site, f"ASK {{ {triple} }}")


def test_writes_disabled_without_configured_token(site_factory: Callable[..., Site]) -> None:
    server = site_factory(write_token=None)
    response = post_update(server, "CLEAR ALL", token="anything")
    assert response.status_code == 403
    assert "disabled" in response.json()["detail"]
    assert ask(server, f"ASK {{ <{AI}> ?p ?o }}")


def test_update_by_form_and_base_iri(site: Site) -> None:
    response = site.http.post(
        site.url + "/sparql",
        data={"update": "INSERT DATA { GRAPH <http://example.org/base-test> { <http://example.org/s> <p> 1 } }"},
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 204
    # Relative IRIs resolve against the endpoint.
    assert ask(site, f"ASK {{ GRAPH ?g {{ ?s <{site.url}/p> 1 }} }}")
    post_update(site, "DROP GRAPH <http://example.org/base-test>")


# --- protection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
        "select * where { service silent <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
        "LOAD <http://127.0.0.1:{port}/data.ttl>",
        "LOAD SILENT <http://127.0.0.1:{port}/data.ttl> INTO GRAPH <http://example.org/g>",
    ],
)
def test_service_and_load_reach_nothing(site: Site, operation: str) -> None:
    listener = Listener()
    try:
        text = operation.replace("{port}", str(listener.port))
        response = post_update(site, text) if text.upper().startswith("LOAD") else post_query(site, text)
        assert response.status_code == 403
        assert response.headers["Content-Type"] == "application/problem+json"
        time.sleep(0.5)
        assert listener.connections == 0
    finally:
        listener.close()


def test_keywords_inside_strings_are_not_refused(site: Site) -> None:
    response = post_query(site, 'SELECT * WHERE { ?s ?p "SERVICE <http://127.0.0.1:1/>" } LIMIT 1')
    assert response.status_code == 200


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_shared_query_link_opens_the_editor_in_a_browser(site: Site) -> None:
    page = site.http.get(site.url + "/sparql", params={"query": ROLES}, headers={"Accept": BROWSER}, timeout=30)
    assert page.headers["Content-Type"].startswith("text/html")
    # The editor (YASGUI) opens the address's query itself; the page carries what it completes and links from.
    data = json.loads(re.search(r'<script id="editor-data" type="application/json">(.*?)</script>', page.text).group(1))
    assert data["endpoint"] == site.url + "/sparql"
    assert data["prefixes"]["role"] == "https://w3id.org/careerkg/id/role/"
    assert "https://w3id.org/careerkg/ontology#essentialSkill" in data["properties"]
    assert "https://w3id.org/careerkg/ontology#Role" in data["classes"]
    assert [e["title"] for e in data["examples"]] == [e.title for e in queries.examples()]
    assert 'src="/static/vendor/yasgui/yasgui.min.js"' in page.text
    # Programs get answers: a download link (format=) opened in the browser, and any client not preferring HTML.
    download = site.http.get(
        site.url + "/sparql", params={"query": ROLES, "format": "csv"}, headers={"Accept": BROWSER}, timeout=30
    )
    assert download.headers["Content-Type"].startswith("text/csv")
    answer = site.http.get(site.url + "/sparql", params={"query": ROLES}, headers={"Accept": "*/*"}, timeout=30)
    assert answer.headers["Content-Type"].startswith("application/sparql-results+json")
