"""No request can crash the service, make it answer 5xx, or change data it should not (issue #20), in process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pyoxigraph as ox
import pytest
import requests

from tests.inprocess import Site
from tests.robustness_corpus import AUTH, CORPUS, JSON_W, Bad
from tests.support import WRITE_TOKEN


def dump(site: Site) -> bytes:
    """Every statement of the app's dataset as N-Quads, read from its store (in process: no CONSTRUCT of the whole
    dataset through the endpoint per case; the server tier reads it over HTTP). The store writes its quads in the
    order of their encoded terms, so the same statements give the same bytes."""
    return site.core.store.dump(ox.RdfFormat.N_QUADS)


def assert_unchanged(site: Site, before: bytes, why: str) -> None:
    after = dump(site)
    if after != before:
        old, new = (set(ox.parse(d, format=ox.RdfFormat.N_QUADS)) for d in (before, after))
        raise AssertionError(
            f"{why} changed the data: lost {sorted(map(str, old - new))[:5]}, gained {sorted(map(str, new - old))[:5]}"
        )


def send(site: Site, bad: Bad) -> requests.Response:
    return site.http.request(bad.method, site.url + bad.path, data=bad.body, headers=bad.headers, timeout=60)


@pytest.fixture(scope="module")
def guarded(filled_store: object) -> Site:
    """One app for the corpus; it must end with exactly the data it began with."""
    from service.app import create_app
    from service.store import EmbeddedStore

    store = EmbeddedStore()
    store.add(filled_store.quads())  # type: ignore[attr-defined]
    return Site(create_app({"store": "memory", "write_token": WRITE_TOKEN}, store=store))


@pytest.fixture(scope="module")
def original(guarded: Site) -> Iterator[tuple[int, str]]:
    """The size and write count of the data the guarded app began with; once this process's cases are done, its
    data is compared with what it began with, statement for statement (a dump per case took 6 s of the fast tier)."""
    before = dump(guarded)
    store = guarded.core.store
    yield len(store), store.version_token()
    assert_unchanged(guarded, before, "a case of the corpus")


@pytest.mark.parametrize("bad", CORPUS, ids=lambda b: b.name)
def test_bad_input_gets_no_5xx_and_changes_nothing(guarded: Site, original: tuple[int, str], bad: Bad) -> None:
    response = send(guarded, bad)
    assert response.status_code < 500, f"{bad.name}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400 and response.content:
        assert response.headers["Content-Type"] == "application/problem+json", bad.name
        assert response.json()["detail"], bad.name
    store = guarded.core.store
    assert (len(store), store.version_token()) == original, f"{bad.name} changed the data"
    assert guarded.http.get(guarded.url + "/health", timeout=10).status_code == 200


def test_the_corpus_attacks_every_route_that_takes_input(guarded: Site) -> None:
    """Every route with a path variable or a request body is attacked by at least one entry of the corpus."""
    attacked = {bad.path.split("?")[0] for bad in CORPUS}
    for rule in guarded.app.url_map.iter_rules():
        takes_body = bool((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"})
        if "<" not in rule.rule and not takes_body:
            continue
        if rule.rule.startswith(("/docs", "/static")):
            continue  # files served as they are
        fixed = rule.rule.split("<")[0]
        assert any(path.startswith(fixed) for path in attacked), rule.rule


# --- the reproductions of issue #20, one by one ------------------------------------------------------


def test_deep_json_ld_to_validate_is_400_not_a_crash(guarded: Site) -> None:
    body = b'{"a":' * 5000 + b"1" + b"}" * 5000
    response = guarded.http.post(
        guarded.url + "/validate", data=body, headers={"Content-Type": "application/ld+json"}, timeout=60
    )
    assert response.status_code == 400
    assert "deep" in response.json()["detail"] or "nested" in response.json()["detail"]


def test_a_billion_laughs_is_refused_before_it_is_parsed(guarded: Site) -> None:
    laughs = next(b for b in CORPUS if b.name == "validate-laughs")
    response = send(guarded, laughs)
    assert response.status_code == 400
    assert "entity" in response.json()["detail"]


def test_a_literal_over_the_limit_is_413(site_factory: Callable[..., Site]) -> None:
    small = site_factory(write_token=WRITE_TOKEN, max_literal=100)
    body = {"label": {"en": "x" * 101}, "description": {"en": "d"}, "sources": ["ai-engineer-vs-ml-engineer"]}
    body["links"] = {"categories": ["library"]}  # what the schema says a tool needs
    response = small.http.put(small.url + "/api/v1/tools/long", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 413
    assert "CAREERKG_MAX_LITERAL" in response.json()["detail"]
    turtle = b'<http://e/s> <http://e/p> "' + b"y" * 101 + b'" .'
    graph = small.http.put(
        small.url + "/graph-store?graph=http://e/g", data=turtle, headers={"Content-Type": "text/turtle", **AUTH}
    )
    assert graph.status_code == 413


def test_patch_of_a_language_map_merges_and_null_removes(site_factory: Callable[..., Site]) -> None:
    site = site_factory(write_token=WRITE_TOKEN)
    url = site.url + "/api/v1/roles/ai-engineer"
    before = site.http.get(url, params={"lang": "de"}, timeout=30).json()["label"]
    assert before != site.http.get(url, timeout=30).json()["label"]  # a German label exists
    changed = site.http.patch(url, json={"label": {"fr": "Ingénieur IA"}}, headers=AUTH, timeout=30)
    assert changed.status_code == 200, changed.text
    assert site.http.get(url, params={"lang": "fr"}, timeout=30).json()["label"] == "Ingénieur IA"
    assert site.http.get(url, params={"lang": "de"}, timeout=30).json()["label"] == before  # untouched
    assert site.http.get(url, timeout=30).json()["label"] == "AI Engineer"
    removed = site.http.patch(url, json={"label": {"de": None}}, headers=AUTH, timeout=30)
    assert removed.status_code == 200, removed.text
    assert site.http.get(url, params={"lang": "de"}, timeout=30).json()["label"] == "AI Engineer"  # fallback
    refused = site.http.patch(url, json={"label": {"en": None}}, headers=AUTH, timeout=30)
    assert refused.status_code == 422  # the shapes need an English label
    assert site.http.get(url, timeout=30).json()["label"] == "AI Engineer"


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/api/v1/tools/x"), ("PATCH", "/api/v1/tools/keras"), ("DELETE", "/api/v1/tools/x")]
)
def test_a_write_without_a_token_is_401_before_its_body_is_read(guarded: Site, method: str, path: str) -> None:
    response = guarded.http.request(
        method, guarded.url + path, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    wrong = guarded.http.request(
        method, guarded.url + path, data=b"{not json", headers={**JSON_W, "Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 403


def test_ready_names_no_path_or_url(site_factory: Callable[..., Site], tmp_path: object) -> None:
    site = site_factory()
    body = site.http.get(site.url + "/ready", timeout=10).json()
    assert body["status"] == "ready"
    assert set(body) == {"status", "quads"}


def test_a_timed_out_query_before_its_first_bytes_is_503(site_factory: Callable[..., Site]) -> None:
    slow = site_factory(query_timeout=1)
    response = slow.http.post(
        slow.url + "/sparql",
        data=b"SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
        headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"},
        timeout=60,
    )
    assert response.status_code == 503
    assert response.json()["title"] == "Query timeout"
    metrics = slow.http.get(slow.url + "/metrics", timeout=10).text
    assert "careerkg_query_timeouts_total 1.0" in metrics


def test_a_query_past_its_memory_is_stopped_and_the_server_goes_on(site_factory: Callable[..., Site]) -> None:
    """A worker may take CAREERKG_QUERY_MEMORY beyond what it shares with the server: a query doubling a string
    (a thousand characters, nineteen times: half a gigabyte for the last one) is stopped there, not at its timeout."""
    site = site_factory(query_memory=64 * 1024 * 1024)
    doubling = " ".join(f"BIND(CONCAT(?x{i}, ?x{i}) AS ?x{i + 1})" for i in range(19))
    query = f'SELECT (STRLEN(?x19) AS ?n) WHERE {{ BIND("{"x" * 1000}" AS ?x0) {doubling} }}'
    answer = site.http.post(
        site.url + "/sparql", data=query.encode(), headers={"Content-Type": "application/sparql-query"}, timeout=60
    )
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["title"] == "Input too complex"
    fits = " ".join(f"BIND(CONCAT(?x{i}, ?x{i}) AS ?x{i + 1})" for i in range(5))
    small = f'SELECT (STRLEN(?x5) AS ?n) WHERE {{ BIND("{"x" * 1000}" AS ?x0) {fits} }}'
    ok = site.http.post(
        site.url + "/sparql",
        data=small.encode(),
        headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
        timeout=60,
    )
    assert ok.status_code == 200
    assert ok.json()["results"]["bindings"][0]["n"]["value"] == str(1000 * 2**5)


def test_made_up_methods_do_not_grow_the_metrics(site_factory: Callable[..., Site]) -> None:
    """Each label value is a series of its own in /metrics: methods a client invents count under one label."""
    site = site_factory()
    site.http.get(site.url + "/metrics", timeout=10)  # its own series are in from here on
    sizes = []
    for batch in range(2):
        for n in range(30):
            made_up = site.http.request(f"M{batch}{n:03d}XYZ", site.url + "/health", timeout=10)
            assert made_up.status_code == 405
        metrics = site.http.get(site.url + "/metrics", timeout=10).text
        assert "XYZ" not in metrics
        assert 'method="other",route="unmatched",status="405"}' + f" {30.0 * (batch + 1)}" in metrics
        sizes.append(len(metrics.splitlines()))
    assert sizes[0] == sizes[1]  # thirty more made-up methods: no new series


def test_a_long_error_never_reaches_another_request(guarded: Site) -> None:
    """A parser error quoting 70 KB of the input: its answer is this request's, and the next ones get theirs."""
    document = json.dumps({"@id": "http://e/x", "@type": "x" * 70_000 + " y"}).encode()
    for _ in range(3):
        bad = guarded.http.post(
            guarded.url + "/validate", data=document, headers={"Content-Type": "application/ld+json"}, timeout=60
        )
        assert bad.status_code < 500, bad.text[:300]
        good = guarded.http.get(guarded.url + "/sparql", params={"query": "ASK {}"}, timeout=30)
        assert good.status_code == 200
        assert good.json() == {"head": {}, "boolean": True}
