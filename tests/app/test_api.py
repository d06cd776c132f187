"""The REST API in process: every route's happy path and bad inputs, with asserted content."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

import jsonschema
import pyoxigraph as ox
import pytest
import rdflib
import requests
from werkzeug.test import EnvironBuilder

from service import dataset, rdfio
from service.api import examples
from service.blueprints.linked_data import STATES_SHOWN
from tests.inprocess import Site, call, raw_call
from tests.support import WRITE_TOKEN

ID = "https://w3id.org/careerkg/id/"
CKG = "https://w3id.org/careerkg/ontology#"


def get(server: Site, path: str, **headers: str) -> requests.Response:
    return server.http.get(server.url + path, headers=headers, timeout=30)


def ok(server: Site, path: str) -> Any:
    response = get(server, path)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


def problem(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


# --- lists ----------------------------------------------------------------------------------


def count_of(server: Site, cls: str) -> int:
    """How many resources of a class the server's SPARQL endpoint counts (independent of the REST code)."""
    query = f"PREFIX ckg: <https://w3id.org/careerkg/ontology#> SELECT (COUNT(?x) AS ?n) WHERE {{ ?x a {cls} }}"
    response = server.http.get(server.url + "/sparql", params={"query": query}, timeout=30)
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_list_envelope_and_items(site: Site) -> None:
    body = ok(site, "/api/v1/roles")
    assert set(body) == {"items", "total", "limit", "offset", "next", "prev", "first", "last"}
    assert body["total"] == count_of(site, "ckg:Role")
    assert body["limit"] == 20
    last = (body["total"] - 1) // 20 * 20
    assert body["next"] == (site.url + "/api/v1/roles?offset=20&limit=20" if body["total"] > 20 else None)
    assert body["prev"] is None
    assert body["first"] == site.url + "/api/v1/roles?offset=0&limit=20"
    assert body["last"] == site.url + f"/api/v1/roles?offset={last}&limit=20"
    assert len(body["items"]) == min(body["total"], 20)
    assert body["items"][0] == {
        "id": "ai-engineer",
        "iri": ID + "role/ai-engineer",
        "label": "AI Engineer",
        "type": "role",
    }


def test_paging_follows_next(site: Site) -> None:
    first = ok(site, "/api/v1/skills?limit=10")
    assert first["total"] > 30
    assert len(first["items"]) == 10
    seen = ids(first["items"])
    page = first
    while page["next"]:
        page = site.http.get(page["next"], timeout=30).json()
        seen += ids(page["items"])
    assert len(seen) == first["total"]
    assert len(set(seen)) == len(seen)
    assert page["next"] is None
    assert page["prev"] is not None
    assert site.http.get(page["last"], timeout=30).json()["items"] == page["items"]
    back = site.http.get(page["prev"], timeout=30).json()
    assert ids(back["items"]) == seen[-len(page["items"]) - 10 : -len(page["items"])]


def test_paging_links_in_the_link_header(site: Site) -> None:
    """RFC 8288: the same URLs as the body's next/prev/first/last, for clients that read headers only."""
    response = get(site, "/api/v1/skills?limit=10&offset=10")
    body = response.json()
    links = {
        part.split(";")[1].strip(): part.split(";")[0].strip(" <>") for part in response.headers["Link"].split(",")
    }
    assert links == {f'rel="{rel}"': body[rel] for rel in ("next", "prev", "first", "last")}
    again = get(site, "/api/v1/skills?limit=10&offset=10")  # the cached answer carries them too
    assert again.headers["Link"] == response.headers["Link"]


def test_if_none_match_compares_weakly(site: Site) -> None:
    etag = get(site, "/api/v1/tools/keras").headers["ETag"]
    assert get(site, "/api/v1/tools/keras", **{"If-None-Match": etag}).status_code == 304
    assert get(site, "/api/v1/tools/keras", **{"If-None-Match": "W/" + etag}).status_code == 304
    assert get(site, "/api/v1/tools/keras", **{"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert get(site, "/api/v1/tools/keras", **{"If-None-Match": '"other"'}).status_code == 200
    # HEAD asks what GET would answer: 304 too (RFC 9110 section 13.1.2)
    head = site.http.head(site.url + "/api/v1/tools/keras", headers={"If-None-Match": etag}, timeout=30)
    assert head.status_code == 304


def slugs_of(server: Site, where: str) -> list[str]:
    """The slugs of ?x matching a graph pattern, from the server's SPARQL endpoint (independent of the REST code)."""
    query = (
        "PREFIX ckg: <https://w3id.org/careerkg/ontology#> PREFIX id: <https://w3id.org/careerkg/id/> "
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        f"SELECT DISTINCT ?x WHERE {{ {where} }}"
    )
    response = server.http.get(server.url + "/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    return sorted(b["x"]["value"].rsplit("/", 1)[-1] for b in response.json()["results"]["bindings"])


ROLE = "?x a ckg:Role ; "
SKILLED = "ckg:essentialSkill|ckg:optionalSkill"


@pytest.mark.parametrize(
    ("path", "where", "includes"),
    [
        ("/api/v1/roles?skill=deep-learning", ROLE + f"{SKILLED} <{ID}skill/deep-learning>", "ml-engineer"),
        (
            "/api/v1/roles?skill=statistical-modelling",
            ROLE + f"{SKILLED} <{ID}skill/statistical-modelling>",
            "statistician",
        ),
        ("/api/v1/roles?tool=pytorch", ROLE + f"ckg:usesTool <{ID}tool/pytorch>", "ai-engineer"),
        (
            "/api/v1/roles?industry=healthcare&tool=keras",
            ROLE + f"ckg:inIndustry <{ID}industry/healthcare> ; ckg:usesTool <{ID}tool/keras>",
            "ml-engineer",
        ),
        (
            "/api/v1/roles?credential=degree-statistics",
            ROLE + f"ckg:requiredCredential|ckg:recommendedCredential <{ID}credential/degree-statistics>",
            "ml-engineer",
        ),
        ("/api/v1/roles?skill=no-such-skill", ROLE + f"{SKILLED} <{ID}skill/no-such-skill>", None),
        (
            "/api/v1/tools?category=framework",
            f"?x a ckg:Tool ; ckg:toolCategory <{ID}tool-category/framework>",
            "pytorch",
        ),
        ("/api/v1/tools?category=library", f"?x a ckg:Tool ; ckg:toolCategory <{ID}tool-category/library>", "keras"),
        (
            "/api/v1/tools?skill=deep-learning",
            f"?x a ckg:Tool ; ckg:supportsSkill <{ID}skill/deep-learning>",
            "tensorflow",
        ),
        (
            "/api/v1/applications?industry=finance",
            f"?x a ckg:Application ; ckg:inIndustry <{ID}industry/finance>",
            "fraud-detection",
        ),
        ("/api/v1/credentials?kind=course", "?x a ckg:Course", "machine-learning-course"),
        ("/api/v1/credentials?kind=apprenticeship", "?x a ckg:Apprenticeship", "data-analyst-apprenticeship"),
        ("/api/v1/industries", "?x a ckg:Industry", "healthcare"),
        ("/api/v1/tools?q=TORCH", '?x a ckg:Tool ; rdfs:label ?l FILTER(CONTAINS(LCASE(STR(?l)), "torch"))', "pytorch"),
        (
            "/api/v1/tools?q=sklearn",
            '?x a ckg:Tool ; skos:altLabel ?l FILTER(CONTAINS(LCASE(STR(?l)), "sklearn"))',
            "scikit-learn",
        ),
    ],
)
def test_list_filters(site: Site, path: str, where: str, includes: str | None) -> None:
    expected = slugs_of(site, where)
    assert (includes in expected) if includes else expected == []  # the oracle itself finds what it should
    body = ok(site, path + ("&" if "?" in path else "?") + "limit=200")
    assert sorted(ids(body["items"])) == expected


def test_skill_category_filter_reaches_every_depth(site: Site) -> None:
    found = ids(ok(site, "/api/v1/skills?category=ai-and-ml&limit=200")["items"])
    assert "deep-learning" in found  # ai-and-ml <- artificial-intelligence <- machine-learning <- deep-learning
    assert "image-recognition" in found
    assert "programming" not in found


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/roles?limit=201", "limit"),
        ("/api/v1/roles?limit=0", "limit"),
        ("/api/v1/roles?offset=-1", "offset"),
        ("/api/v1/roles?limit=ten", "limit"),
        ("/api/v1/roles?colour=blue", "colour"),
        ("/api/v1/roles?skill=Not%20A%20Slug", "skill"),
        ("/api/v1/credentials?kind=diploma", "kind"),
        ("/api/v1/roles?lang=english!", "lang"),
        ("/api/v1/search", "q"),
        ("/api/v1/search?q=%20%20", "q"),  # only spaces: not a search for everything
        ("/api/v1/compare?roles=ai-engineer", "roles"),
        ("/api/v1/roles/ai-engineer/paths", "to"),
        ("/api/v1/roles?limit=1_0", "limit"),  # int() reads 10; no client means that
        ("/api/v1/roles?offset=%2B3", "offset"),
        ("/api/v1/roles?limit=%20 7", "limit"),
        ("/api/v1/search?q=data&limit=%D9%A3", "limit"),  # an Arabic-Indic three
        ("/api/v1/roles?limit=5&limit=500", "limit"),  # given twice: neither is taken silently
        ("/api/v1/search?q=data&q=python", "q"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(site: Site, path: str, param: str) -> None:
    body = problem(get(site, path), 400)
    assert param in [p["name"] for p in body["invalid-params"]]
    assert param in body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/roles/ai-engineer", "/sparql?query=ASK%7B%7D", "/id/role/ai-engineer", "/"])
def test_answers_tell_browsers_not_to_sniff(site: Site, path: str) -> None:
    assert get(site, path).headers["X-Content-Type-Options"] == "nosniff"
    assert get(site, "/api/v1/roles/no-such-role").headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("host", "named"),
    [(None, "no Host header"), ("a.example, b.example", "'a.example, b.example'"), ("bad host", "'bad host'")],
)
def test_a_request_without_one_valid_host_is_400(site: Site, host: str | None, named: str) -> None:
    """Links in answers are built from the Host asked for: without one valid Host there is nothing to build on."""
    environ = EnvironBuilder(path="/api/v1/roles", query_string="limit=2").get_environ()
    if host is None:
        del environ["HTTP_HOST"]
    else:
        environ["HTTP_HOST"] = host
    status, _, body = call(site, environ)
    assert status.startswith("400"), body[:300]
    assert named in json.loads(body)["detail"]
    good = site.app.test_client().get("/api/v1/roles?limit=2", headers={"Host": "careerkg.example:8080"})
    assert good.status_code == 200
    assert good.get_json()["next"].startswith("http://careerkg.example:8080/api/v1/roles?")
    # A name werkzeug builds no links on, as docker-compose gives: served, not refused (it would refuse deployments)
    assert site.app.test_client().get("/health", headers={"Host": "careerkg_app:8080"}).status_code == 200


@pytest.mark.parametrize(("method", "path"), [("get", "/health"), ("post", "/sparql"), ("Delete", "/graph-store")])
def test_a_method_not_in_capitals_is_400_not_served_as_its_capital(site: Site, method: str, path: str) -> None:
    """Methods are case-sensitive: werkzeug would serve `post` as POST, past a proxy's rule about POST."""
    status, _, body = raw_call(site, method, path)
    assert status.startswith("400"), body[:300]
    assert f"{method!r} is not {method.upper()!r}" in json.loads(body)["detail"]


def test_the_request_target_star_and_connect(site: Site) -> None:
    """OPTIONS * asks about the server as a whole: every method some route allows. `*` is no path for any other
    method, and CONNECT's host:port names no resource here (this server is no proxy)."""
    status, headers, body = raw_call(site, "OPTIONS", "*")
    assert status.startswith("204")
    assert body == b""
    routed = {m for rule in site.app.url_map.iter_rules() for m in rule.methods or ()}
    assert set(headers["Allow"].split(", ")) == routed
    assert {"GET", "POST", "PUT", "DELETE"} <= routed
    status, _, body = raw_call(site, "GET", "*")
    assert status.startswith("400")
    assert "'*' is not a path" in json.loads(body)["detail"]
    status, _, body = raw_call(site, "GET", "")  # granian's path for `GET *x` or `GET h:80`
    assert status.startswith("400")
    status, headers, body = raw_call(site, "CONNECT", "127.0.0.1:8080")
    assert status.startswith("405")
    assert headers["Allow"] == ""
    assert "not a proxy" in json.loads(body)["detail"]


@pytest.mark.parametrize(
    ("codings", "status"), [("gzip, chunked", 501), ("deflate", 501), ("chunked", 200), ("Chunked", 200)]
)
def test_a_body_in_a_transfer_coding_the_server_does_not_know_is_501(site: Site, codings: str, status: int) -> None:
    """RFC 9112 section 6.1: granian takes chunked off and hands the rest on, so a gzip-coded body would be read as a
    plain one."""
    body = b"query=ASK%20%7B%7D"
    environ = EnvironBuilder(
        path="/sparql", method="POST", data=body, content_type="application/x-www-form-urlencoded"
    ).get_environ()
    environ["HTTP_TRANSFER_ENCODING"] = codings
    answered, headers, sent = call(site, environ)
    assert answered.startswith(str(status)), sent[:300]
    if status == 501:
        assert headers["Content-Type"] == "application/problem+json"
        assert f"'{codings.split(',', maxsplit=1)[0]}'" in json.loads(sent)["detail"]


def test_a_url_longer_than_the_body_limit_is_414(site_factory: Callable[..., Site]) -> None:
    small = site_factory(max_body=1000)
    client = small.app.test_client()
    refused = client.get("/sparql", query_string={"query": "ASK { " + "?s ?p ?o . " * 100 + "}"})
    assert refused.status_code == 414
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "longer than 1000 bytes" in refused.get_json()["detail"]
    assert client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"}).status_code == 200


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
def test_operations_answers_are_never_stored(site: Site, path: str) -> None:
    """Liveness, readiness and metrics are the state of the moment: no cache may keep them, nor revalidate them."""
    response = site.app.test_client().get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


def test_unknown_ids_and_routes_are_404(site: Site) -> None:
    assert "no role" in problem(get(site, "/api/v1/roles/astronaut"), 404)["detail"]
    problem(get(site, "/api/v1/tools/astronaut/roles"), 404)
    problem(get(site, "/api/v1/no/such/route"), 404)
    problem(get(site, "/api/v1/roles/ai-engineer/paths?to=astronaut"), 404)


# --- details -------------------------------------------------------------------------------


def test_role_detail_carries_everything(site: Site) -> None:
    role = ok(site, "/api/v1/roles/ai-engineer")
    assert role["label"] == "AI Engineer"
    assert role["labels"]["de"] == "KI-Ingenieur"
    assert "Artificial Intelligence Engineer" in role["alt_labels"]
    assert "simulate human intelligence" in role["description"]
    ai = f"<{ID}role/ai-engineer>"
    essential = slugs_of(site, f"{ai} ckg:essentialSkill ?x")
    article_essentials = {"programming", "algorithms-and-data-structures", "ai-frameworks", "neural-networks"}
    assert article_essentials | {"deep-learning"} <= set(essential)  # the article's five, whatever ESCO adds
    assert sorted(ids(role["essential_skills"])) == essential
    assert "computer-vision" in ids(role["optional_skills"])
    tools = slugs_of(site, f"{ai} ckg:usesTool ?x")
    assert {"pytorch", "tensorflow"} <= set(tools)
    assert ids(role["tools"]) == tools
    assert ids(role["industries"]) == ["automotive", "finance", "healthcare"]
    assert ids(role["credentials"]["required"]) == ["bachelors-computer-science", "bachelors-engineering"]
    assert "fraud-detection" in ids(role["applications"])
    duties = slugs_of(site, f"{ai} ckg:hasResponsibility ?x")
    assert {"design-and-implement-ai-models", "build-nlp-robotics-and-vision-systems"} <= set(duties)  # the article's
    assert sorted(ids(role["responsibilities"])) == duties
    assert all(r["skills"] for r in role["responsibilities"])
    assert role["external_ids"]["onet_soc"] == ["15-1221.00"]
    comparison = next(s for s in role["salary_insights"] if s["compared_with"])
    assert comparison["compared_with"]["id"] == "ml-engineer"
    assert comparison["relative_pay"] == "slightly higher"
    assert comparison["figures"] == []
    assert sorted(t["to_role"]["id"] for t in role["transitions_to"]) == slugs_of(
        site, f"?t ckg:fromRole {ai} ; ckg:toRole ?x"
    )
    (transition,) = [t for t in role["transitions_to"] if not t["derived"]]  # the one the article states
    assert transition["to_role"]["id"] == "ml-engineer"
    assert "statistical-modelling" in ids(transition["bridging_skills"])
    article = next(s for s in role["sources"] if s["id"] == "ai-engineer-vs-ml-engineer")
    assert article["creator"] == ["Syed Muhammad Hussain Shah"]
    assert article["date"] == "2024-09-04"


def test_other_details(site: Site) -> None:
    keras = ok(site, "/api/v1/tools/keras")
    assert sorted(ids(keras["interface_to"])) == sorted(slugs_of(site, f"<{ID}tool/keras> ckg:interfaceTo ?x"))
    assert "tensorflow" in ids(keras["interface_to"])
    assert ids(keras["roles"]) == slugs_of(site, f"?x ckg:usesTool <{ID}tool/keras>")
    assert "ml-engineer" in ids(keras["roles"])
    assert ids(keras["categories"]) == ["library"]
    assert keras["external_ids"]["wikidata"] == []
    sklearn = ok(site, "/api/v1/tools/scikit-learn")
    assert sklearn["external_ids"]["wikidata"] == ["http://www.wikidata.org/entity/Q1026367"]
    assert ids(sklearn["programming_languages"]) == ["python"]
    skill = ok(site, "/api/v1/skills/deep-learning")
    assert ids(skill["broader"]) == ["machine-learning"]
    deep_learning = f"<{ID}skill/deep-learning>"
    assert sorted(ids(skill["essential_for"])) == slugs_of(site, f"?x ckg:essentialSkill {deep_learning}")
    assert sorted(ids(skill["optional_for"])) == slugs_of(site, f"?x ckg:optionalSkill {deep_learning}")
    assert "ai-engineer" in ids(skill["essential_for"])  # the article's
    assert {"computer-vision-engineer", "ml-engineer"} <= set(ids(skill["optional_for"]))
    healthcare = ok(site, "/api/v1/industries/healthcare")
    apps = slugs_of(site, f"?x a ckg:Application ; ckg:inIndustry <{ID}industry/healthcare>")
    assert sorted(ids(healthcare["applications"])) == sorted(apps)
    assert {"medical-image-diagnosis", "patient-outcome-prediction"} <= set(apps)
    assert ids(healthcare["roles"]) == slugs_of(site, ROLE + f"ckg:inIndustry <{ID}industry/healthcare>")
    assert {"ai-engineer", "ml-engineer"} <= set(ids(healthcare["roles"]))
    app = ok(site, "/api/v1/applications/medical-image-diagnosis")
    assert ids(app["technologies"]) == ["machine-learning"]
    course = ok(site, "/api/v1/credentials/machine-learning-course")
    assert course["kind"] == "course"
    assert ids(course["recommended_for"]) == ["ml-engineer"]


def test_language_with_english_fallback(site: Site) -> None:
    assert ok(site, "/api/v1/roles/ai-engineer?lang=fr")["label"] == "Ingénieur en intelligence artificielle"
    assert ok(site, "/api/v1/industries/healthcare?lang=es")["label"] == "Sanidad"
    assert ok(site, "/api/v1/roles/ai-engineer?lang=de-AT")["label"] == "KI-Ingenieur"
    assert ok(site, "/api/v1/tools/keras?lang=de")["label"] == "Keras"  # no German label: English
    listed = {i["id"]: i["label"] for i in ok(site, "/api/v1/roles?lang=de")["items"]}
    assert listed["ai-engineer"] == "KI-Ingenieur"
    assert listed["ml-engineer"] == "Ingenieur für maschinelles Lernen"


# --- reverse navigation --------------------------------------------------------------------


def test_reverse_navigation(site: Site) -> None:
    roles = ok(site, "/api/v1/skills/deep-learning/roles?limit=200")["items"]
    deep_learning = f"<{ID}skill/deep-learning>"
    assert {(r["id"], r["importance"]) for r in roles} == {
        *((slug, "essential") for slug in slugs_of(site, f"?x ckg:essentialSkill {deep_learning}")),
        *((slug, "optional") for slug in slugs_of(site, f"?x ckg:optionalSkill {deep_learning}")),
    }
    assert {("ai-engineer", "essential"), ("ml-engineer", "optional")} <= {(r["id"], r["importance"]) for r in roles}
    deep_learning_tools = ids(ok(site, "/api/v1/skills/deep-learning/tools?limit=200")["items"])
    assert sorted(deep_learning_tools) == slugs_of(site, f"?x ckg:supportsSkill <{ID}skill/deep-learning>")
    assert {"keras", "pytorch", "tensorflow"} <= set(deep_learning_tools)  # the article's
    assert ids(ok(site, "/api/v1/tools/keras/roles")["items"]) == slugs_of(site, f"?x ckg:usesTool <{ID}tool/keras>")
    assert len(ok(site, "/api/v1/industries/finance/applications")["items"]) == 3
    finance_roles = ids(ok(site, "/api/v1/industries/finance/roles")["items"])
    assert finance_roles == slugs_of(site, ROLE + f"ckg:inIndustry <{ID}industry/finance>")
    assert {"ai-engineer", "ml-engineer"} <= set(finance_roles)
    av_roles = ids(ok(site, "/api/v1/applications/autonomous-vehicles/roles")["items"])
    assert av_roles == slugs_of(site, ROLE + f"ckg:worksOnApplication <{ID}application/autonomous-vehicles>")
    assert {"ai-engineer", "ml-engineer"} <= set(av_roles)  # the article's
    assert ids(ok(site, "/api/v1/credentials/bachelors-engineering/roles")["items"]) == ["ai-engineer"]


# --- search and suggest -------------------------------------------------------------------


def test_search_ranks_exact_then_prefix_then_alternative_then_description(site: Site) -> None:
    found = ids(ok(site, "/api/v1/search?q=machine%20learning")["items"])
    assert found[0] == "machine-learning"  # exact label
    assert ids(ok(site, "/api/v1/search?q=sklearn")["items"]) == ["scikit-learn"]  # alternative label
    described = ids(ok(site, "/api/v1/search?q=fraudulent%20activities")["items"])
    assert described == ["fraud-detection"]  # description words
    typed = ok(site, "/api/v1/search?q=learning&type=tool")["items"]
    assert typed  # tools whose descriptions speak of learning
    assert {i["type"] for i in typed} == {"tool"}
    skills = ids(ok(site, "/api/v1/search?q=learning&type=skill")["items"])
    assert skills[0] == "deep-learning"  # label word prefix, shortest first
    assert "machine-learning-course" not in skills


def test_suggest_prefixes_labels_and_alternatives(site: Site) -> None:
    items = ok(site, "/api/v1/suggest?q=py")["items"]
    by_label = [i for i in items if i["label"].casefold().startswith("py")]
    assert items[: len(by_label)] == by_label  # label prefixes first
    assert {"python", "pytorch"} <= set(ids(by_label))
    alternative = {i["id"]: i["matched"] for i in items[len(by_label) :]}  # then alternative labels
    assert alternative["apache-spark"] == "PySpark"
    assert all(matched.casefold().startswith("py") for matched in alternative.values())
    assert ok(site, "/api/v1/suggest?q=skl")["items"][0]["matched"] == "sklearn"
    german = ok(site, "/api/v1/suggest?q=ki&lang=de")["items"]
    assert {"id": "ai-engineer", "label": "KI-Ingenieur"}.items() <= next(
        i for i in german if i["id"] == "ai-engineer"
    ).items()
    assert all(i["matched"].casefold().startswith("ki") for i in german)
    assert ids(ok(site, "/api/v1/suggest?q=health&type=industry")["items"]) == ["healthcare"]


# --- analytics ------------------------------------------------------------------------------


def test_compare_ai_and_ml_engineer(site: Site) -> None:
    result = ok(site, "/api/v1/compare?roles=ai-engineer,ml-engineer")
    assert ids(result["roles"]) == ["ai-engineer", "ml-engineer"]
    assert {"programming", "deep-learning"} <= set(ids(result["shared"]["skills"]))
    assert ids(result["shared"]["industries"]) == ["automotive", "finance", "healthcare"]
    ai_tools = slugs_of(site, f"<{ID}role/ai-engineer> ckg:usesTool ?x")
    assert {"pytorch", "tensorflow"} <= set(ai_tools)  # the article's two, whatever other sources add
    ml_tools = slugs_of(site, f"<{ID}role/ml-engineer> ckg:usesTool ?x")
    assert {"keras", "scikit-learn"} <= set(ml_tools)  # the article's two, whatever other sources add
    assert ids(result["shared"]["tools"]) == sorted(set(ai_tools) & set(ml_tools))
    assert ids(result["distinct"]["ai-engineer"]["tools"]) == sorted(set(ai_tools) - set(ml_tools))
    assert ids(result["distinct"]["ml-engineer"]["tools"]) == sorted(set(ml_tools) - set(ai_tools))
    assert "statistical-modelling" in ids(result["distinct"]["ml-engineer"]["skills"])
    # The documented formula, recomputed from the details: |shared by all| / |had by any|.
    ai, ml = (ok(site, f"/api/v1/roles/{r}") for r in ("ai-engineer", "ml-engineer"))

    def features(role: dict[str, Any]) -> set[str]:
        linked = [*role["essential_skills"], *role["optional_skills"], *role["tools"], *role["industries"]]
        linked += [*role["applications"], *role["credentials"]["required"], *role["credentials"]["recommended"]]
        return {i["iri"] for i in linked}

    expected = len(features(ai) & features(ml)) / len(features(ai) | features(ml))
    assert result["similarity"] == pytest.approx(expected, abs=1e-4)
    assert 0 < result["similarity"] < 1
    same = ok(site, "/api/v1/compare?roles=ml-engineer,ml-engineer")
    assert same["similarity"] == 1


def test_gap_from_a_role_and_from_skills(site: Site) -> None:
    ai, ml = f"<{ID}role/ai-engineer>", f"<{ID}role/ml-engineer>"
    ai_skills = set(slugs_of(site, f"{ai} ckg:essentialSkill|ckg:optionalSkill ?x"))
    ml_essential = set(slugs_of(site, f"{ml} ckg:essentialSkill ?x"))
    ml_skills = set(slugs_of(site, f"{ml} ckg:essentialSkill|ckg:optionalSkill ?x"))
    gap = ok(site, "/api/v1/roles/ml-engineer/gap?from=ai-engineer")
    assert gap["starting_from"]["id"] == "ai-engineer"
    missing = ids(gap["missing_essential_skills"])
    assert "statistical-modelling" in missing
    assert "programming" not in missing
    assert set(missing) == ml_essential - ai_skills
    have = set(ids(gap["have_skills"]))
    assert have == ai_skills & ml_skills
    assert {"deep-learning", "programming"} <= have
    ml_tools = slugs_of(site, f"{ml} ckg:usesTool ?x")
    ai_tools = slugs_of(site, f"{ai} ckg:usesTool ?x")
    assert {"keras", "scikit-learn"} <= set(ml_tools)
    assert ids(gap["tools_to_learn"]) == [t for t in ml_tools if t not in ai_tools]
    assert gap["coverage"] == pytest.approx(len(ai_skills & ml_essential) / len(ml_essential), abs=1e-4)
    by_skills = ok(site, "/api/v1/roles/ml-engineer/gap?skills=programming,feature-engineering,nonsense&tools=keras")
    assert {"programming", "feature-engineering"} <= ml_essential
    assert by_skills["coverage"] == pytest.approx(2 / len(ml_essential), abs=1e-4)
    assert ids(by_skills["tools_to_learn"]) == [t for t in ml_tools if t != "keras"]
    assert by_skills["unknown_skills"] == ["nonsense"]
    scratch = ok(site, "/api/v1/roles/ai-engineer/gap")
    assert len(scratch["missing_essential_skills"]) == len(slugs_of(site, f"{ai} ckg:essentialSkill ?x"))
    assert scratch["coverage"] == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_415(site: Site, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for method, path in (("POST", "/api/v1/match"), ("PATCH", "/api/v1/roles/ai-engineer")):
        response = site.http.request(
            method,
            site.url + path,
            data=json.dumps({"skills": ["statistics"]}).encode(),
            headers={**headers, "Authorization": f"Bearer {WRITE_TOKEN}"},
            timeout=30,
        )
        assert response.status_code == 415, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "application/json" in response.json()["detail"]


def test_match_ranks_roles_with_evidence(site: Site) -> None:
    skills = {"statistical-modelling", "data-analysis", "feature-engineering"}
    response = site.http.post(
        site.url + "/api/v1/match",
        json={"skills": [*sorted(skills), "unicorn"], "tools": ["scikit-learn"], "limit": 100},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    ranked = ids([m["role"] for m in result["items"]])
    assert len(ranked) == len(set(ranked))
    assert sorted(ranked) == slugs_of(site, "?x a ckg:Role")  # every role, under the limit of 100
    for match in result["items"]:  # each score and its evidence, from the role's links as SPARQL reads them
        role = f"<{ID}role/{match['role']['id']}>"
        essential = set(slugs_of(site, f"{role} ckg:essentialSkill ?x"))
        optional = set(slugs_of(site, f"{role} ckg:optionalSkill ?x")) - essential
        tools = set(slugs_of(site, f"{role} ckg:usesTool ?x"))
        evidence = match["evidence"]
        assert set(ids(evidence["matched_essential_skills"])) == essential & skills
        assert set(ids(evidence["matched_optional_skills"])) == optional & skills
        assert set(ids(evidence["matched_tools"])) == tools & {"scikit-learn"}
        assert set(ids(evidence["missing_essential_skills"])) == essential - skills
        weight = 2 * len(essential) + len(optional) + len(tools)
        gained = 2 * len(essential & skills) + len(optional & skills) + len(tools & {"scikit-learn"})
        assert match["score"] == pytest.approx(gained / weight if weight else 0, abs=1e-4)
    scores = [m["score"] for m in result["items"]]
    assert scores == sorted(scores, reverse=True)
    ml = next(m for m in result["items"] if m["role"]["id"] == "ml-engineer")  # the article's: all three essential
    assert ids(ml["evidence"]["matched_essential_skills"]) == sorted(skills)
    unmatched = [m for m in result["items"] if not any(v for k, v in m["evidence"].items() if k.startswith("matched"))]
    assert unmatched  # roles sharing nothing with the profile score 0
    assert {m["score"] for m in unmatched} == {0}
    assert result["unknown_skills"] == ["unicorn"]
    bad = site.http.post(site.url + "/api/v1/match", json={"skills": "python"}, timeout=30)
    assert "skills" in problem(bad, 400)["detail"]
    problem(
        site.http.post(
            site.url + "/api/v1/match",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
            timeout=30,
        ),
        400,
    )


def test_paths_between_roles(site: Site) -> None:
    result = ok(site, "/api/v1/roles/ai-engineer/paths?to=ml-engineer")
    lengths = [p["length"] for p in result["paths"]]
    assert lengths == sorted(lengths)  # shortest first
    for found in result["paths"]:
        assert len(found["steps"]) == found["length"]
        assert found["steps"][0]["from_role"]["id"] == "ai-engineer"
        assert found["steps"][-1]["to_role"]["id"] == "ml-engineer"
    path = result["paths"][0]  # the article's direct transition
    assert path["length"] == 1
    (step,) = path["steps"]
    assert step["from_role"]["id"] == "ai-engineer"
    assert step["to_role"]["id"] == "ml-engineer"
    assert step["transition"]["id"] == "ai-engineer-to-ml-engineer"
    assert "data-analysis" in ids(step["bridging_skills"])


def test_transitions_say_whether_they_are_derived_and_what_carries_over(site: Site) -> None:
    """A transition's shared skills and its derived flag, over REST, are what the graph says (SPARQL oracle)."""
    derived = slugs_of(
        site, f"?x ckg:fromRole ?r ; <http://purl.org/dc/terms/source> <{ID}source/careerkg-skill-overlap>"
    )
    assert derived  # the oracle finds derived transitions in the shipped data
    for slug in ("data-analyst", "ml-engineer"):
        role = ok(site, f"/api/v1/roles/{slug}")
        seen = role["transitions_to"] + role["transitions_from"]
        assert seen, slug
        for transition in seen:
            assert transition["derived"] == (transition["id"] in derived), transition["id"]
            shared = slugs_of(site, f"<{ID}transition/{transition['id']}> ckg:sharedSkill ?x")
            assert sorted(ids(transition["shared_skills"])) == shared
            bridging = slugs_of(site, f"<{ID}transition/{transition['id']}> ckg:bridgingSkill ?x")
            assert sorted(ids(transition["bridging_skills"])) == bridging
    ai_transitions = ok(site, "/api/v1/roles/ai-engineer")["transitions_to"]
    stated = next(t for t in ai_transitions if t["id"] == "ai-engineer-to-ml-engineer")  # the article's
    assert stated["derived"] is False
    assert stated["shared_skills"] == []


def test_stats(site: Site) -> None:
    stats = ok(site, "/api/v1/stats")
    assert stats["counts"]["role"] == count_of(site, "ckg:Role")
    assert stats["counts"]["tool"] == count_of(site, "ckg:Tool")
    assert stats["triples"] > 1000
    assert {"en", "de", "fr", "es"} <= set(stats["languages"])


# --- HTTP manners ----------------------------------------------------------------------------


def test_etag_304_and_change_after_a_write(site_factory: Callable[..., Site]) -> None:
    server = site_factory(write_token=WRITE_TOKEN)
    first = get(server, "/api/v1/tools/keras")
    etag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]
    again = get(server, "/api/v1/tools/keras", **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = get(server, "/api/v1/tools/keras?lang=de")
    assert other.headers["ETag"] != etag  # another representation
    write = server.http.post(
        server.url + "/sparql",
        data=b"PREFIX ckg: <https://w3id.org/careerkg/ontology#> "
        b'INSERT DATA { <https://w3id.org/careerkg/id/tool/keras> ckg:strength "portable"@en }',
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=30,
    )
    assert write.status_code == 204
    after = get(server, "/api/v1/tools/keras", **{"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    assert "portable" in after.json()["strengths"]


def test_cors_for_any_origin_and_preflight(site: Site) -> None:
    response = get(site, "/api/v1/roles", Origin="https://careers.example")
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://careers.example")
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    preflight = site.http.options(
        site.url + "/api/v1/match",
        headers={
            "Origin": "https://careers.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
        timeout=10,
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_cors_origins_are_configurable(site_factory: Callable[..., Site]) -> None:
    server = site_factory(cors_origins="https://allowed.example")
    allowed = get(server, "/api/v1/roles", Origin="https://allowed.example")
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://allowed.example"
    other = get(server, "/api/v1/roles", Origin="https://other.example")
    assert "Access-Control-Allow-Origin" not in other.headers


def test_json_ld_with_the_context(site: Site) -> None:
    response = get(site, "/api/v1/roles/ai-engineer", Accept="application/ld+json")
    assert response.headers["Content-Type"] == "application/ld+json"
    document = response.json()
    context_url = document["@context"]
    assert context_url.endswith("/ontology/context.jsonld")
    context = site.http.get(context_url, timeout=10).json()
    document["@context"] = context["@context"]  # the parser does not fetch remote contexts
    triples = set(ox.parse(json.dumps(document).encode(), format=ox.RdfFormat.JSON_LD))
    subject = ox.NamedNode(ID + "role/ai-engineer")
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    ckg = "https://w3id.org/careerkg/ontology#"
    assert ox.Quad(subject, rdf_type, ox.NamedNode(ckg + "Role")) in triples
    assert ox.Quad(subject, ox.NamedNode(ckg + "usesTool"), ox.NamedNode(ID + "tool/pytorch")) in triples
    assert any(q.subject == subject and q.predicate == label for q in triples)


# --- linked data, docs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "syntax"),
    [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
    ],
)
def test_iris_dereference_to_rdf(site: Site, accept: str, syntax: ox.RdfFormat) -> None:
    response = get(site, "/id/tool/keras", Accept=accept)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(accept)
    quads = set(ox.parse(response.content, format=syntax))
    keras, tensorflow = ox.NamedNode(ID + "tool/keras"), ox.NamedNode(ID + "tool/tensorflow")
    assert ox.Quad(keras, ox.NamedNode("https://w3id.org/careerkg/ontology#interfaceTo"), tensorflow) in quads


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_iris_dereference_to_html_for_browsers(site: Site) -> None:
    response = get(site, "/id/role/ml-engineer", Accept=BROWSER)
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<h1>ML Engineer</h1>" in response.text
    assert '<a href="/id/tool/keras">Keras</a>' in response.text  # local links, named by their labels
    assert '#usesTool">uses tool</dt>' in response.text  # properties named by the ontology's labels
    assert "Pointing here" in response.text
    assert "ckg:usesTool" not in response.text
    # An outside IRI links out, named by the ontology's label of it where there is one: ESCO's skill types.
    typed = site.core.store.query(
        "SELECT ?skill ?type WHERE { ?skill <http://data.europa.eu/esco/model#skillType> ?type } LIMIT 1"
    )
    assert isinstance(typed, ox.QuerySolutions)
    row = next(iter(typed))
    names = dict(rdflib.Graph().parse(dataset.ontology_path()).subject_objects(rdflib.RDFS.label))
    name = str(names[rdflib.URIRef(row["type"].value)])
    assert name in ("knowledge", "skill/competence")
    page = get(site, "/id/skill/" + row["skill"].value.rsplit("/", 1)[1], Accept=BROWSER).text
    assert f'<a href="{row["type"].value}">{html.escape(name)}</a>' in page


def test_a_page_is_in_the_readers_language_and_marks_what_is_not(site: Site) -> None:
    page = get(site, "/id/role/ai-engineer", Accept=BROWSER, **{"Accept-Language": "de-DE, de;q=0.9, en;q=0.5"})
    assert page.headers["Content-Language"] == "de"
    assert "<h1>KI-Ingenieur</h1>" in page.text
    assert '<p class="lead" lang="en">' in page.text  # no German description: the English one, marked
    chosen = get(site, "/id/role/ai-engineer?lang=fr", Accept=BROWSER, **{"Accept-Language": "de"})
    assert chosen.headers["Content-Language"] == "fr"
    assert "Accept-Language" in page.headers["Vary"]


def test_a_missing_page_is_a_page_for_browsers_and_a_problem_for_programs(site: Site) -> None:
    page = get(site, "/id/role/astronaut", Accept=BROWSER)
    assert (page.status_code, page.headers["Content-Type"]) == (404, "text/html; charset=utf-8")
    assert "no resource https://w3id.org/careerkg/id/role/astronaut" in page.text
    problem(get(site, "/id/role/astronaut"), 404)
    problem(get(site, "/api/v1/roles/astronaut", Accept=BROWSER), 404)  # the API answers programs, always


def test_json_and_mediatype_on_an_iri(site: Site) -> None:
    turtle = get(site, "/id/tool/keras", Accept="text/turtle")
    as_json = get(site, "/id/tool/keras", Accept="application/json")
    assert as_json.headers["Content-Type"].startswith("application/ld+json")
    body = as_json.json()
    assert body["iri"] == ID + "tool/keras"
    assert body["@context"]["ckg"] == "https://w3id.org/careerkg/ontology#"  # compacted, the context inline
    same = set(ox.parse(as_json.content, format=ox.RdfFormat.JSON_LD))
    assert same == set(ox.parse(turtle.content, format=ox.RdfFormat.TURTLE))
    links = requests.utils.parse_header_links(turtle.headers["Link"])
    alternates = {link["type"]: link["url"] for link in links if link["rel"] == "alternate"}
    assert set(alternates) == {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json"}
    for media_type, url in alternates.items():
        asked = get(site, url, Accept=BROWSER)  # a link a browser follows gets the data it names
        assert asked.headers["Content-Type"].startswith(media_type)
    assert get(site, "/id/tool/keras?_mediatype=ttl").headers["Content-Type"].startswith("text/turtle")
    wrong = problem(get(site, "/id/tool/keras?_mediatype=image/png"), 400)
    assert "text/turtle" in wrong["detail"]


def test_the_ontology_is_served_at_its_namespace(site: Site) -> None:
    page = get(site, "/ontology", Accept=BROWSER)
    assert page.headers["Content-Type"].startswith("text/html")
    ontology = set(ox.parse(path=str(dataset.ontology_path())))
    owl_class = ox.NamedNode("http://www.w3.org/2002/07/owl#Class")
    classes = {q.subject.value for q in ontology if q.object == owl_class and q.subject.value.startswith(CKG)}
    assert classes
    for iri in classes:
        assert f'id="{iri.rsplit("#", 1)[1]}"' in page.text  # every class has its anchor: ckg:Role is /ontology#Role
    turtle = set(ox.parse(get(site, "/ontology", Accept="text/turtle").content, format=ox.RdfFormat.TURTLE))
    assert len(turtle) == len(ontology)

    def named(quads: set[ox.Quad]) -> set[ox.Quad]:
        return {q for q in quads if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)}

    assert named(turtle) == named(ontology)


def test_openapi_document_and_docs_page(site: Site) -> None:
    document = ok(site, "/openapi.json")
    assert document["openapi"].startswith("3.1")
    paths = set(document["paths"])
    for route in (
        "/api/v1/roles",
        "/api/v1/roles/{id}",
        "/api/v1/skills/{id}/roles",
        "/api/v1/search",
        "/api/v1/suggest",
        "/api/v1/compare",
        "/api/v1/roles/{id}/gap",
        "/api/v1/match",
        "/api/v1/roles/{id}/paths",
        "/api/v1/stats",
    ):
        assert route in paths
    responses = document["paths"]["/api/v1/roles/{id}"]["get"]["responses"]
    assert "application/problem+json" in responses["404"]["content"]
    docs = get(site, "/docs")
    assert docs.status_code == 200
    assert "/docs/swagger/js/swagger-ui-bundle.js" in docs.text
    assert get(site, "/docs/swagger/js/swagger-ui-bundle.js").status_code == 200


def test_answers_are_the_same_bytes_until_the_data_changes(site_factory) -> None:  # type: ignore[no-untyped-def]
    server = site_factory(write_token=WRITE_TOKEN)
    first = get(server, "/api/v1/roles/ai-engineer?lang=de")
    again = get(server, "/api/v1/roles/ai-engineer?lang=de")
    assert again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Content-Type"] == first.headers["Content-Type"] == "application/json"
    as_json_ld = get(server, "/api/v1/roles/ai-engineer?lang=de", Accept="application/ld+json")
    assert as_json_ld.headers["Content-Type"] == "application/ld+json"  # another answer, not the cached JSON
    assert as_json_ld.headers["ETag"] != first.headers["ETag"]
    changed = server.http.patch(
        server.url + "/api/v1/roles/ai-engineer",
        json={"description": {"de": "Eine neue Beschreibung."}},
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=30,
    )
    assert changed.status_code == 200, changed.text
    after = get(server, "/api/v1/roles/ai-engineer?lang=de")
    assert after.headers["ETag"] != first.headers["ETag"]
    assert after.json()["description"] == "Eine neue Beschreibung."


def test_if_none_match_star_matches_only_an_answer_that_exists(site: Site) -> None:
    """RFC 9110: "*" matches when there is a current representation; an error answer is never turned into a 304."""
    star = {"If-None-Match": "*"}
    assert get(site, "/api/v1/roles/ai-engineer", **star).status_code == 304
    assert get(site, "/api/v1/roles/ai-engineer", **star).status_code == 304  # from the answer cache too
    assert get(site, "/api/v1/roles/no-such-role", **star).status_code == 404
    assert get(site, "/api/v1/roles?limit=0", **star).status_code == 400
    assert get(site, "/api/v1/search?q=", **star).status_code == 400


def test_the_answer_cache_stays_within_its_bytes_however_headers_vary(site_factory) -> None:  # type: ignore[no-untyped-def]
    """Each variation of Accept is an answer of its own in the cache: a client varying it makes new entries, and the
    cache drops the least recently used to stay within its bytes, answering every request the same."""
    from service.blueprints.api import _ANSWERS, Answers

    server = site_factory()
    answers = server.app.extensions[_ANSWERS] = Answers(max_bytes=640_000)
    first = get(server, "/api/v1/roles/ai-engineer")
    size = len(first.content)
    assert 10_000 < size < answers.max_bytes // 16  # cached, and forty of them are more than the room
    for n in range(40):
        again = get(server, "/api/v1/roles/ai-engineer", Accept=f"application/json, x/y{n};q=0.1")
        assert again.content == first.content
    assert answers.bytes <= answers.max_bytes
    assert len(answers) * size <= answers.max_bytes < 40 * size  # it filled up and dropped entries
    assert len(answers) >= answers.max_bytes // size // 2


def test_links_name_the_public_host_behind_a_trusted_proxy(site_factory) -> None:  # type: ignore[no-untyped-def]
    forwarded = {"X-Forwarded-Host": "careers.example", "X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/kg"}
    behind = site_factory(proxy_hops=1)
    body = get(behind, "/api/v1/skills?limit=10", **forwarded).json()
    assert body["next"].startswith("https://careers.example/kg/api/v1/skills?")
    json_ld = get(behind, "/api/v1/roles/ai-engineer", Accept="application/ld+json", **forwarded).json()
    assert json_ld["@context"] == "https://careers.example/kg/ontology/context.jsonld"
    direct = site_factory()  # no proxy trusted: the headers are anyone's, and ignored
    assert get(direct, "/api/v1/skills?limit=10", **forwarded).json()["next"].startswith(direct.url + "/api/v1/")


def test_language_from_accept_language_unless_lang_is_given(site: Site) -> None:
    german = get(site, "/api/v1/roles/ai-engineer", **{"Accept-Language": "fr;q=0.5, de"})
    assert german.json()["label"] == "KI-Ingenieur"
    assert german.headers["Content-Language"] == "de"
    assert "Accept-Language" in german.headers["Vary"]
    asked = get(site, "/api/v1/roles/ai-engineer?lang=es", **{"Accept-Language": "de"})
    assert asked.headers["Content-Language"] == "es"  # ?lang= wins
    regional = get(site, "/api/v1/roles/ai-engineer?lang=de-AT")
    assert (regional.json()["label"], regional.headers["Content-Language"]) == ("KI-Ingenieur", "de")
    unknown = get(site, "/api/v1/roles/ai-engineer?lang=xx")
    assert (unknown.json()["label"], unknown.headers["Content-Language"]) == ("AI Engineer", "en")  # marked
    assert german.headers["ETag"] != get(site, "/api/v1/roles/ai-engineer").headers["ETag"]


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es", "de-AT"])
def test_lists_are_in_the_order_of_the_answers_labels(site: Site, lang: str) -> None:
    labels = [item["label"] for item in ok(site, f"/api/v1/roles?limit=100&lang={lang}")["items"]]
    assert len(labels) > 10
    assert labels == sorted(labels, key=str.casefold)


def test_answers_are_compressed_when_the_client_asks(site: Site) -> None:
    raw = site.app.test_client().get("/api/v1/roles/ai-engineer", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in raw.headers["Vary"]
    import gzip

    assert json.loads(gzip.decompress(raw.get_data()))["id"] == "ai-engineer"
    plain = site.app.test_client().get("/api/v1/roles/ai-engineer", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert len(plain.get_data()) > len(raw.get_data())
    # The encoded answer's ETag still gives a 304.
    again = site.app.test_client().get(
        "/api/v1/roles/ai-engineer", headers={"Accept-Encoding": "gzip", "If-None-Match": raw.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.get_data() == b""


# Answers whose ETag the app computes from their bytes (they have none of their own).
DOCUMENTS = [
    ("/id/tool/keras", "text/turtle"),
    ("/id/role/ai-engineer", "text/html"),
    ("/openapi.json", "application/json"),
    ("/sparql", "text/turtle"),  # the service description
    ("/", "text/html"),
]


@pytest.mark.parametrize(("path", "accept"), DOCUMENTS)
def test_a_false_if_match_is_412_however_the_answer_is_encoded(site: Site, path: str, accept: str) -> None:
    """RFC 9110 section 13.1.1: a server must not perform the method when If-Match is false, GET included."""
    for encoding in ("identity", "gzip"):
        headers = {"Accept": accept, "Accept-Encoding": encoding}
        etag = get(site, path, **headers).headers["ETag"]  # (each encoding of an answer has its own)
        assert get(site, path, **headers, **{"If-Match": '"other"'}).status_code == 412, encoding
        assert get(site, path, **headers, **{"If-Match": etag}).status_code == 200, encoding
        assert get(site, path, **headers, **{"If-Match": "*"}).status_code == 200, encoding  # there is an answer


@pytest.mark.parametrize(("path", "accept"), DOCUMENTS)
def test_documents_carry_validators(site: Site, path: str, accept: str) -> None:
    first = get(site, path, Accept=accept)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    again = get(site, path, Accept=accept, **{"If-None-Match": "W/" + etag})
    assert again.status_code == 304
    assert again.content == b""


# --- the OpenAPI document's examples --------------------------------------------------------------------------


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in document["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in operations.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A JSON Schema 2020-12 validator for a schema of the document (its $refs point into the components)."""
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def test_every_operation_shows_an_example_that_fits_its_schema(site: Site) -> None:
    document = ok(site, "/openapi.json")
    operations = _operations(document)
    assert len(operations) >= 45
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        answers = [
            content
            for status in ("200", "201")
            for content in operation["responses"].get(status, {}).get("content", {}).values()
            if "example" in content
        ]
        assert answers, f"{where} shows no example answer"
        for content in answers:
            errors = list(_validator(document, content["schema"]).iter_errors(content["example"]))
            assert not errors, f"{where}: {errors[0].message}"
        for parameter in operation.get("parameters", []):
            if parameter.get("required"):
                assert "example" in parameter, f"{where}: no example of {parameter['name']}"
        for content in operation.get("requestBody", {}).get("content", {}).values():
            assert "example" in content, f"{where} shows no example body"
            errors = list(_validator(document, content["schema"]).iter_errors(content["example"]))
            assert not errors, f"{where} body: {errors[0].message}"


def test_the_examples_are_what_the_shipped_graph_answers() -> None:
    built = examples.build()
    assert built == examples.load(), "the data changed since the examples were made: python -m service.api.examples"


# --- REST JSON-LD as RDF ------------------------------------------------------------------------------------------

SKOS = "http://www.w3.org/2004/02/skos/core#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"


@pytest.mark.parametrize("collection", ["roles", "tools", "skills", "industries", "applications", "credentials"])
def test_rest_json_ld_states_what_the_graph_states(site: Site, collection: str) -> None:
    """Every field of a detail answer is RDF under the published context, and every statement it makes is in the
    graph: each link (a type by way of the class hierarchy; an external id as skos:mappingRelation, the
    super-property of the exact or close match the graph has), and each text or value as the very literal the
    graph holds, language tag or datatype included (a field that falls back to English says so)."""
    context = json.loads(dataset.ontology_path().with_name("context.jsonld").read_text(encoding="utf-8"))["@context"]
    store = site.core.store
    limit = 6 if collection == "roles" else 4  # JSON-LD parsing is slow: the richest kind gets the most items
    items = ok(site, f"/api/v1/{collection}?limit={limit}")["items"]
    for item, lang in [(i, lang) for i in items for lang in ("en", "de")]:
        url = f"/api/v1/{collection}/{item['id']}?lang={lang}"
        body = get(site, url, Accept="application/ld+json").json()
        assert body.pop("@context").endswith("/ontology/context.jsonld")
        graph = rdflib.Graph().parse(data=json.dumps({"@context": context, **body}), format="json-ld")
        for s, p, o in graph:
            if isinstance(o, rdflib.Literal):
                if isinstance(s, rdflib.URIRef):
                    literal = rdfio.to_oxigraph(o)
                    assert store.contains(ox.Quad(ox.NamedNode(str(s)), ox.NamedNode(str(p)), literal)), (s, p, o)
                continue
            if not isinstance(o, rdflib.URIRef):
                continue
            this, that = ox.NamedNode(str(s)), ox.NamedNode(str(o))
            if str(p) == RDF_TYPE:
                stated = f"ASK {{ ?s a/<{RDFS_SUBCLASS}>* ?t }}"
                assert store.query(stated, bindings={"s": this, "t": that}), (s, p, o)
            elif str(p) == SKOS + "mappingRelation":
                assert any(
                    store.contains(ox.Quad(this, ox.NamedNode(SKOS + m), that)) for m in ("exactMatch", "closeMatch")
                )
            else:
                assert store.contains(ox.Quad(this, ox.NamedNode(str(p)), that)), (s, p, o)
        for key, value in body.items():
            empty = value in (None, [], {}, "") or (isinstance(value, dict) and not any(value.values()))
            if key in ("id", "iri", "type") or empty:
                continue
            alone = {"@context": context, "iri": body["iri"], "type": body["type"], key: value}
            assert len(rdflib.Graph().parse(data=json.dumps(alone), format="json-ld")) > 1, f"{item['id']}: {key}"


# --- wages ----------------------------------------------------------------------------------------------------------

FIGURES = """
PREFIX ckg: <https://w3id.org/careerkg/ontology#>
PREFIX schema: <https://schema.org/>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?role ?insight ?property ?value ?date ?source WHERE {
  ?insight ckg:aboutRole ?role ; ckg:salaryFigure ?figure .
  ?figure ?property ?value ; dcterms:date ?date ; dcterms:source ?source .
  FILTER (?property IN (schema:percentile10, schema:percentile25, schema:median, schema:percentile75,
                        schema:percentile90, schema:minValue, schema:maxValue))
}"""


def test_role_details_show_every_wage_figure_with_its_date_and_source(site: Site) -> None:
    """Each figure the graph has for a role is in the role's detail, with its date and the source it cites; the
    percentiles a figure gives are in order."""
    names = {"percentile10", "percentile25", "median", "percentile75", "percentile90", "minValue", "maxValue"}
    rows = list(site.core.store.query(FIGURES))
    assert rows, "the shipped graph has wage figures"
    for row in rows:
        slug = row["role"].value.rsplit("/", 1)[1]
        insight = next(
            i for i in ok(site, f"/api/v1/roles/{slug}")["salary_insights"] if i["iri"] == row["insight"].value
        )
        (figure,) = insight["figures"]
        field_name = {"minValue": "min", "maxValue": "max"}.get(name := row["property"].value.split("/")[-1], name)
        assert name in names
        assert figure[field_name] == float(row["value"].value)
        assert figure["date"] == row["date"].value
        assert row["source"].value in {s["iri"] for s in figure["sources"]}
        given = [figure[k] for k in ("percentile10", "percentile25", "median", "percentile75", "percentile90")]
        present = [v for v in given if v is not None]
        assert present == sorted(present)


# --- who says so ----------------------------------------------------------------------------------------------------

STATED = """
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?this ?p ?o ?source WHERE {
  ?record a rdf:Statement ; rdf:subject ?this ; rdf:predicate ?p ; rdf:object ?o ;
      <http://purl.org/dc/terms/source> ?source .
}"""
LINKS = {
    "essential_skills": "essentialSkill",
    "optional_skills": "optionalSkill",
    "tools": "usesTool",
    "industries": "inIndustry",
    "applications": "worksOnApplication",
    "responsibilities": "hasResponsibility",
}


@pytest.mark.parametrize("slug", ["ai-engineer", "ml-engineer", "data-scientist"])
def test_each_link_of_a_role_names_the_sources_that_state_it(site: Site, slug: str) -> None:
    """A role's links carry the ids of the source documents their records cite (none for a link no source states)."""
    role = ok(site, f"/api/v1/roles/{slug}")
    said: dict[tuple[str, str], set[str]] = {}
    for row in site.core.store.query(STATED, bindings={"this": ox.NamedNode(role["iri"])}):
        said.setdefault((row["p"].value, row["o"].value), set()).add(row["source"].value.rsplit("/", 1)[1])
    for field_name, local in LINKS.items():
        for item in role[field_name]:
            assert set(item["stated_by"]) == said.get((CKG + local, item["iri"]), set()), (field_name, item["id"])


def test_the_article_states_its_roles_links(site: Site) -> None:
    role = ok(site, "/api/v1/roles/ai-engineer")
    article = "ai-engineer-vs-ml-engineer"
    assert {t["id"] for t in role["tools"] if article in t["stated_by"]} == {"tensorflow", "pytorch"}
    assert all(article not in a["stated_by"] for a in role["applications"])  # CareerKG's inference, not the article's


def test_a_resource_page_says_who_states_each_value(site: Site) -> None:
    page = get(site, "/id/role/ai-engineer", Accept="text/html").text
    tensorflow = page[page.index('href="/id/tool/tensorflow"') :]
    item = tensorflow[: tensorflow.index("</li>")]
    assert "stated by" in item
    assert 'href="/id/source/ai-engineer-vs-ml-engineer"' in item


@pytest.mark.parametrize("source", ["ai-engineer-vs-ml-engineer", "careerkg-curation"])
def test_a_source_page_lists_what_it_states(site: Site, source: str) -> None:
    """A source's page lists the statements its records cite, labelled (not the records' hashes); past the first
    STATES_SHOWN, a link to all of them in the query editor, which answers every one."""
    query = f"""PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?s ?p ?o WHERE {{ ?r dcterms:source <{ID}source/{source}> ; a rdf:Statement ;
            rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o . ?s ?p ?o }}"""
    stated = list(site.core.store.query(query))
    page = get(site, f"/id/source/{source}", Accept="text/html").text
    assert f"What it states <small>({len(stated)} statements)</small>" in page
    listed = page[page.index('<ul class="states">') : page.index("</ul>", page.index('<ul class="states">'))]
    assert listed.count("<li>") == min(len(stated), STATES_SHOWN)
    assert "/id/statement/" not in page  # the records themselves are not listed as pointing here
    if source == "ai-engineer-vs-ml-engineer":
        assert (
            '<a href="/id/role/ai-engineer">AI Engineer</a> <span class="property">uses tool</span> '
            '<a href="/id/tool/tensorflow">TensorFlow</a>' in listed
        )
    else:
        assert len(stated) > STATES_SHOWN
        link = re.search(r'<a href="([^"]+)">all (\d+) in the query editor', page)
        assert link is not None
        assert int(link.group(2)) == len(stated)
        answer = get(site, html.unescape(link.group(1)), Accept="application/sparql-results+json")
        assert len(answer.json()["results"]["bindings"]) == len(stated)


def test_a_value_many_sources_state_shows_two_and_folds_the_rest(site: Site) -> None:
    page = get(site, "/id/role/mlops-engineer", Accept="text/html").text
    tool = page[page.index('href="/id/skill/containerisation"') :]
    item = tool[: tool.index("</li>")]
    query = """PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT DISTINCT ?s WHERE { ?r rdf:subject <https://w3id.org/careerkg/id/role/mlops-engineer> ;
            rdf:predicate <https://w3id.org/careerkg/ontology#essentialSkill> ;
            rdf:object <https://w3id.org/careerkg/id/skill/containerisation> ; dcterms:source ?s }"""
    rows = site.http.get(site.url + "/sparql", params={"query": query}, timeout=30).json()["results"]["bindings"]
    sources = {b["s"]["value"].removeprefix("https://w3id.org/careerkg") for b in rows}
    assert len(sources) > 2
    shown, folded = item.split("<details", 1)
    assert sum(f'href="{s}"' in shown for s in sources) == 2
    assert all(f'href="{s}"' in shown + folded for s in sources)
    assert f"and {len(sources) - 2} more source{'s' if len(sources) > 3 else ''}</summary>" in folded


def test_role_detail_gives_the_levels_frameworks_place_the_role_at(site: Site) -> None:
    """A levelled role names each rung, its rank, its ladder and the source that places the role there; an
    unlevelled role gives an empty list. Expectations from SPARQL, not from the REST code."""
    rows = site.http.get(
        site.url + "/sparql",
        params={
            "query": "PREFIX ckg: <https://w3id.org/careerkg/ontology#> "
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
            "SELECT ?role ?level ?rank ?ladder WHERE { ?role a ckg:Role ; ckg:level ?level . "
            "?level ckg:rank ?rank ; skos:inScheme ?ladder }"
        },
        timeout=30,
    ).json()["results"]["bindings"]
    expected: dict[str, set[tuple[str, int, str]]] = {}
    for row in rows:
        expected.setdefault(row["role"]["value"].rsplit("/", 1)[1], set()).add(
            (row["level"]["value"].rsplit("/", 1)[1], int(row["rank"]["value"]), row["ladder"]["value"])
        )
    assert any(len(levels) > 1 for levels in expected.values()), "no role on two ladders: the list goes untested"
    for slug, levels in expected.items():
        role = ok(site, f"/api/v1/roles/{slug}")
        assert {(lv["id"], lv["rank"], lv["ladder"]["iri"]) for lv in role["levels"]} == levels
        assert len(role["levels"]) == len(levels)
        for level in role["levels"]:
            assert (level["type"], level["ladder"]["type"]) == ("level", "ladder")
            assert level["stated_by"], f"{slug}: no source for its level {level['id']}"
    unlevelled = sorted(set(slugs_of(site, "?x a ckg:Role")) - set(expected))
    assert unlevelled
    assert ok(site, f"/api/v1/roles/{unlevelled[0]}")["levels"] == []


def test_skill_detail_gives_escos_type(site: Site) -> None:
    """Knowledge or skill (ESCO's skill/competence), as ESCO types the same concept; null for a skill no source
    types."""
    esco = "<http://data.europa.eu/esco/model#skillType>"
    for kind in ("knowledge", "skill"):
        typed = slugs_of(site, f"?x {esco} <http://data.europa.eu/esco/skill-type/{kind}>")
        assert typed, kind
        assert ok(site, f"/api/v1/skills/{typed[0]}")["skill_type"] == kind
    untyped = sorted(set(slugs_of(site, "?x a ckg:Skill")) - set(slugs_of(site, f"?x {esco} ?t")))
    assert ok(site, f"/api/v1/skills/{untyped[0]}")["skill_type"] is None


def test_skill_detail_lists_related_skills_both_ways_with_how_they_differ(site: Site) -> None:
    """Near-duplicate skills kept apart (skos:related): each skill's answer lists the others, with who says so, and
    says in its scope note how it differs; a skill related to none lists none."""
    pairs = site.core.store.query("SELECT ?a ?b WHERE { ?a <http://www.w3.org/2004/02/skos/core#related> ?b }")
    assert isinstance(pairs, ox.QuerySolutions)
    related: dict[str, set[str]] = {}
    for row in pairs:
        related.setdefault(row["a"].value.rsplit("/", 1)[1], set()).add(row["b"].value.rsplit("/", 1)[1])
    assert len(related) >= 2
    for slug, others in related.items():
        detail = ok(site, f"/api/v1/skills/{slug}")
        assert {r["id"] for r in detail["related"]} == others, slug
        assert all(r["stated_by"] for r in detail["related"]), slug
        assert detail["scope_note"], slug
        for other in others:
            assert slug in related[other], (slug, other)  # stated back
    alone = sorted(set(slugs_of(site, "?x a ckg:Skill")) - set(related))[0]
    assert ok(site, f"/api/v1/skills/{alone}")["related"] == []
