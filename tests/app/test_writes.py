"""Guarded writes in process: every write path validates, refuses (changing nothing) and logs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import requests

from tests.inprocess import Completed, Site
from tests.support import WRITE_TOKEN, Listener
from tests.support import dump as support_dump

AUTH = {"Authorization": f"Bearer {WRITE_TOKEN}"}
ID = "https://w3id.org/careerkg/id/"
SOURCE = "ai-engineer-vs-ml-engineer"


def tool(label: str | None = "Example Tool", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "description": {"en": "A library for numerical computing and machine learning."},
        "sources": [SOURCE],
        "links": {"categories": ["library"], "skills": ["deep-learning"]},
    }
    if label:
        body["label"] = {"en": label}
    if "label_" in extra:  # a label map of the test's own
        body["label"] = extra.pop("label_")
    body.update(extra)
    return body


def dump(server: Site) -> set[str]:
    """Every statement of the app's dataset."""
    return support_dump(server.http, server.url)


def assert_refused(response: requests.Response, focus: str) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["conforms"] is False
    assert focus in {r["focusNode"] for r in body["results"]}
    for result in body["results"]:
        assert result["message"]
        assert result["severity"] in ("Violation", "Warning")
    return list(body["results"])


@pytest.fixture
def server(site_factory: Callable[..., Site]) -> Site:
    """A fresh app per test on its own copy of the default dataset, writes allowed with WRITE_TOKEN."""
    return site_factory(write_token=WRITE_TOKEN)


# --- REST writes ---------------------------------------------------------------------------


def test_rest_put_patch_delete(server: Site) -> None:
    url = server.url + "/api/v1/tools/example-tool"
    before = server.http.get(server.url + "/ready", timeout=30).json()["quads"]
    created = server.http.put(url, json=tool(), headers=AUTH, timeout=30)
    assert created.status_code == 201, created.text
    assert created.json()["added"] == 6  # type, label, description, source, category, skill
    assert server.http.get(server.url + "/ready", timeout=30).json()["quads"] == before + 6  # counted anew
    detail = server.http.get(url, timeout=30).json()
    assert detail["label"] == "Example Tool"
    assert [s["id"] for s in detail["skills"]] == ["deep-learning"]

    patched = server.http.patch(
        url, json={"values": {"strengths": ["composable transformations"]}}, headers=AUTH, timeout=30
    )
    assert patched.status_code == 200, patched.text
    assert server.http.get(url, timeout=30).json()["strengths"] == ["composable transformations"]
    assert server.http.get(url, timeout=30).json()["label"] == "Example Tool"  # untouched fields stay

    role = server.http.patch(
        server.url + "/api/v1/roles/ml-engineer",
        json={"links": {"tools": ["keras", "scikit-learn", "example-tool"]}},
        headers=AUTH,
        timeout=30,
    )
    assert role.status_code == 200, role.text
    assert "example-tool" in [
        t["id"] for t in server.http.get(server.url + "/api/v1/roles/ml-engineer", timeout=30).json()["tools"]
    ]

    deleted = server.http.delete(url, headers=AUTH, timeout=30)
    assert deleted.status_code == 200, deleted.text
    assert server.http.get(url, timeout=30).status_code == 404
    tools = [t["id"] for t in server.http.get(server.url + "/api/v1/roles/ml-engineer", timeout=30).json()["tools"]]
    assert tools == ["keras", "scikit-learn"]  # the links to it went with it


def test_rest_writes_relate_skills_both_ways(server: Site) -> None:
    """skos:related is symmetric and the shapes want it stated both ways: a REST write of a skill's related skills
    writes the links back from the other skills too, and drops the links back that it drops."""
    skills = server.url + "/api/v1/skills/"

    def related(slug: str) -> list[str]:
        return [s["id"] for s in server.http.get(skills + slug, timeout=30).json()["related"]]

    before = dump(server)
    # Related to its own broader skill: refused (SKOS S27), and so is a related skill that says nothing of how the two
    # differ (machine learning has no scope note).
    results = assert_refused(
        server.http.patch(skills + "deep-learning", json={"links": {"related": ["machine-learning"]}}, headers=AUTH),
        ID + "skill/deep-learning",
    )
    assert ("skos:related", ID + "skill/deep-learning") in {(r["path"], r["focusNode"]) for r in results}
    assert ("skos:scopeNote", ID + "skill/machine-learning") in {(r["path"], r["focusNode"]) for r in results}
    assert dump(server) == before

    new_skill = {
        "label": {"en": "Example skill"},
        "description": {"en": "Running models in production, as an example."},
        "sources": [SOURCE],
        "links": {"categories": ["ml-engineering-practice"], "related": ["mlops", "model-development"]},
        "values": {"scope_note": ["An example: how it differs from MLOps and model development."]},
    }
    made = server.http.put(skills + "example-skill", json=new_skill, headers=AUTH, timeout=30)
    assert made.status_code == 201, made.text
    assert related("example-skill") == ["mlops", "model-development"]
    assert "example-skill" in related("mlops")  # written back
    assert "example-skill" in related("model-development")
    dropped = server.http.patch(skills + "example-skill", json={"links": {"related": ["mlops"]}}, headers=AUTH)
    assert dropped.status_code == 200, dropped.text
    assert "example-skill" not in related("model-development")  # its link back went with it
    assert "example-skill" in related("mlops")
    # A PUT of a skill as its GET answer states it keeps the links both ways.
    detail = server.http.get(skills + "mlops", timeout=30).json()
    body = {
        "label": detail["labels"],
        "description": {"en": detail["description"]},
        "sources": [s["id"] for s in detail["sources"]],
        "links": {
            "categories": [b["id"] for b in detail["broader"] if b["type"] == "skill-category"],
            "broader": [b["id"] for b in detail["broader"] if b["type"] == "skill"],
            "related": [r["id"] for r in detail["related"]],
        },
        "values": {"scope_note": [detail["scope_note"]]},
    }
    replaced = server.http.put(skills + "mlops", json=body, headers=AUTH, timeout=30)
    assert replaced.status_code == 200, replaced.text
    assert related("example-skill") == ["mlops"]
    assert related("model-development") == ["mlops"]
    # Deleting a skill takes the links back to it too.
    assert server.http.delete(skills + "example-skill", headers=AUTH, timeout=30).status_code == 200
    assert "example-skill" not in related("mlops")


def test_rest_violations_change_nothing(server: Site) -> None:
    before = dump(server)
    url = server.url + "/api/v1/tools/example-tool"
    no_english = tool(label=None, label_={"de": "Example Tool"})
    assert_refused(
        server.http.put(url, json=no_english, headers=AUTH, timeout=30),
        "https://w3id.org/careerkg/id/tool/example-tool",
    )
    results = assert_refused(
        server.http.put(
            url, json=tool(links={"categories": ["library"], "skills": ["no-such-skill"]}), headers=AUTH, timeout=30
        ),
        "https://w3id.org/careerkg/id/tool/example-tool",
    )
    assert any(r["path"] == "ckg:supportsSkill" for r in results)
    assert_refused(
        server.http.patch(
            server.url + "/api/v1/roles/ai-engineer", json={"links": {"essential_skills": []}}, headers=AUTH, timeout=30
        ),
        "https://w3id.org/careerkg/id/role/ai-engineer",
    )
    # Deleting the article would leave every resource without a source.
    gone = server.http.delete(server.url + "/api/v1/tools/keras", headers=AUTH, timeout=30)
    assert gone.status_code == 200  # a tool nobody needs to exist: fine
    before = dump(server)
    # A PUT without what the schema says the shapes require is refused before anything is looked at.
    refused = server.http.put(
        server.url + "/api/v1/industries/healthcare", json={"label": {"en": "Health"}}, headers=AUTH, timeout=30
    )
    assert refused.status_code == 400
    assert {p["name"] for p in refused.json()["invalid-params"]} == {"description", "sources"}
    assert dump(server) == before


def test_refusal_as_a_shacl_report_in_rdf(server: Site) -> None:
    response = server.http.put(
        server.url + "/api/v1/tools/example-tool",
        json=tool(label=None, label_={"de": "Example Tool"}),
        headers={**AUTH, "Accept": "text/turtle"},
        timeout=30,
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("text/turtle")
    report = set(ox.parse(response.content, format=ox.RdfFormat.TURTLE))
    focus = ox.NamedNode("http://www.w3.org/ns/shacl#focusNode")
    assert any(
        q.predicate == focus and q.object == ox.NamedNode("https://w3id.org/careerkg/id/tool/example-tool")
        for q in report
    )


def test_rest_write_bad_bodies(server: Site) -> None:
    url = server.url + "/api/v1/tools/example-tool"
    unknown = server.http.put(url, json=tool(links={"flavours": ["sweet"]}), headers=AUTH, timeout=30)
    assert unknown.status_code == 400
    assert "flavours" in unknown.json()["detail"]
    extra = server.http.put(url, json={**tool(), "colour": "blue"}, headers=AUTH, timeout=30)
    assert extra.status_code == 400
    assert (
        server.http.patch(server.url + "/api/v1/tools/nothing-here", json=tool(), headers=AUTH, timeout=30).status_code
        == 404
    )
    assert (
        server.http.put(
            url, data=b"{oops", headers={**AUTH, "Content-Type": "application/json"}, timeout=30
        ).status_code
        == 400
    )


@pytest.mark.parametrize(("headers", "status"), [({}, 401), ({"Authorization": "Bearer nope"}, 403)])
def test_every_write_path_needs_the_token(server: Site, headers: dict[str, str], status: int) -> None:
    before = dump(server)
    attempts = [
        server.http.put(server.url + "/api/v1/tools/example-tool", json=tool(), headers=headers, timeout=30),
        server.http.delete(server.url + "/api/v1/tools/keras", headers=headers, timeout=30),
        server.http.post(
            server.url + "/sparql",
            data=b"CLEAR ALL",
            headers={**headers, "Content-Type": "application/sparql-update"},
            timeout=30,
        ),
        server.http.delete(server.url + "/graph-store?default", headers=headers, timeout=30),
        # who may write is said before what is wrong with the request (a parameter given twice)
        server.http.delete(server.url + "/api/v1/tools/keras?lang=en&lang=de", headers=headers, timeout=30),
    ]
    assert [r.status_code for r in attempts] == [status] * 5
    assert dump(server) == before


# --- SPARQL Update and Graph Store, through the same path ---------------------------------------


def test_sparql_update_paths(server: Site) -> None:
    def update(text: str) -> requests.Response:
        return server.http.post(
            server.url + "/sparql",
            data=text.encode(),
            headers={**AUTH, "Content-Type": "application/sparql-update"},
            timeout=60,
        )

    before = dump(server)
    refused = update(
        "INSERT DATA { <https://w3id.org/careerkg/id/tool/example-tool> a <https://w3id.org/careerkg/ontology#Tool> }"
    )
    assert_refused(refused, "https://w3id.org/careerkg/id/tool/example-tool")
    # A modify whose WHERE finds every role: dropping their responsibilities breaks each role.
    refused = update(
        "PREFIX ckg: <https://w3id.org/careerkg/ontology#> DELETE { ?r ckg:hasResponsibility ?x } WHERE { ?r ckg:hasResponsibility ?x }"
    )
    results = assert_refused(refused, "https://w3id.org/careerkg/id/role/ai-engineer")
    assert "https://w3id.org/careerkg/id/role/ml-engineer" in {r["focusNode"] for r in results}
    assert dump(server) == before
    ok = update(
        'PREFIX ckg: <https://w3id.org/careerkg/ontology#> DELETE { ?t ckg:strength "flexibility"@en } '
        'INSERT { ?t ckg:strength "very flexible"@en } WHERE { ?t ckg:strength "flexibility"@en }'
    )
    assert ok.status_code == 204, ok.text
    assert len(dump(server) ^ before) == 4  # two tools, one statement out and one in each


# Nodes pySHACL cannot be asked about by name: a blank node, and IRIs whose scheme reads as a prefix it knows (it
# would have validated FOAF's <http://xmlns.com/foaf/0.1/evil> instead, and let an unlabelled role in).
ODD_NODES = ["_:evil", "<foaf:evil>", "<schema:evil>", "<xml:evil>", "<FOAF:evil>", "<rdf:evil>"]


@pytest.mark.parametrize(
    "node", [pytest.param(n, marks=[] if n in ODD_NODES[:3] else [pytest.mark.exhaustive]) for n in ODD_NODES]
)
def test_a_role_named_oddly_is_held_to_the_shapes_on_every_write_path(server: Site, node: str) -> None:
    before = dump(server)
    role = f"{node} a <https://w3id.org/careerkg/ontology#Role> ."
    sparql = server.http.post(
        server.url + "/sparql",
        data=f"INSERT DATA {{ {role} }}".encode(),
        headers={**AUTH, "Content-Type": "application/sparql-update"},
        timeout=60,
    )
    graph_store = server.http.post(
        server.url + "/graph-store?default",
        data=role.encode(),
        headers={**AUTH, "Content-Type": "text/turtle"},
        timeout=60,
    )
    for response in (sparql, graph_store):
        assert response.status_code == 422, response.text
        focus = {r["focusNode"] for r in response.json()["results"]}
        assert len(focus) == 1, focus  # the new node, and nothing of the shipped data
        if not node.startswith("_:"):
            assert focus == {node.strip("<>")}
        paths = {r["path"] for r in response.json()["results"]}
        assert "rdfs:label" in paths  # what a role without a label breaks, as for any role
    assert dump(server) == before


# Updates that validating only the touched nodes once let through, though the graph they give breaks the shapes
# (found by attacking the write path): (a first update that must be accepted, the update that must be refused, a
# node the refusal names). A first update of None means none.
ONT = "<https://w3id.org/careerkg/ontology>"
LEVEL_X1 = 'a ckg:Level ; rdfs:label "New rung"@en ; dcterms:description "A rung."@en ; dcterms:source source:onet-soc-taxonomy'
SLIPPED = {
    # The class hierarchy changes which nodes shapes target, anywhere in the graph: such a change is validated whole.
    "tools-made-skills": (None, "INSERT DATA { ckg:Tool rdfs:subClassOf ckg:Skill }", ID + "tool/keras"),
    "degrees-no-longer-credentials": (
        None,
        "DELETE DATA { ckg:Degree rdfs:subClassOf ckg:Credential }",
        ID + "role/ai-engineer",
    ),
    # Validating a node reads the store's own class hierarchy above its types, not only the ontology file's.
    "instance-of-a-new-role-class": (
        "INSERT DATA { <https://example.org/Dev> rdfs:subClassOf ckg:Role }",
        "INSERT DATA { <https://example.org/x> a <https://example.org/Dev> }",
        "https://example.org/x",
    ),
    # A link to the ontology's own IRI once switched the class hierarchy off.
    "degree-linked-to-the-ontology": (
        None,
        f"INSERT DATA {{ id:credential\\/fake a ckg:Degree ; rdfs:seeAlso {ONT} }}",
        ID + "credential/fake",
    ),
    # A level moved to another ladder: the roles holding it may now hold two levels on one ladder.
    "level-moved-to-a-ladder-its-roles-are-on": (
        None,
        "DELETE DATA { id:level\\/onet-job-zone-4 skos:inScheme id:ladder\\/onet-job-zones ; ckg:rank 4 } ;"
        " INSERT DATA { id:level\\/onet-job-zone-4 skos:inScheme id:ladder\\/gitlab-job-grades ; ckg:rank 77 }",
        ID + "role/data-scientist",
    ),
    # A node that becomes a level is checked against the other rungs of its ladder.
    "rung-typed-later-with-a-taken-rank": (
        "INSERT DATA { id:level\\/x1 skos:inScheme id:ladder\\/onet-job-zones ; ckg:rank 99 ."
        " id:level\\/x2 skos:inScheme id:ladder\\/onet-job-zones ; ckg:rank 99 }",
        f"INSERT DATA {{ id:level\\/x1 {LEVEL_X1} }}",
        ID + "level/x1",
    ),
    # Anything with a rank on a ladder is a rung.
    "rank-taken-by-a-role": (
        None,
        "INSERT DATA { role:ml-engineer skos:inScheme id:ladder\\/onet-job-zones ; ckg:rank 3 }",
        ID + "level/onet-job-zone-3",
    ),
    # sh:or reaches values no change touches as focus nodes: pySHACL once skipped them when given focus nodes.
    "source-dated-in-words": (
        None,
        "DELETE WHERE { source:ai-engineer-vs-ml-engineer dcterms:date ?d } ;"
        ' INSERT DATA { source:ai-engineer-vs-ml-engineer dcterms:date "yesterday" }',
        ID + "source/ai-engineer-vs-ml-engineer",
    ),
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            n, marks=[] if n in ("instance-of-a-new-role-class", "source-dated-in-words") else [pytest.mark.exhaustive]
        )
        for n in SLIPPED
    ],
)
def test_what_breaks_the_graph_is_refused_however_far_from_the_change(server: Site, name: str) -> None:
    from tests.unit.test_shapes import P

    first, update, named = SLIPPED[name]

    def send(text: str) -> requests.Response:
        return server.http.post(
            server.url + "/sparql",
            data=(P + text).encode(),
            headers={**AUTH, "Content-Type": "application/sparql-update"},
            timeout=120,
        )

    if first is not None:
        accepted = send(first)
        assert accepted.status_code == 204, accepted.text
    before = dump(server)
    assert_refused(send(update), named)
    assert dump(server) == before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "application/sparql-update",
            'INSERT { <https://w3id.org/careerkg/id/tool/keras> <http://www.w3.org/2004/02/skos/core#altLabel> "Keras"@en--ltr } WHERE {}',
        ),
        (
            "application/sparql-update",
            "INSERT DATA { <https://w3id.org/careerkg/id/role/ml-engineer> <http://www.w3.org/2000/01/rdf-schema#seeAlso> <<( <https://w3id.org/careerkg/id/role/ml-engineer> <https://w3id.org/careerkg/ontology#usesTool> <https://w3id.org/careerkg/id/tool/keras> )>> }",
        ),
        (
            "text/turtle",
            '<https://w3id.org/careerkg/id/tool/keras> <http://www.w3.org/2004/02/skos/core#altLabel> "Keras"@en--rtl .',
        ),
        (
            "application/sparql-update",
            'INSERT DATA { <https://w3id.org/careerkg/id/tool/keras> <http://www.w3.org/2004/02/skos/core#altLabel> "K"@en--ltr }',
        ),
    ],
    ids=[
        "directional-string-by-update",
        "triple-term-by-update",
        "directional-string-by-graph-store",
        "directional-string-by-insert-data",
    ],
)
def test_rdf_1_2_terms_are_refused_with_a_reason(server: Site, content_type: str, body: str) -> None:
    before = dump(server)
    path = "/sparql" if content_type == "application/sparql-update" else "/graph-store?default"
    response = server.http.post(
        server.url + path, data=body.encode(), headers={**AUTH, "Content-Type": content_type}, timeout=60
    )
    assert response.status_code == 400, response.text
    assert "RDF 1.2" in response.json()["detail"]
    assert dump(server) == before


def test_insert_data_is_read_as_sparql_not_trig(server: Site) -> None:
    """A graph block without GRAPH is TriG, not SPARQL: refused as the SPARQL grammar refuses it."""
    before = dump(server)
    response = server.http.post(
        server.url + "/sparql",
        data=b'INSERT DATA { <urn:g> { <https://w3id.org/careerkg/id/role/ai-engineer> <http://www.w3.org/2000/01/rdf-schema#comment> "x"@en } }',
        headers={**AUTH, "Content-Type": "application/sparql-update"},
        timeout=60,
    )
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert dump(server) == before


def test_warnings_do_not_block(server: Site) -> None:
    response = server.http.post(
        server.url + "/sparql",
        data=b"PREFIX ckg: <https://w3id.org/careerkg/ontology#> INSERT DATA { "
        b"<https://w3id.org/careerkg/id/role/ml-engineer> ckg:optionalSkill <https://w3id.org/careerkg/id/skill/programming> }",
        headers={**AUTH, "Content-Type": "application/sparql-update"},
        timeout=30,
    )
    assert response.status_code == 204, response.text
    assert response.headers["CareerKG-Warnings"] == "1"


# --- /validate -------------------------------------------------------------------------------------

GOOD = b"""@prefix ckg: <https://w3id.org/careerkg/ontology#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/careerkg/id/tool/example-tool> a ckg:Tool ; rdfs:label "Example Tool"@en ;
    dcterms:description "A library."@en ;
    ckg:toolCategory <https://w3id.org/careerkg/id/tool-category/library> ;
    ckg:supportsSkill <https://w3id.org/careerkg/id/skill/deep-learning> ;
    dcterms:source <https://w3id.org/careerkg/id/source/ai-engineer-vs-ml-engineer> .
"""


def test_validate_endpoint(server: Site) -> None:
    def post(
        body: bytes, content_type: str = "text/turtle", query: str = "", accept: str = "application/json"
    ) -> requests.Response:
        return server.http.post(
            server.url + "/validate" + query,
            data=body,
            headers={"Content-Type": content_type, "Accept": accept},
            timeout=60,
        )

    with_current = post(GOOD, query="?with=current").json()
    assert with_current["conforms"] is True
    alone = post(GOOD).json()  # alone, the linked skill, category and source are not there
    assert alone["conforms"] is False
    assert {r["path"] for r in alone["results"]} >= {"ckg:supportsSkill", "dcterms:source"}
    broken = post(GOOD.replace(b'rdfs:label "Example Tool"@en ;', b""), query="?with=current").json()
    assert broken["conforms"] is False
    assert broken["results"][0]["focusNode"] == "https://w3id.org/careerkg/id/tool/example-tool"
    report = post(GOOD.replace(b'rdfs:label "Example Tool"@en ;', b""), query="?with=current", accept="text/turtle")
    assert report.headers["Content-Type"].startswith("text/turtle")
    graph = set(ox.parse(report.content, format=ox.RdfFormat.TURTLE))
    conforms = ox.NamedNode("http://www.w3.org/ns/shacl#conforms")
    assert any(q.predicate == conforms and q.object.value == "false" for q in graph)
    syntax = post(b"<a> <b> .")
    assert syntax.status_code == 400
    assert "request body:1:" in syntax.json()["detail"]
    assert post(GOOD, content_type="text/csv").status_code == 415
    assert post(GOOD, query="?with=everything").status_code == 400
    assert len(dump(server)) > 1000  # validating wrote nothing: checked by the next test too


def test_validate_parses_safely(server: Site, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    entity = f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY secret SYSTEM "file://{secret}"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
  <rdf:Description rdf:about="https://example.org/x"><rdfs:label>&secret;</rdfs:label></rdf:Description>
</rdf:RDF>""".encode()
    response = server.http.post(
        server.url + "/validate", data=entity, headers={"Content-Type": "application/rdf+xml"}, timeout=30
    )
    assert "TOP-SECRET-VALUE" not in response.text
    listener = Listener()
    try:
        document = f'{{"@context": "http://127.0.0.1:{listener.port}/context.jsonld", "@id": "https://example.org/x", "name": "x"}}'
        response = server.http.post(
            server.url + "/validate",
            data=document.encode(),
            headers={"Content-Type": "application/ld+json"},
            timeout=30,
        )
        assert response.status_code in (200, 400)
        assert listener.connections == 0
    finally:
        listener.close()


# --- the change log, durability, concurrency ------------------------------------------------------


def test_change_log_names_who_did_what(site_factory: Callable[..., Site], tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("# name token\nalice alice-secret\nbob bob-secret\n")
    server = site_factory(tokens_file=str(tokens))
    assert (
        server.http.put(
            server.url + "/api/v1/tools/example-tool",
            json=tool(),
            headers={"Authorization": "Bearer alice-secret"},
            timeout=30,
        ).status_code
        == 201
    )
    assert (
        server.http.patch(
            server.url + "/api/v1/tools/example-tool",
            json={"values": {"developer": ["Google"]}},
            headers={"Authorization": "Bearer bob-secret"},
            timeout=30,
        ).status_code
        == 200
    )
    anonymous = server.http.get(server.url + "/api/v1/changes", timeout=30).json()
    assert [entry["who"] for entry in anonymous["items"]] == [None, None]  # names are for writers' eyes
    assert anonymous["items"][0]["operation"] == "rest PATCH tool/example-tool"
    log = server.http.get(
        server.url + "/api/v1/changes", headers={"Authorization": "Bearer bob-secret"}, timeout=30
    ).json()
    first, second = log["items"][1], log["items"][0]  # newest first
    assert (first["who"], first["operation"], first["added"]) == ("alice", "rest PUT tool/example-tool", 6)
    assert (second["who"], second["operation"], second["added"], second["removed"]) == (
        "bob",
        "rest PATCH tool/example-tool",
        1,
        0,
    )
    assert any("Google" in t for t in second["triples_added"])
    assert (
        server.http.put(
            server.url + "/api/v1/tools/example-tool",
            json=tool(),
            headers={"Authorization": "Bearer carol"},
            timeout=30,
        ).status_code
        == 403
    )


def test_concurrent_writers_are_serialised(server: Site) -> None:
    results: dict[int, int] = {}

    def write(i: int) -> None:
        body = tool(label=f"Tool {i}")
        results[i] = server.http.put(
            f"{server.url}/api/v1/tools/generated-{i}", json=body, headers=AUTH, timeout=120
        ).status_code

    version_before = server.http.get(server.url + "/api/v1/stats", timeout=30).json()["dataset_version"]
    changes_before = server.http.get(server.url + "/api/v1/changes", timeout=30).json()["total"]
    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results.values()) == {201}
    listed = server.http.get(server.url + "/api/v1/tools?q=Tool%20&limit=200", timeout=30).json()
    assert {i["id"] for i in listed["items"]} >= {f"generated-{i}" for i in range(8)}
    assert server.http.get(server.url + "/api/v1/changes", timeout=30).json()["total"] == changes_before + 8
    stats = server.http.get(server.url + "/api/v1/stats", timeout=30).json()
    if server.store_kind == "embedded":  # a counter; a remote store's version is a token shared by its writers
        assert int(stats["dataset_version"].rsplit("-", 1)[1]) == int(version_before.rsplit("-", 1)[1]) + 8
    else:
        assert stats["dataset_version"] != version_before


def test_cli_load_goes_through_the_same_path(tmp_path: Path, cli: Callable[..., Completed]) -> None:
    store = tmp_path / "store"
    new = tmp_path / "example-tool.ttl"
    new.write_text(GOOD.decode())
    done = cli("load", str(new), "--store", str(store))
    assert done.code == 0, done.err
    log = (tmp_path / "store.changes.jsonl").read_text().splitlines()
    assert '"operation": "load"' in log[-1]
    assert '"added": 6' in log[-1]
