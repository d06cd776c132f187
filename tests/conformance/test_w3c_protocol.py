"""The W3C SPARQL 1.1 Protocol test suite (all 34 tests), driven by its manifest, against a real server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conformance import w3c_http
from tests.conformance.conftest import DEFAULT_KINDS
from tests.support import W3C, WRITE_TOKEN, Server

MANIFEST = W3C / "protocol" / "manifest.ttl"
BOOLEAN_TYPES = {"application/sparql-results+json", "application/sparql-results+xml"}
TABULAR_TYPES = BOOLEAN_TYPES | {"text/csv", "text/tab-separated-values"}
RDF_TYPES = {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json"}

TESTS = w3c_http.load(MANIFEST)
# The protocol is CareerKG's own, whatever the store: it holds on Virtuoso too.
STORES_HERE = [*DEFAULT_KINDS, pytest.param("virtuoso", marks=pytest.mark.virtuoso)]


def test_the_manifest_has_34_tests() -> None:
    assert len(TESTS) == 34


def reset(server: Server, data: dict[str, Path]) -> None:
    """DROP ALL, then load this test's graphs, through the protocol itself."""
    inserts = "".join(f"GRAPH <{name}> {{ {path.read_text()} }}\n" for name, path in data.items())
    update = "DROP ALL" + (f" ;\nINSERT DATA {{ {inserts} }}" if inserts else "")
    response = requests.post(
        server.url + "/sparql",
        data=update.encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=120,  # setup: the first DROP ALL removes the whole dataset, slow on a busy Virtuoso
    )
    assert response.status_code == 204, response.text


def boolean_of(response: requests.Response) -> bool:
    media_type = response.headers["Content-Type"].split(";")[0]
    if media_type == "application/sparql-results+json":
        value: Any = json.loads(response.text)["boolean"]
        return bool(value)
    root = ET.fromstring(response.content)
    node = root.find("{http://www.w3.org/2005/sparql-results#}boolean")
    assert node is not None
    return node.text == "true"


@pytest.mark.parametrize("name", TESTS)
def test_w3c_protocol(writable_server: Server, name: str) -> None:
    test = TESTS[name]
    reset(writable_server, test.data)
    for step in test.steps:
        response = w3c_http.send(writable_server.url, step, step.path.replace("/sparql/", "/sparql", 1), WRITE_TOKEN)
        assert step.status_ok(response.status_code), f"{test.name}: {response.status_code} {response.text[:300]}"
        if response.status_code >= 400:
            assert response.headers["Content-Type"] == "application/problem+json"
            assert response.json()["detail"]
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        if step.expected_format == "boolean":
            assert media_type in BOOLEAN_TYPES
        elif step.expected_format == "tabular":
            assert media_type in TABULAR_TYPES
        elif step.expected_format == "RDF":
            assert media_type in RDF_TYPES
        if step.expected_boolean is not None:
            assert boolean_of(response) is step.expected_boolean, test.name
