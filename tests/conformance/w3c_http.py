"""Reading W3C manifests that encode HTTP exchanges (ht: vocabulary): protocol and graph-store suites."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

import rdflib
import requests
from rdflib.collection import Collection

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")


@dataclass
class Step:
    """One request and what its response must be."""

    method: str
    path: str
    headers: dict[str, str]
    body: str | None
    statuses: set[str]
    expected_format: str | None = None
    expected_boolean: bool | None = None
    expected_location: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None

    def status_ok(self, code: int) -> bool:
        """Whether a status code is one the step allows (a class like StatusCode2xx, or a name like Created)."""
        names = {f"StatusCode{code // 100}xx"}
        with contextlib.suppress(ValueError):
            names.add(HTTPStatus(code).phrase.replace(" ", "").replace("-", ""))  # "No Content" -> NoContent
        return bool(names & self.statuses)

    def encoded_body(self) -> bytes | None:
        """The body in the charset its Content-Type names (UTF-8 by default)."""
        if self.body is None:
            return None
        content_type = next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")
        charset = re.search(r"charset=([\w-]+)", content_type)
        return self.body.encode(charset.group(1) if charset else "utf-8")


@dataclass
class HttpTest:
    """A named test: graphs to load first, then requests in order."""

    name: str
    data: dict[str, Path]
    steps: list[Step]
    requires: set[str] = field(default_factory=set)


def _headers(g: rdflib.Graph, node: rdflib.term.Node | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if node is not None:
        for h in Collection(g, node):
            headers[str(g.value(h, HT.fieldName))] = str(g.value(h, HT.fieldValue))
    return headers


def load(manifest: Path) -> dict[str, HttpTest]:
    """The tests of a manifest, by local name, in manifest order."""
    g = rdflib.Graph().parse(manifest, format="turtle", publicID=manifest.as_uri())
    root = next(g.subjects(rdflib.RDF.type, MF.Manifest))
    tests: dict[str, HttpTest] = {}
    for test in Collection(g, g.value(root, MF.entries)):
        data = {
            str(g.value(node, rdflib.RDFS.label)): Path(str(g.value(node, UT.graph)).removeprefix("file://"))
            for node in g.objects(test, UT.graphData)
        }
        steps = []
        for req in Collection(g, g.value(g.value(test, MF.action), HT.requests)):
            resp = g.value(req, HT.resp)
            body_node = g.value(req, HT.body)
            resp_body = g.value(resp, HT.body)
            boolean = g.value(resp, MF.expectedBoolean)
            fmt = g.value(resp, MF.expectedFormat)
            location = g.value(resp, MF.expectedLocation)
            steps.append(
                Step(
                    method=str(g.value(req, HT.methodName)),
                    path=str(g.value(req, HT.absolutePath)),
                    headers=_headers(g, g.value(req, HT.headers)),
                    body=str(g.value(body_node, CNT.chars)) if body_node is not None else None,
                    statuses={str(s).rsplit("#", 1)[-1] for s in g.objects(resp, MF.expectedStatus)},
                    expected_format=str(fmt) if fmt is not None else None,
                    expected_boolean=bool(boolean.toPython()) if boolean is not None else None,
                    expected_location=str(location) if location is not None else None,
                    response_headers=_headers(g, g.value(resp, HT.headers)),
                    response_body=str(g.value(resp_body, CNT.chars)) if resp_body is not None else None,
                )
            )
        requires = {str(r).rsplit("#", 1)[-1] for r in g.objects(test, MF.requires)}
        tests[str(test).rsplit("#", 1)[-1]] = HttpTest(str(g.value(test, MF.name)), data, steps, requires)
    return tests


def send(base: str, step: Step, path: str, token: str, body: bytes | None = None) -> requests.Response:
    """Send a step's request (with the write token) to ``base + path``."""
    headers = {**step.headers, "Authorization": f"Bearer {token}"}
    data = body if body is not None else step.encoded_body()
    return requests.request(step.method, base + path, data=data, headers=headers, timeout=30, allow_redirects=False)
