"""CareerKG in front of real Oxigraph servers: outages, several processes sharing one store, the CLI, credentials.

The store contract (tests/contract) and the W3C suites (tests/conformance) run on remote stores too; this
module covers what only a remote store has. Virtuoso's own cases are in tests/virtuoso.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import requests

from service.store import RemoteStore, StoreConflict, open_store
from service.store.remote import META
from tests.support import WRITE_TOKEN, Oxigraph, Server, run_cli

ROLE = "https://w3id.org/careerkg/id/role/"
AUTH = {"Authorization": f"Bearer {WRITE_TOKEN}"}
ENV = {"CAREERKG_WRITE_TOKEN": WRITE_TOKEN}


def wait_until(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``check`` until it returns true (the condition must come true, however long the machine takes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("the condition did not come true")


def status(url: str) -> int:
    try:
        return requests.get(url, timeout=10).status_code
    except requests.RequestException:
        return -1


def new_tool(label: str) -> dict[str, object]:
    """A REST body for a new tool."""
    return {
        "label": {"en": label},
        "description": {"en": f"{label}: a library added by a test."},
        "sources": ["ai-engineer-vs-ml-engineer"],
        "links": {"categories": ["library"], "skills": ["deep-learning"]},
    }


def test_a_downed_store_gives_503_and_the_service_recovers_by_itself(server_factory, oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    remote: Oxigraph = oxigraph_factory()
    server: Server = server_factory(*remote.store_args(), env=ENV)
    assert status(server.url + "/api/v1/roles/ai-engineer") == 200

    remote.stop()
    for path in ("/ready", "/api/v1/roles/ai-engineer", "/sparql?query=ASK%7B%7D", "/id/role/ai-engineer"):
        response = requests.get(server.url + path, timeout=10)  # a bound on a hang, not a timed assertion
        assert response.status_code == 503, path
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "cannot be reached" in response.json()["detail"]
    write = requests.put(server.url + "/api/v1/tools/new-role", json=new_tool("New"), headers=AUTH, timeout=10)
    assert write.status_code == 503
    assert status(server.url + "/health") == 200  # the process itself is fine
    # The operator reads why in the server's log, not only the client in its answer.
    logged = server.log.read_text()
    assert "GET /api/v1/roles/ai-engineer answered 503" in logged
    assert "PUT /api/v1/tools/new-role answered 503" in logged
    assert "cannot be reached" in logged

    remote.start()  # same folder, same port: the data is back
    wait_until(lambda: status(server.url + "/ready") == 200)
    assert requests.get(server.url + "/api/v1/roles/ai-engineer", timeout=10).json()["label"] == "AI Engineer"
    assert server.proc.poll() is None  # no restart happened


def test_a_server_started_before_its_store_fills_it_when_it_comes(server_factory, oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    remote: Oxigraph = oxigraph_factory()
    remote.stop()
    server: Server = server_factory(*remote.store_args(), wait=False)
    wait_until(lambda: status(server.url + "/health") == 200)
    assert status(server.url + "/ready") == 503
    remote.start()
    wait_until(lambda: status(server.url + "/ready") == 200)
    roles = requests.get(server.url + "/api/v1/roles", params={"limit": 200}, timeout=10).json()
    assert {item["id"] for item in roles["items"]} >= {"ai-engineer", "ml-engineer"}


def test_two_instances_see_each_others_writes(server_factory, oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    remote: Oxigraph = oxigraph_factory()
    first: Server = server_factory(*remote.store_args(), env=ENV)
    second: Server = server_factory(*remote.store_args(), env=ENV)
    behind = {"Host": "careerkg.example"}  # as a load balancer in front of both would send it
    before = requests.get(second.url + "/api/v1/tools?limit=200", headers=behind, timeout=10)
    assert "jax-test" not in before.text
    etag = before.headers["ETag"]
    assert (
        requests.get(first.url + "/api/v1/tools?limit=200", headers=behind, timeout=10).headers["ETag"] == etag
    )  # one version, one ETag

    created = requests.put(
        first.url + "/api/v1/tools/jax-test",
        json=new_tool("JAX Test"),
        headers=AUTH,
        timeout=30,
    )
    assert created.status_code == 201, created.text

    after = requests.get(second.url + "/api/v1/tools?limit=200", headers={**behind, "If-None-Match": etag}, timeout=10)
    assert after.status_code == 200  # the other instance's cache knew the data changed
    assert "jax-test" in {item["id"] for item in after.json()["items"]}
    detail = requests.get(second.url + "/api/v1/tools/jax-test", timeout=10).json()
    assert detail["label"] == "JAX Test"
    changes = requests.get(second.url + "/api/v1/changes", headers=AUTH, timeout=10).json()
    assert changes["items"][0]["operation"] == "rest PUT tool/jax-test"
    assert changes["items"][0]["who"]

    # A violating write through the second instance is refused and leaves the store as it was.
    dump = run_cli("export", "--format", "nq", *remote.store_args()).out
    bad = requests.patch(
        second.url + "/api/v1/tools/jax-test",
        json={"links": {"categories": ["library"], "skills": ["no-such-skill"]}},
        headers=AUTH,
        timeout=30,
    )
    assert bad.status_code == 422, bad.text
    assert run_cli("export", "--format", "nq", *remote.store_args()).out == dump


def test_a_tag_read_before_another_instances_write_is_412(server_factory, oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    """Conditional writes hold across instances: the tag names the version shared through the store."""
    remote: Oxigraph = oxigraph_factory()
    first: Server = server_factory(*remote.store_args(), env=ENV)
    second: Server = server_factory(*remote.store_args(), env=ENV)
    path = "/api/v1/tools/keras"
    etag = requests.get(second.url + path, timeout=10).headers["ETag"]
    done = requests.patch(
        first.url + path, json={"values": {"strengths": ["first"]}}, headers={**AUTH, "If-Match": etag}, timeout=30
    )
    assert done.status_code == 200, done.text
    dump = run_cli("export", "--format", "nq", *remote.store_args()).out
    late = requests.patch(
        second.url + path, json={"values": {"strengths": ["second"]}}, headers={**AUTH, "If-Match": etag}, timeout=30
    )
    assert late.status_code == 412, late.text
    assert run_cli("export", "--format", "nq", *remote.store_args()).out == dump
    fresh = requests.get(second.url + path, timeout=10)
    assert fresh.json()["strengths"] == ["first"]
    again = requests.patch(
        second.url + path,
        json={"values": {"strengths": ["second"]}},
        headers={**AUTH, "If-Match": fresh.headers["ETag"]},
        timeout=30,
    )
    assert again.status_code == 200, again.text


def test_concurrent_writers_on_two_instances_all_land(server_factory, oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    remote: Oxigraph = oxigraph_factory()
    servers: list[Server] = [server_factory(*remote.store_args(), env=ENV) for _ in range(2)]

    def write(i: int) -> int:
        server = servers[i % 2]
        body = new_tool(f"Parallel {i}")
        return requests.put(server.url + f"/api/v1/tools/parallel-{i}", json=body, headers=AUTH, timeout=60).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(write, range(8)))
    # Each write either landed or was told to retry (409): none is lost silently, none half-applied.
    landed = [i for i, code in enumerate(codes) if code == 201]
    assert all(code in (201, 409) for code in codes), codes
    assert landed
    ids = {item["id"] for item in requests.get(servers[0].url + "/api/v1/tools?limit=100", timeout=10).json()["items"]}
    assert {f"parallel-{i}" for i in landed} <= ids
    assert not {f"parallel-{i}" for i, code in enumerate(codes) if code != 201} & ids
    total = requests.get(servers[1].url + "/api/v1/changes", timeout=10).json()["total"]
    assert total == 1 + len(landed)  # the initial fill, then one entry per landed write


def test_a_stale_commit_changes_nothing(oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    remote: Oxigraph = oxigraph_factory()
    store = open_store(remote.query_url, update_endpoint=remote.update_url)
    assert isinstance(store, RemoteStore)
    base = store.version_token()
    quad = ox.Quad(ox.NamedNode("http://example.org/a"), ox.NamedNode("http://example.org/p"), ox.Literal("1"))
    token = store.commit([quad], [], expected=base, entry={"operation": "test"})
    assert store.version_token() == token != base
    other = ox.Quad(quad.subject, quad.predicate, ox.Literal("2"))
    with pytest.raises(StoreConflict):
        store.commit([other], [quad], expected=base, entry={"operation": "stale"})
    assert set(store.quads()) == {quad}
    assert store.version_token() == token


def test_the_bookkeeping_graph_stays_out_of_query_results(server_factory, oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    remote: Oxigraph = oxigraph_factory()
    server: Server = server_factory(*remote.store_args())
    assert requests.get(
        remote.query_url, params={"query": f"ASK {{ GRAPH <{META.value}> {{ ?s ?p ?o }} }}"}, timeout=10
    ).json()["boolean"]
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    rows = requests.get(server.url + "/sparql", params={"query": query}, timeout=10).json()
    assert META.value not in json.dumps(rows)
    nquads = requests.get(server.url + "/graph-store", params={"default": ""}, timeout=10).text
    assert META.value not in nquads
    assert requests.get(server.url + "/graph-store", params={"graph": META.value}, timeout=10).status_code == 404
    overwrite = requests.put(
        server.url + "/graph-store",
        params={"graph": META.value},
        data=b"<http://example.org/a> <http://example.org/b> <http://example.org/c> .",
        headers={"Content-Type": "application/n-triples", **AUTH},
        timeout=10,
    )
    assert overwrite.status_code == 403
    assert requests.get(
        remote.query_url, params={"query": f"ASK {{ GRAPH <{META.value}> {{ ?s ?p ?o }} }}"}, timeout=10
    ).json()["boolean"]


def test_several_workers_serve_one_remote_store(server_factory, oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    remote: Oxigraph = oxigraph_factory()
    server: Server = server_factory(*remote.store_args(), "--workers", "2", "--threads", "2", env=ENV)
    workers = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
    assert len(workers) == 2  # two worker processes under the server's own
    created = requests.put(
        server.url + "/api/v1/tools/worker-test", json=new_tool("Worker Test"), headers=AUTH, timeout=30
    )
    assert created.status_code == 201, created.text
    for _ in range(20):  # whichever worker answers, on a new connection each time, it sees the write
        response = requests.get(server.url + "/api/v1/tools/worker-test", timeout=10)
        assert response.status_code == 200
        assert response.json()["label"] == "Worker Test"


def test_workers_need_a_remote_store() -> None:
    result = run_cli("serve", "--store", "memory", "--workers", "2")
    assert result.code == 2
    assert "remote store" in result.err


def test_the_cli_loads_exports_and_queries_a_remote_store(oxigraph_factory, tmp_path: Path, data_copy: Path) -> None:  # type: ignore[no-untyped-def]
    remote: Oxigraph = oxigraph_factory()
    args = remote.store_args()
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/careerkg/ontology#Role> }"
    result = run_cli("query", count, *args)
    assert result.code == 0, result.err
    embedded = run_cli("query", count, "--store", "memory")  # filled on first use, as the embedded store is
    assert json.loads(result.out)["results"]["bindings"] == json.loads(embedded.out)["results"]["bindings"]

    extra = tmp_path / "extra.ttl"
    extra.write_text("<http://example.org/x> <http://example.org/y> 'loaded' .\n")
    loaded = run_cli("load", str(extra), "--graph", "http://example.org/g", *args)
    assert loaded.code == 0, loaded.err
    exported = run_cli("export", "--format", "nq", *args)
    assert '<http://example.org/x> <http://example.org/y> "loaded" <http://example.org/g> .' in exported.out
    assert META.value not in exported.out

    broken = data_copy / "data" / "roles.trig"
    broken.write_text(broken.read_text().replace('rdfs:label "AI Engineer"@en', 'rdfs:label ""@en', 1))
    refused = run_cli("load", str(broken), *args)
    assert refused.code == 1
    assert run_cli("export", "--format", "nq", *args).out == exported.out


def test_an_unreachable_store_is_a_clear_cli_error() -> None:
    result = run_cli("query", "ASK {}", "--store", "http://127.0.0.1:1/query")
    assert result.code == 2
    assert "cannot be reached" in result.err
    assert "Traceback" not in result.err


class AuthProxy:
    """A reverse proxy in front of an Oxigraph server that demands HTTP basic or digest credentials, as
    Fuseki (basic) and Virtuoso's /sparql-auth (digest) do. It records the schemes clients answered with."""

    REALM = "careerkg-test"

    def __init__(self, target: str, scheme: str, user: str, password: str) -> None:
        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response

        self.target, self.scheme, self.user, self.password = target, scheme, user, password
        self.answered: list[str] = []
        self.nonce = "b1f0c5e2"

        @Request.application  # type: ignore[arg-type]
        def app(request: Request) -> Response:
            if not self._authorised(request):
                challenge = (
                    f'Digest realm="{self.REALM}", nonce="{self.nonce}", qop="auth", algorithm=MD5'
                    if scheme == "digest"
                    else f'Basic realm="{self.REALM}"'
                )
                return Response("credentials needed", status=401, headers={"WWW-Authenticate": challenge})
            upstream = requests.request(
                request.method,
                self.target + request.path,
                params=request.args,
                data=request.get_data(),
                headers={k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept")},
                timeout=30,
            )
            return Response(
                upstream.content, status=upstream.status_code, content_type=upstream.headers.get("Content-Type")
            )

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _authorised(self, request: Any) -> bool:
        auth = request.authorization
        if auth is None:
            return False
        self.answered.append(auth.type)
        if auth.type != self.scheme or auth.username != self.user:
            return False
        if auth.type == "basic":
            return bool(auth.password == self.password)

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1 = md5(f"{self.user}:{self.REALM}:{self.password}")
        ha2 = md5(f"{request.method}:{auth.uri}")
        expected = md5(f"{ha1}:{auth.nonce}:{auth.nc}:{auth.cnonce}:{auth.qop}:{ha2}")
        return bool(auth.response == expected and auth.nonce == self.nonce)

    def stop(self) -> None:
        self.server.shutdown()


@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_store_credentials_in_the_scheme_the_store_asks_for(scheme: str, server_factory, oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    remote: Oxigraph = oxigraph_factory()
    proxy = AuthProxy(f"http://127.0.0.1:{remote.port}", scheme, "dba", "s3cret")
    try:
        store = ["--store", proxy.url + "/query", "--update-endpoint", proxy.url + "/update"]
        refused = run_cli("query", "ASK {}", *store)
        assert refused.code == 2
        assert "refused the credentials (401)" in refused.err

        wrong = run_cli("query", "ASK {}", *store, "--store-auth", "dba:wrong")
        assert wrong.code == 2
        assert "refused the credentials" in wrong.err

        server: Server = server_factory(
            *store, "--store-auth", "dba:s3cret", env=ENV
        )  # fills the store through the proxy
        created = requests.put(
            server.url + "/api/v1/tools/auth-test", json=new_tool("Auth Test"), headers=AUTH, timeout=30
        )
        assert created.status_code == 201, created.text
        found = requests.get(
            remote.query_url,
            params={"query": "ASK { <https://w3id.org/careerkg/id/tool/auth-test> ?p ?o }"},
            timeout=10,
        )
        assert found.json()["boolean"] is True
        assert set(proxy.answered) == {scheme}  # asked once, the client kept to the store's scheme
    finally:
        proxy.stop()


def test_a_store_that_hangs_gives_503_not_a_hang(server_factory) -> None:  # type: ignore[no-untyped-def]
    """A store that accepts connections and never answers: readiness says so within its probe timeout."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # connections complete, requests are never read
    try:
        store = f"http://127.0.0.1:{silent.getsockname()[1]}/query"
        server: Server = server_factory("--store", store, env={"CAREERKG_QUERY_TIMEOUT": "2"}, wait=False)
        wait_until(lambda: status(server.url + "/health") == 200, timeout=60)
        ready = requests.get(server.url + "/ready", timeout=10)  # a bound on a hang, not a timed assertion
        assert ready.status_code == 503
        assert "did not answer in time" in ready.json()["detail"]
        roles = requests.get(server.url + "/api/v1/roles", timeout=30)
        assert roles.status_code == 503
        assert roles.headers["Content-Type"] == "application/problem+json"
    finally:
        silent.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "memory", "--store-graph", "http://example.org/g"], "for remote stores"),
        (["--store", "http://127.0.0.1:1/sparql", "--store-graph", "not an iri"], "not an absolute IRI"),
    ],
)
def test_store_graph_mistakes_are_clear_cli_errors(args: list[str], message: str) -> None:
    result = run_cli("query", "ASK {}", *args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_descriptions_are_searched_and_shown_from_a_remote_store(server_factory, oxigraph_factory) -> None:  # type: ignore[no-untyped-def]
    """Descriptions are not in the label index: the search's last rank asks the store (a bound query) and the
    details read them with the resource's statements."""
    server: Server = server_factory(*oxigraph_factory().store_args())
    found = requests.get(server.url + "/api/v1/search", params={"q": "Activities fraudulent"}, timeout=10).json()
    assert [item["id"] for item in found["items"]] == ["fraud-detection"]
    detail = requests.get(server.url + "/api/v1/applications/fraud-detection", timeout=10).json()
    assert {"fraudulent", "activities"} <= set(detail["description"].casefold().split())
    page = requests.get(server.url + "/id/application/fraud-detection", headers={"Accept": "text/html"}, timeout=10)
    assert detail["description"] in page.text
