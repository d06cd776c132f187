"""The Graph Store Protocol in process: CareerKG's own rules on top of the protocol (tokens, errors, validation)."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox
import rdflib

from service.blueprints.graph_store import IN_MEMORY
from service.store import Store
from tests.inprocess import Site
from tests.support import WRITE_TOKEN

SYNTAX = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml"}


def parse(text: str, content_type: str, base: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=text, format=SYNTAX[content_type.split(";", maxsplit=1)[0].strip()], publicID=base)


def test_writes_need_the_token(site: Site) -> None:
    url = site.url + "/graph-store?graph=http://example.org/token-test"
    for headers, status in [({}, 401), ({"Authorization": "Bearer nope"}, 403)]:
        response = site.http.put(
            url, data=b"<http://e/a> <http://e/b> 1 .", headers={"Content-Type": "text/turtle", **headers}, timeout=10
        )
        assert response.status_code == status
    assert site.http.get(url, timeout=10).status_code == 404


def test_syntax_error_names_the_line_and_changes_nothing(site: Site) -> None:
    url = site.url + "/graph-store?graph=http://example.org/syntax-test"
    auth = {"Authorization": f"Bearer {WRITE_TOKEN}", "Content-Type": "text/turtle"}
    assert site.http.put(url, data=b"<http://e/a> <http://e/b> 1 .", headers=auth, timeout=10).status_code == 201
    response = site.http.put(
        url, data=b"<http://e/a> <http://e/b> 2 .\n<http://e/a> <http://e/b> .\n", headers=auth, timeout=10
    )
    assert response.status_code == 400
    assert "request body:2:" in response.json()["detail"]
    graph = parse(site.http.get(url, timeout=10).text, "text/turtle", url)
    assert len(graph) == 1


def test_unsupported_body_type_is_415(site: Site) -> None:
    response = site.http.post(
        site.url + "/graph-store?default",
        data=b"a,b",
        headers={"Authorization": f"Bearer {WRITE_TOKEN}", "Content-Type": "text/csv"},
        timeout=10,
    )
    assert response.status_code == 415
    assert "text/turtle" in response.json()["detail"]


def test_violating_write_is_refused_with_the_report(site_factory: Callable[..., Site]) -> None:
    server = site_factory(write_token=WRITE_TOKEN)
    before = server.http.get(
        server.url + "/graph-store?default", headers={"Accept": "application/n-triples"}, timeout=10
    ).text
    bad = b"<https://w3id.org/careerkg/id/tool/example-tool> a <https://w3id.org/careerkg/ontology#Tool> ."
    response = server.http.post(
        server.url + "/graph-store?default",
        data=bad,
        headers={"Authorization": f"Bearer {WRITE_TOKEN}", "Content-Type": "text/turtle"},
        timeout=30,
    )
    assert response.status_code == 422
    body = response.json()
    assert {r["focusNode"] for r in body["results"]} == {"https://w3id.org/careerkg/id/tool/example-tool"}
    assert all(r["message"] for r in body["results"])
    after = server.http.get(
        server.url + "/graph-store?default", headers={"Accept": "application/n-triples"}, timeout=10
    ).text
    assert sorted(after.splitlines()) == sorted(before.splitlines())


def test_both_graph_and_default_is_400(site: Site) -> None:
    response = site.http.get(site.url + "/graph-store?default&graph=http://e/g", timeout=10)
    assert response.status_code == 400


def test_get_negotiates(site: Site) -> None:
    url = site.url + "/graph-store?graph=http://example.org/neg-test"
    auth = {"Authorization": f"Bearer {WRITE_TOKEN}", "Content-Type": "application/n-triples"}
    site.http.put(url, data=b'<http://e/a> <http://e/b> "x" .\n', headers=auth, timeout=10)
    for accept in ("application/n-triples", "application/ld+json", "application/rdf+xml"):
        response = site.http.get(url, headers={"Accept": accept}, timeout=10)
        assert response.headers["Content-Type"].startswith(accept)
    assert site.http.get(url, headers={"Accept": "text/csv"}, timeout=10).status_code == 406


def test_a_large_graph_is_sent_whole_from_a_temporary_file(
    site_factory: Callable[..., Site], filled_store: Store
) -> None:
    """The default graph (several MB as text) is written to a temporary file, not held in memory, and sent from it
    with its length: what arrives is the graph, statement for statement."""
    served = {(q.subject, q.predicate, q.object) for q in filled_store.quads() if q.graph_name == ox.DefaultGraph()}
    site = site_factory()
    for media_type, rdf in [("text/turtle", ox.RdfFormat.TURTLE), ("application/n-triples", ox.RdfFormat.N_TRIPLES)]:
        answer = site.http.get(site.url + "/graph-store?default", headers={"Accept": media_type}, timeout=60)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith(media_type)
        assert int(answer.headers["Content-Length"]) == len(answer.content) > IN_MEMORY
        got = {(t.subject, t.predicate, t.object) for t in ox.parse(answer.content, format=rdf)}
        assert got == served
