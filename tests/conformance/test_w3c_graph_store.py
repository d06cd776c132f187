"""The W3C Graph Store HTTP Protocol suites against a real server.

- graph-store-protocol/manifest-{direct,indirect}.ttl: machine-readable requests, statuses and bodies;
- http-rdf-update/manifest.ttl: the older suite, written as HTTP exchanges in prose, parsed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import rdflib
import requests
from rdflib.compare import isomorphic

from tests.conformance import w3c_http
from tests.conformance.conftest import DEFAULT_KINDS
from tests.support import W3C, WRITE_TOKEN, Server

DIRECT = w3c_http.load(W3C / "graph-store-protocol" / "manifest-direct.ttl")
INDIRECT = w3c_http.load(W3C / "graph-store-protocol" / "manifest-indirect.ttl")
# The Graph Store Protocol is CareerKG's own, whatever the store: it holds on Virtuoso too.
STORES_HERE = [*DEFAULT_KINDS, pytest.param("virtuoso", marks=pytest.mark.virtuoso)]
SYNTAX = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml"}


def parse(text: str, content_type: str, base: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=text, format=SYNTAX[content_type.split(";", maxsplit=1)[0].strip()], publicID=base)


def drop_all(server: Server) -> None:
    """Tests start from an empty store (their requests assume it)."""
    reset = requests.post(
        server.url + "/sparql",
        data=b"DROP ALL",
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=120,  # setup: the first DROP ALL removes the whole dataset, slow on a busy Virtuoso
    )
    assert reset.status_code == 204


def run(server: Server, test: w3c_http.HttpTest) -> None:
    drop_all(server)
    location = None
    for step in test.steps:
        path = step.path.replace("/gsp", "/graph-store", 1)
        body = step.body
        if location is not None:
            path = path.replace("$LOCATION$", location)
            body = body.replace("$LOCATION$", location) if body is not None else None
        if path.startswith("http"):
            path = path.split("/", 3)[3] and "/" + path.split("/", 3)[3]
        step.body = body
        response = w3c_http.send(server.url, step, path, WRITE_TOKEN)
        assert step.status_ok(response.status_code), (
            f"{test.name} {step.method} {path}: {response.status_code} {response.text[:300]}"
        )
        if step.expected_location:
            location = response.headers["Location"]
        if step.response_body is not None and step.method != "HEAD":
            expected_type = step.response_headers.get("content-type", "text/turtle")
            assert response.headers["Content-Type"].split(";")[0] == expected_type.split(";")[0]
            got = parse(response.text, response.headers["Content-Type"], server.url + path)
            want = parse(step.response_body, expected_type, server.url + path)
            assert isomorphic(got, want), f"{test.name}:\n{response.text}"
        if step.method == "HEAD":
            assert response.content == b""
            if response.status_code == 200:
                assert response.headers["Content-Type"].startswith("text/turtle")


@pytest.mark.parametrize("name", INDIRECT)
def test_w3c_graph_store_indirect(writable_server: Server, name: str) -> None:
    run(writable_server, INDIRECT[name])


@pytest.mark.parametrize("name", DIRECT)
def test_w3c_graph_store_direct(writable_server: Server, name: str) -> None:
    run(writable_server, DIRECT[name])


# --- the older http-rdf-update suite, in prose ---------------------------------------------

PROSE = W3C / "http-rdf-update" / "manifest.ttl"
# Its POST bodies end a Turtle statement without the final "." (invalid Turtle, rightly refused with 400);
# the machine-readable successor suite adds the dot, and so does this harness (``_terminated``).
# Its "GET of POST - existing graph" shows the graph before the POST it follows (John Doe, no
# foaf:name), contradicting the POST before it and the later multipart test; known erratum of this
# deprecated suite. Status and media type are still checked for it.
ERRATA = {"get_of_post__existing_graph"}


@dataclass
class Exchange:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: str
    status: int
    response_headers: dict[str, str]
    response_body: str


def _message(block: str) -> tuple[str, dict[str, str], str]:
    lines = [line[4:] if line.startswith("    ") else line.strip() for line in block.strip("\n").splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    first, rest = lines[0].strip(), lines[1:]
    headers: dict[str, str] = {}
    while rest and rest[0].strip() and re.match(r"^[A-Za-z-]+: ", rest[0].strip()):
        key, _, value = rest.pop(0).strip().partition(": ")
        headers[key.lower()] = value
    return first, headers, "\n".join(rest).strip()


def _terminated(turtle: str) -> str:
    """Turtle with the final statement's missing "." added (the erratum above)."""
    lines = turtle.rstrip().splitlines()
    if lines and not lines[-1].rstrip().endswith((".", "]")):
        lines[-1] = lines[-1].rstrip() + " ."
    return "\n".join(lines)


def load_prose() -> list[Exchange]:
    g = rdflib.Graph().parse(PROSE, format="turtle")
    root = next(g.subjects(rdflib.RDF.type, w3c_http.MF.Manifest))
    out = []
    for test in rdflib.collection.Collection(g, g.value(root, w3c_http.MF.entries)):
        text = next(str(c) for c in g.objects(test, rdflib.RDFS.comment) if "#### Request" in str(c))
        request_part, response_part = text.split("#### Request", 1)[1].split("#### Response", 1)
        request_line, headers, body = _message(request_part)
        status_line, response_headers, response_body = _message(response_part)
        method, path, _ = request_line.split(" ")
        out.append(
            Exchange(
                str(test).rsplit("#", 1)[-1],
                method,
                path,
                headers,
                body,
                int(status_line.split(" ")[0]),
                response_headers,
                response_body,
            )
        )
    return out


PROSE_TESTS = load_prose()


def test_prose_suite_has_18_exchanges() -> None:
    assert len(PROSE_TESTS) == 18


def test_w3c_http_rdf_update_in_order(writable_server: Server) -> None:
    """The 18 exchanges depend on each other, so they run in manifest order."""
    drop_all(writable_server)
    # The suite deletes person/2.ttl as an "existing graph" without ever creating it: its unstated precondition.
    created = requests.put(
        writable_server.url + "/graph-store/person/2.ttl",
        data=b"<http://example.org/person/2> a <http://xmlns.com/foaf/0.1/Person> .",
        headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=30,
    )
    assert created.status_code == 201
    host = writable_server.url.removeprefix("http://")
    newpath = ""
    passed = []

    def fill(text: str) -> str:
        text = text.replace("/$GRAPHSTORE$", "/graph-store").replace("$GRAPHSTORE$", "/graph-store")
        return text.replace("$HOST$", host).replace("$NEWPATH$", newpath)

    for ex in PROSE_TESTS:
        path = fill(ex.path)
        headers = {k: v for k, v in ex.headers.items() if k != "host"}
        headers["Authorization"] = f"Bearer {WRITE_TOKEN}"
        body = _terminated(fill(ex.body)).encode() if ex.body else None
        if ex.headers.get("content-type", "").startswith("multipart/form-data"):
            parts = re.split(r"(\n--[0-9a-f]+)", fill(ex.body))
            fixed = "".join(p if p.startswith("\n--") or "Content-Type" not in p else _terminated(p) for p in parts)
            body = fixed.replace("\n", "\r\n").encode() + b"\r\n"
        response = requests.request(ex.method, writable_server.url + path, data=body, headers=headers, timeout=30)
        # 200 and 204 both mean "done, nothing created" in the Graph Store Protocol.
        same = {ex.status} | ({200, 204} if ex.status in (200, 204) else set())
        assert response.status_code in same, f"{ex.name}: {response.status_code} {response.text[:300]}"
        if ex.status == 201 and ex.method == "POST" and "?" not in path and path.endswith("graph-store"):
            newpath = response.headers["Location"].removeprefix(writable_server.url)
        if ex.response_body and ex.name not in ERRATA:
            got = parse(response.text, response.headers["Content-Type"], writable_server.url + path)
            want = parse(fill(ex.response_body), ex.response_headers["content-type"], writable_server.url + path)
            assert isomorphic(got, want), f"{ex.name}:\n{response.text}"
        if ex.response_headers.get("content-type"):
            assert response.headers["Content-Type"].split(";")[0] == ex.response_headers["content-type"].split(";")[0]
        passed.append(ex.name)
    assert len(passed) == 18
