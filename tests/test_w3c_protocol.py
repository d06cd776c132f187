"""The W3C SPARQL 1.1 Protocol test suite (all 34 tests), driven by its manifest, against a real server."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import rdflib
import requests
from rdflib.collection import Collection

from tests.conftest import W3C, WRITE_TOKEN, Server

MANIFEST = W3C / "protocol" / "manifest.ttl"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")

BOOLEAN_TYPES = {"application/sparql-results+json", "application/sparql-results+xml"}
TABULAR_TYPES = BOOLEAN_TYPES | {"text/csv", "text/tab-separated-values"}
RDF_TYPES = {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json"}


@dataclass
class Step:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None
    statuses: set[str]
    expected_format: str | None
    expected_boolean: bool | None


@dataclass
class ProtocolTest:
    name: str
    data: dict[str, Path]
    steps: list[Step]


def load_manifest() -> dict[str, ProtocolTest]:
    g = rdflib.Graph().parse(MANIFEST, format="turtle", publicID=MANIFEST.as_uri())
    manifest = next(g.subjects(rdflib.RDF.type, MF.Manifest))
    tests = {}
    for test in Collection(g, g.value(manifest, MF.entries)):
        local = str(test).rsplit("#", 1)[-1]
        data = {}
        for node in g.objects(test, UT.graphData):
            data[str(g.value(node, rdflib.RDFS.label))] = Path(str(g.value(node, UT.graph)).removeprefix("file://"))
        action = g.value(test, MF.action)
        steps = []
        for req in Collection(g, g.value(action, HT.requests)):
            headers = {}
            header_list = g.value(req, HT.headers)
            if header_list is not None:
                for h in Collection(g, header_list):
                    headers[str(g.value(h, HT.fieldName))] = str(g.value(h, HT.fieldValue))
            body_node = g.value(req, HT.body)
            resp = g.value(req, HT.resp)
            boolean = g.value(resp, MF.expectedBoolean)
            fmt = g.value(resp, MF.expectedFormat)
            steps.append(
                Step(
                    method=str(g.value(req, HT.methodName)),
                    path=str(g.value(req, HT.absolutePath)).replace("/sparql/", "/sparql", 1),
                    headers=headers,
                    body=str(g.value(body_node, CNT.chars)) if body_node is not None else None,
                    statuses={str(s).rsplit("#", 1)[-1] for s in g.objects(resp, MF.expectedStatus)},
                    expected_format=str(fmt) if fmt is not None else None,
                    expected_boolean=bool(boolean.toPython()) if boolean is not None else None,
                )
            )
        tests[local] = ProtocolTest(str(g.value(test, MF.name)), data, steps)
    return tests


TESTS = load_manifest()


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
        timeout=30,
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
        headers = {**step.headers, "Authorization": f"Bearer {WRITE_TOKEN}"}
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        charset = re.search(r"charset=([\w-]+)", content_type)
        body = step.body.encode(charset.group(1) if charset else "utf-8") if step.body is not None else None
        response = requests.request(step.method, writable_server.url + step.path, data=body, headers=headers, timeout=30)
        status_class = f"StatusCode{response.status_code // 100}xx"
        assert status_class in step.statuses, f"{test.name}: {response.status_code} {response.text[:300]}"
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
