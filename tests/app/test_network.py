"""SERVICE and LOAD reach no listener, however they are written, with and without an allow-list (issue #20).

A listener on 127.0.0.1 counts every connection attempt. Each trick names it in a different way; none may reach
it. With an allow-list naming another listener, a plain SERVICE to that one does connect (the allowed path
works), while the tricks still reach nothing. The remote tier runs the same corpus with a remote store behind
the app (tests/remote/test_remote_network.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.inprocess import Site
from tests.support import WRITE_TOKEN, Listener

# {port}: the listener that must see nothing; {allowed}: the allow-listed one.
TRICKS = [
    ("plain", "q", "SELECT * WHERE { SERVICE <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }"),
    ("mixed-case", "q", "sElEcT * wHeRe { sErViCe <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }"),
    ("silent-optional", "q", "SELECT * WHERE { OPTIONAL { SERVICE SILENT <http://127.0.0.1:{port}/s> { ?s ?p ?o } } }"),
    (
        "escape-in-iri",
        "q",
        "SELECT * WHERE { BIND(<http://a/\\u0041(#)> AS ?x) SERVICE <http://127.0.0.1:{port}/x> { ?s ?p ?o } }",
    ),
    ("escape-in-target", "q", "SELECT * WHERE { SERVICE <http\\u003A//127.0.0.1:{port}/x> { ?s ?p ?o } }"),
    ("long-escape", "q", "SELECT * WHERE { SERVICE <\\U00000068ttp://127.0.0.1:{port}/x> { ?s ?p ?o } }"),
    ("prefixed", "q", "PREFIX t: <http://127.0.0.1:{port}/> SELECT * WHERE { SERVICE t:sparql { ?s ?p ?o } }"),
    ("base-relative", "q", "BASE <http://127.0.0.1:{port}/> SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }"),
    ("comment-between", "q", "SELECT * WHERE { SERVICE # not here\n <http://127.0.0.1:{port}/x> { ?s ?p ?o } }"),
    (
        "local-name-glued",
        "q",
        "PREFIX ex: <http://e/> SELECT * WHERE { ?s ?p ex:o . ex:o<x>?o.SERVICE<http://127.0.0.1:{port}/x>{?a ?b ?c} }",
    ),
    ("upper-scheme", "q", "SELECT * WHERE { SERVICE <HTTP://127.0.0.1:{port}/x> { ?s ?p ?o } }"),
    ("localhost", "q", "SELECT * WHERE { SERVICE <http://localhost:{port}/x> { ?s ?p ?o } }"),
    ("decimal-ip", "q", "SELECT * WHERE { SERVICE <http://2130706433:{port}/x> { ?s ?p ?o } }"),
    ("userinfo", "q", "SELECT * WHERE { SERVICE <http://127.0.0.1:{allowed}@127.0.0.1:{port}/x> { ?s ?p ?o } }"),
    ("variable", "q", "SELECT * WHERE { BIND(<http://127.0.0.1:{port}/x> AS ?e) SERVICE ?e { ?s ?p ?o } }"),
    ("in-subquery", "q", "SELECT * WHERE { { SELECT * WHERE { SERVICE <http://127.0.0.1:{port}/x> { ?s ?p ?o } } } }"),
    ("construct", "q", "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:{port}/x> { ?s ?p ?o } }"),
    ("load", "u", "LOAD <http://127.0.0.1:{port}/data.ttl>"),
    ("load-silent-into", "u", "LOAD SILENT <http://127.0.0.1:{port}/d.ttl> INTO GRAPH <http://example.org/g>"),
    ("load-prefixed", "u", "PREFIX t: <http://127.0.0.1:{port}/> LOAD t:d.ttl"),
    ("load-base", "u", "BASE <http://127.0.0.1:{port}/> LOAD <d.ttl>"),
    ("load-escaped", "u", "LOAD <http\\u003A//127.0.0.1:{port}/d.ttl>"),
    ("load-userinfo", "u", "LOAD <http://127.0.0.1:{allowed}@127.0.0.1:{port}/d.ttl>"),
    ("update-where", "u", "INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:{port}/x> { ?s ?p ?o } }"),
    ("update-then-load", "u", "INSERT DATA { <http://e/s> <http://e/p> 1 } ; LOAD <http://127.0.0.1:{port}/d>"),
    (
        "escaped-quotes-around",  # rdflib expands \u before parsing and reads one long string; Oxigraph does not
        "q",
        'SELECT * WHERE { BIND(CONCAT("\\u0022","x") AS ?a) SERVICE <http://127.0.0.1:{port}/x> { ?s ?p ?o } '
        'BIND(CONCAT("","\\u0022") AS ?b) }',
    ),
    ("escaped-keyword", "q", "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:{port}/x> { ?s ?p ?o } }"),
]


@pytest.fixture
def listeners() -> Iterator[tuple[Listener, Listener]]:
    target, allowed = Listener(), Listener()
    yield target, allowed
    target.close()
    allowed.close()


def attempt(site: Site, kind: str, text: str) -> int:
    headers = {"Content-Type": "application/sparql-query" if kind == "q" else "application/sparql-update"}
    if kind == "u":
        headers["Authorization"] = f"Bearer {WRITE_TOKEN}"
    return site.http.post(site.url + "/sparql", data=text.encode(), headers=headers, timeout=60).status_code


def run_tricks(site: Site, target: Listener, allowed: Listener) -> dict[str, int]:
    statuses = {}
    for name, kind, text in TRICKS:
        statuses[name] = attempt(
            site, kind, text.replace("{port}", str(target.port)).replace("{allowed}", str(allowed.port))
        )
    time.sleep(0.5)  # a connection attempt, had one been made, is counted by now
    return statuses


@pytest.mark.parametrize("allow", [False, True], ids=["no-allow-list", "allow-list"])
def test_no_trick_reaches_the_network(
    site_factory: Callable[..., Site], listeners: tuple[Listener, Listener], allow: bool
) -> None:
    target, allowed = listeners
    settings: dict[str, object] = {"write_token": WRITE_TOKEN}
    if allow:
        settings["network_allow"] = (f"http://127.0.0.1:{allowed.port}",)
    site = site_factory(**settings)
    statuses = run_tricks(site, target, allowed)
    assert target.connections == 0, statuses
    assert allowed.connections == 0, statuses  # userinfo tricks name it first, and reach it neither
    assert all(400 <= status < 500 for status in statuses.values()), statuses
    if allow:  # the allowed path works: a plain SERVICE to the allowed listener connects
        text = f"SELECT * WHERE {{ SERVICE SILENT <http://127.0.0.1:{allowed.port}/sparql> {{ ?s ?p ?o }} }}"
        assert attempt(site, "q", text) < 500
        time.sleep(0.5)
        assert allowed.connections >= 1
        assert target.connections == 0


def test_keywords_inside_strings_are_not_refused(site_factory: Callable[..., Site]) -> None:
    site = site_factory()
    assert attempt(site, "q", 'SELECT * WHERE { ?s ?p "SERVICE <http://127.0.0.1:1/>" } LIMIT 1') == 200
    assert attempt(site, "q", "SELECT ?download WHERE { ?download ?p ?o } LIMIT 1") == 200


def test_a_syntax_error_is_said_before_the_network_refusal(site_factory: Callable[..., Site]) -> None:
    site = site_factory(write_token=WRITE_TOKEN)
    assert attempt(site, "u", "LOAD ;") == 400
    assert attempt(site, "q", "SELECT * WHERE { SERVICE <http://x/> }") == 400
    assert attempt(site, "u", "LOAD <http://x/>") == 403
