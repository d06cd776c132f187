"""A real server process under attack (issue #20): bad input, concurrency, slow and silent clients, timeouts.

Timings are bounds on hangs (request timeouts), never measured figures: bench/ measures latency.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from tests.robustness_corpus import AUTH, CORPUS
from tests.support import WRITE_TOKEN, Server, children


def worker_pids(server: Server) -> list[int]:
    """The server's worker processes (children of the one started)."""
    return sorted(children(server.proc.pid))


def count(server: Server) -> int:
    query = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    response = requests.get(server.url + "/sparql", params={"query": query}, timeout=30)
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_the_corpus_kills_no_process_and_gets_no_5xx(server: Server) -> None:
    workers, before = worker_pids(server), count(server)
    statuses: dict[str, int] = {}
    for bad in CORPUS:
        response = requests.request(bad.method, server.url + bad.path, data=bad.body, headers=bad.headers, timeout=60)
        statuses[bad.name] = response.status_code
    failed = {name: status for name, status in statuses.items() if status >= 500}
    assert not failed
    assert server.proc.poll() is None
    assert worker_pids(server) == workers  # the same worker process: none died and was replaced
    assert count(server) == before


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400),
        (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400),
        (b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad: \x00\r\n\r\n", 400),
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /api/v1/roles?limit=2 HTTP/1.1\r\n\r\n", 400),  # no Host: RFC 9112 section 3.2
        (b"GET /api/v1/roles?limit=2 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"post /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 400),  # methods are case-sensitive
        (b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n", 405),
        # A body in a transfer coding granian passes on as it came: read as plain, it would be misread (RFC 9112 6.1)
        (
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: gzip, chunked\r\n\r\n12\r\nquery=ASK%20%7B%7D\r\n0\r\n\r\n",
            501,
        ),
    ],
)
def test_malformed_http_is_refused(server: Server, request_text: bytes, expected: int) -> None:
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(request_text)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 %d " % expected), answer[:100]
    assert requests.get(server.url + "/health", timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        (b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 204 "),
        # No WebSocket here: the Upgrade is ignored (RFC 9110 section 7.8) and the request served as plain HTTP
        (
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            b"HTTP/1.1 200 ",
        ),
    ],
)
def test_options_star_and_an_upgrade_are_answered(server: Server, request_text: bytes, expected: bytes) -> None:
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(request_text)
        answer = sock.recv(65536)
    assert answer.startswith(expected), answer[:300]


def test_an_http_1_0_request_without_host_is_served(server: Server) -> None:
    """HTTP/1.0 needs no Host (a load balancer's health check often sends none): granian stands in an empty one,
    which is no Host, not a bad one."""
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        answer = b""
        while part := sock.recv(65536):
            answer += part
    assert answer.split(b"\r\n", 1)[0].endswith(b" 200 OK"), answer[:200]


def test_a_chunked_body_over_the_limit_is_413_and_writes_nothing(server_factory: Callable[..., Server]) -> None:
    server = server_factory(
        "--store", "memory", env={"CAREERKG_WRITE_TOKEN": WRITE_TOKEN, "CAREERKG_MAX_BODY": "1000000"}
    )
    before = count(server)

    def chunks() -> Iterator[bytes]:  # ~1.2 MB of N-Triples, sent chunked (no Content-Length)
        for i in range(12000):
            yield f'<http://e/s{i}> <http://e/p> "{i}" .\n'.encode() * 3

    response = requests.put(
        server.url + "/graph-store?graph=http://e/big",
        data=chunks(),
        headers={"Content-Type": "application/n-triples", **AUTH},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert count(server) == before
    small = requests.put(
        server.url + "/graph-store?graph=http://e/small",
        data=iter([b'<http://e/s> <http://e/p> "1" .\n', b'<http://e/s> <http://e/p> "2" .\n']),
        headers={"Content-Type": "application/n-triples", **AUTH},
        timeout=60,
    )
    assert small.status_code == 201  # a chunked body within the limit is taken whole
    assert count(server) == before + 2


def test_a_query_timing_out_after_it_began_never_looks_complete(server_factory: Callable[..., Server]) -> None:
    server = server_factory("--store", "memory", env={"CAREERKG_QUERY_TIMEOUT": "2"})
    with requests.post(
        server.url + "/sparql",
        data=b"SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }",
        headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
        stream=True,
        timeout=60,
    ) as response:
        assert response.status_code == 200  # it had begun: the first results were ready in time
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for _ in response.iter_content(1 << 16):
                pass
    slow = requests.post(  # nothing to send before the timeout: a plain 503
        server.url + "/sparql",
        data=b"SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
        headers={"Content-Type": "application/sparql-query"},
        timeout=60,
    )
    assert slow.status_code == 503
    metrics = requests.get(server.url + "/metrics", timeout=10).text
    assert "careerkg_query_timeouts_total 2.0" in metrics


def test_an_http_1_0_client_never_gets_a_cut_off_answer_that_looks_complete(
    server_factory: Callable[..., Server],
) -> None:
    """Over HTTP/1.0 (nginx's default to its upstreams) the close of the connection ends the body, so an answer cut
    off at the timeout would look complete: such a client gets an answer whole, with its length, or a 503."""
    server = server_factory("--store", "memory", env={"CAREERKG_QUERY_TIMEOUT": "2"})
    port = int(server.url.rsplit(":", 1)[1])

    def over_http_1_0(query: bytes) -> tuple[bytes, bytes]:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(
                b"POST /sparql HTTP/1.0\r\nHost: x\r\nContent-Type: application/sparql-query\r\nAccept: text/csv\r\n"
                + b"Content-Length: %d\r\n\r\n" % len(query)
                + query
            )
            answer = b""
            while part := sock.recv(1 << 16):
                answer += part
        head, _, body = answer.partition(b"\r\n\r\n")
        return head, body

    head, body = over_http_1_0(b"SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }")  # begins in time, then cut off
    assert head.startswith(b"HTTP/1.0 503 ") or head.startswith(b"HTTP/1.1 503 "), head[:100]
    assert "HTTP/1.1" in json.loads(body)["detail"]
    head, body = over_http_1_0(b"SELECT * WHERE { ?a ?b ?c } LIMIT 1000")
    assert b" 200 " in head.split(b"\r\n")[0]
    length = [line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    assert length == [b"content-length: %d" % len(body)]
    assert body.count(b"\n") == 1001  # the header row and every row


def four_asks(server: Server) -> list[int]:
    """The statuses of four ASK queries sent at once (as many as there are query workers)."""
    with ThreadPoolExecutor(4) as pool:
        return list(
            pool.map(
                lambda _: requests.get(server.url + "/sparql", params={"query": "ASK {}"}, timeout=30).status_code,
                range(4),
            )
        )


def test_a_client_that_hangs_up_mid_answer_frees_its_query_worker(server_factory: Callable[..., Server]) -> None:
    """granian's send does not fail once the client has gone: without a watch on the connection, each hang-up kept
    its query worker busy until the timeout, and four of them made every other query 503."""
    server = server_factory("--store", "memory", env={"CAREERKG_QUERY_TIMEOUT": "20"})
    port = int(server.url.rsplit(":", 1)[1])
    query = b"SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"
    for _ in range(4):  # as many as there are query workers
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nAccept: text/csv\r\n"
                + b"Content-Length: %d\r\n\r\n" % len(query)
                + query
            )
            got = 0
            while got < 300_000:
                got += len(sock.recv(1 << 16))
    time.sleep(1)
    assert four_asks(server) == [200] * 4
    assert "careerkg_query_timeouts_total 0.0" in requests.get(server.url + "/metrics", timeout=10).text


@pytest.mark.parametrize("version", [b"1.0", b"1.1"])
def test_a_client_that_hangs_up_before_its_answer_frees_its_query_worker(
    server_factory: Callable[..., Server], version: bytes
) -> None:
    """A query that computes long before its first row (a count), or an HTTP/1.0 answer gathered whole before it is
    sent: a client that leaves meanwhile has its query stopped, instead of holding a query worker to the timeout
    (four such clients made every other query 503)."""
    server = server_factory("--store", "memory", env={"CAREERKG_QUERY_TIMEOUT": "20"})
    port = int(server.url.rsplit(":", 1)[1])
    query = b"SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"  # billions of rows to count: endless here
    for _ in range(4):  # as many as there are query workers
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                b"POST /sparql HTTP/%s\r\nHost: x\r\nContent-Type: application/sparql-query\r\n" % version
                + b"Accept: text/csv\r\n"
                + b"Content-Length: %d\r\n\r\n" % len(query)
                + query
            )
            time.sleep(0.3)  # the query has begun; the client leaves before any answer
    time.sleep(1)
    started = time.monotonic()
    assert four_asks(server) == [200] * 4
    assert time.monotonic() - started < 10  # not after the 20 s timeout of the queries left behind
    assert "careerkg_query_timeouts_total 0.0" in requests.get(server.url + "/metrics", timeout=10).text


def test_the_default_graph_is_sent_whole_and_the_server_goes_on(server_factory: Callable[..., Server]) -> None:
    """Its parts after the first are read in another thread than the one that began the answer: a store iterator held
    across them made pyoxigraph panic, and the server ended (one anonymous GET)."""
    server = server_factory("--store", "memory")
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    expected = int(
        requests.get(server.url + "/sparql", params={"query": query}, timeout=30).json()["results"]["bindings"][0]["n"][
            "value"
        ]
    )
    for media_type, rdf in [("application/n-triples", ox.RdfFormat.N_TRIPLES), ("text/turtle", ox.RdfFormat.TURTLE)]:
        answer = requests.get(server.url + "/graph-store?default", headers={"Accept": media_type}, timeout=60)
        assert answer.status_code == 200
        assert len(list(ox.parse(answer.content, format=rdf))) == expected
        assert requests.get(server.url + "/health", timeout=10).status_code == 200
    assert server.proc.poll() is None


def test_a_graph_read_while_it_is_replaced_is_one_version_whole(server: Server) -> None:
    """Graph Store GETs of a graph that PUTs keep replacing (two versions of 3,000 triples each) answer one version
    or the other, whole: never a mix, never a part."""
    graph = server.url + "/graph-store?graph=http://e/versions"
    versions = {
        name: "".join(f'<http://e/s{i}> <http://e/p> "{name} {i}" .\n' for i in range(3000)).encode()
        for name in ("a", "b")
    }
    expected = {name: set(ox.parse(body, format=ox.RdfFormat.N_TRIPLES)) for name, body in versions.items()}
    headers = {"Content-Type": "application/n-triples", **AUTH}
    assert requests.put(graph, data=versions["a"], headers=headers, timeout=60).status_code in (200, 201, 204)
    stop = threading.Event()

    def replace() -> int:
        done = 0
        while not stop.is_set():
            name = "b" if done % 2 == 0 else "a"
            assert requests.put(graph, data=versions[name], headers=headers, timeout=60).status_code in (200, 204)
            done += 1
        return done

    with ThreadPoolExecutor(1) as pool:
        writes = pool.submit(replace)
        try:
            for _ in range(30):
                answer = requests.get(graph, headers={"Accept": "application/n-triples"}, timeout=60)
                assert answer.status_code == 200
                got = set(ox.parse(answer.content, format=ox.RdfFormat.N_TRIPLES))
                assert got in expected.values(), f"{len(got)} triples, neither version"
        finally:
            stop.set()
        assert writes.result() > 1
    assert requests.get(server.url + "/health", timeout=10).status_code == 200


def test_slow_queries_and_silent_clients_leave_health_answering(server_factory: Callable[..., Server]) -> None:
    server = server_factory("--store", "memory", env={"CAREERKG_QUERY_TIMEOUT": "4"})
    port = int(server.url.rsplit(":", 1)[1])
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]  # connect, send nothing
    slowloris = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
    for sock in slowloris:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the end of the headers
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    try:
        with ThreadPoolExecutor(12) as pool:
            slow = [
                pool.submit(requests.get, server.url + "/sparql", params={"query": runaway}, timeout=60)
                for _ in range(12)
            ]
            time.sleep(0.5)
            for _ in range(5):
                assert requests.get(server.url + "/health", timeout=10).status_code == 200
                assert requests.get(server.url + "/ready", timeout=10).status_code == 200
            answers = [future.result() for future in slow]
        assert {a.status_code for a in answers} <= {503}  # each stopped at the timeout, or told the pool was busy
        assert any(a.headers.get("Retry-After") for a in answers)
    finally:
        for sock in silent + slowloris:
            sock.close()


def test_clients_that_stop_reading_hold_no_query_worker_past_the_timeout(server_factory: Callable[..., Server]) -> None:
    """As many clients as there are query workers start a large answer, read a little of it and stop reading:
    at the timeout their workers are stopped, so other queries are answered again while the connections stay open
    (they were told the pool was busy for as long as the clients held on)."""
    server = server_factory("--store", "memory", env={"CAREERKG_QUERY_TIMEOUT": "3"})
    port = int(server.url.rsplit(":", 1)[1])
    body = b"SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"
    held = []
    for _ in range(4):  # CAREERKG_QUERY_WORKERS' default
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        head = (
            f"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nContent-Length: {len(body)}"
        )
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        held.append(sock)
    try:
        time.sleep(4.5)  # past the 3 s timeout
        for _ in range(3):
            answer = requests.get(server.url + "/sparql", params={"query": "ASK {}"}, timeout=10)
            assert answer.status_code == 200, answer.text
            assert answer.json()["boolean"] is True
    finally:
        for sock in held:
            sock.close()


def stalled_post(port: int, declared: int, sent: bytes, *, chunked: bool = False) -> socket.socket:
    """A connection whose request announced a body and sent only ``sent`` of it."""
    sock = socket.create_connection(("127.0.0.1", port))
    framing = b"Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {declared}\r\n".encode()
    head = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n" + framing + b"\r\n"
    sock.sendall(head + (b"%x\r\n" % len(sent) + sent + b"\r\n" if chunked else sent))
    return sock


def test_stalled_request_bodies_hold_no_thread_and_get_408(server_factory: Callable[..., Server]) -> None:
    """Three times as many clients as request threads announce a body and stop sending it: every other request
    is answered meanwhile (under granian's WSGI interface each such client held a thread, and nine hung the server),
    and each stalled client gets a 408 problem document once its body has been silent for 10 s."""
    server = server_factory("--store", "memory")
    port = int(server.url.rsplit(":", 1)[1])
    stalled = [stalled_post(port, 1000, b"SELECT") for _ in range(20)]
    stalled += [stalled_post(port, 0, b"ASK", chunked=True) for _ in range(4)]
    try:
        started = time.monotonic()
        for _ in range(3):
            assert requests.get(server.url + "/health", timeout=5).status_code == 200
            assert requests.get(server.url + "/api/v1/roles/ai-engineer", timeout=10).status_code == 200
            answer = requests.post(
                server.url + "/sparql", data=b"ASK {}", headers={"Content-Type": "application/sparql-query"}, timeout=10
            )
            assert answer.status_code == 200
        assert time.monotonic() - started < 9  # all answered before any stalled body timed out
        for sock in (stalled[0], stalled[-1]):
            sock.settimeout(30)
            head, _, body = sock.recv(65536).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 "), head
            assert b"application/problem+json" in head.lower()
            assert "request body" in json.loads(body)["detail"]
    finally:
        for sock in stalled:
            sock.close()
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


def test_bodies_past_the_memory_budget_wait_then_get_503(server_factory: Callable[..., Server]) -> None:
    """Request bodies held at once are bounded (four times CAREERKG_MAX_BODY): clients that keep sending parts of
    large bodies hold their room, and a body that finds none gets 503 with Retry-After, not a hang or an unbounded
    buffer; requests without a body are answered meanwhile. (A body holds its room only while it keeps to 64 KiB/s
    on average after its first 10 s: 1,990,000 bytes sent at once keep a trickle going for about 40 s.)"""
    server = server_factory("--store", "memory", env={"CAREERKG_MAX_BODY": "2000000"})
    port = int(server.url.rsplit(":", 1)[1])
    holders = [stalled_post(port, 2_000_000, b"#" * 1_990_000) for _ in range(4)]  # all but 40,004 bytes of room
    stop = threading.Event()

    def trickle() -> None:  # a part every 2 s: never silent for the 10 s that would end them
        while not stop.wait(2):
            for sock in holders:
                sock.sendall(b"#")

    keeper = threading.Thread(target=trickle)
    keeper.start()
    try:
        time.sleep(1)
        refused = requests.post(
            server.url + "/sparql",
            data=b"ASK {} #" + b"#" * 50_000,
            headers={"Content-Type": "application/sparql-query"},
            timeout=30,
        )
        assert refused.status_code == 503
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.headers.get("Retry-After")
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
    finally:
        stop.set()
        keeper.join()
        for sock in holders:
            sock.close()
    time.sleep(0.5)
    answer = requests.post(
        server.url + "/sparql", data=b"ASK {}", headers={"Content-Type": "application/sparql-query"}, timeout=10
    )
    assert answer.status_code == 200


def test_writers_and_readers_together_all_answered_no_write_lost(server_factory: Callable[..., Server]) -> None:
    """8 writers (SPARQL updates), SPARQL readers and REST readers at once: the old writer/reader deadlock hung
    every thread within seconds. Every request must be answered (a 503 'busy' is an answer) and every write
    acknowledged with 204 must be in the graph."""
    server = server_factory("--store", "memory", env={"CAREERKG_WRITE_TOKEN": WRITE_TOKEN})
    stop = time.monotonic() + 15
    acknowledged: list[int] = []
    outcomes: dict[str, list[int]] = {"write": [], "sparql": [], "rest": [], "health": []}
    lock = threading.Lock()

    def writer(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            number = n * 100000 + i
            response = requests.post(
                server.url + "/sparql",
                data=f"INSERT DATA {{ <http://e/w> <http://e/n> {number} }}".encode(),
                headers={"Content-Type": "application/sparql-update", **AUTH},
                timeout=30,
            )
            with lock:
                outcomes["write"].append(response.status_code)
                if response.status_code == 204:
                    acknowledged.append(number)
            i += 1

    def reader(kind: str, url: str) -> None:
        while time.monotonic() < stop:
            status = requests.get(url, timeout=30).status_code
            with lock:
                outcomes[kind].append(status)

    ask = server.url + "/sparql?query=ASK%7B%7D"
    tasks = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    tasks += [threading.Thread(target=reader, args=("sparql", ask)) for _ in range(2)]
    tasks += [
        threading.Thread(target=reader, args=("rest", server.url + "/api/v1/roles/ai-engineer")) for _ in range(2)
    ]
    tasks += [threading.Thread(target=reader, args=("health", server.url + "/health"))]
    for task in tasks:
        task.start()
    for task in tasks:
        task.join(timeout=90)
    assert not any(task.is_alive() for task in tasks), "a request hung"
    assert all(outcomes.values()), outcomes
    assert set(outcomes["health"]) == {200}
    assert set(outcomes["rest"]) == {200}
    assert set(outcomes["sparql"]) <= {200, 503}
    assert set(outcomes["write"]) <= {204, 503}
    stored = requests.post(
        server.url + "/sparql",
        data=b"SELECT ?n WHERE { <http://e/w> <http://e/n> ?n }",
        headers={"Content-Type": "application/sparql-query"},
        timeout=30,
    ).json()["results"]["bindings"]
    assert {int(row["n"]["value"]) for row in stored} == set(acknowledged)
    assert len(acknowledged) > 8


def test_anonymous_deep_input_does_not_kill_the_worker(server: Server) -> None:
    workers = worker_pids(server)
    deep = json.dumps(1)
    for _ in range(5000):
        deep = '{"a":' + deep + "}"
    for path in ("/validate", "/graph-store?graph=http://e/deep"):
        response = requests.post(
            server.url + path,
            data=deep.encode(),
            headers={"Content-Type": "application/ld+json", "Authorization": f"Bearer {WRITE_TOKEN}"},
            timeout=60,
        )
        assert response.status_code == 400
    assert worker_pids(server) == workers
    assert requests.get(server.url + "/health", timeout=10).status_code == 200


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "on-disk"])
def test_a_worker_that_dies_is_replaced_and_its_query_workers_go(
    server_factory: Callable[..., Server], tmp_path: Path, on_disk: bool
) -> None:
    """A worker killed from outside (the kernel's OOM killer, an operator) is not the end of the server: granian
    starts another, which opens the store again (in memory: fills it from the files again) and serves. The dead
    worker's query workers see their pipes close, and go."""
    server = server_factory("--store", str(tmp_path / "store") if on_disk else "memory")
    (worker,) = worker_pids(server)
    assert count(server) > 40_000  # (the query workers are forked ahead of use, by now)
    query_workers = children(worker)
    assert query_workers
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + "/ready", timeout=5).status_code == 200:
                break
        time.sleep(0.2)
    assert requests.get(server.url + "/ready", timeout=5).status_code == 200
    (replacement,) = worker_pids(server)
    assert replacement != worker
    assert server.proc.poll() is None
    assert count(server) > 40_000
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in query_workers):
        time.sleep(0.2)
    assert not [pid for pid in query_workers if Path(f"/proc/{pid}").exists()]


def test_a_body_may_pause_at_first_but_not_trickle(server_factory: Callable[..., Server]) -> None:
    """The body rule (service.asgi): each part within 10 s of the one before, and the whole at 64 KiB/s after the
    first 10 s. A client that pauses 8 s and then sends its body is served; one that sends a part every 2 s, never
    silent for long, is cut off at about 10 s all the same, with 408."""
    server = server_factory("--store", "memory")
    port = int(server.url.rsplit(":", 1)[1])
    query = b"SELECT * WHERE { ?s ?p ?o } LIMIT 1"
    pausing = stalled_post(port, len(query), query[:6])
    trickling = stalled_post(port, 100_000, b"S")
    try:
        started = time.monotonic()
        for _ in range(4):
            time.sleep(2)
            trickling.sendall(b" " * 8)
        pausing.sendall(query[6:])
        pausing.settimeout(30)
        head, _, body = pausing.recv(65536).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert time.monotonic() - started > 7.5
        trickling.settimeout(10)
        while time.monotonic() - started < 30:  # a part every 2 s, until the answer comes
            readable, _, _ = select.select([trickling], [], [], 2)
            if readable:
                break
            trickling.sendall(b" " * 8)
        head, _, body = trickling.recv(65536).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 "), head
        assert "too slowly" in json.loads(body)["detail"]
        assert time.monotonic() - started < 16  # cut off at its first 10 s plus its 8 bytes' worth, not later
    finally:
        pausing.close()
        trickling.close()
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


def test_a_worker_that_keeps_dying_stops_the_server(server_factory: Callable[..., Server]) -> None:
    """granian replaces a worker that dies later than 5.5 s after its start without end; the server stops instead,
    with status 4 and a reason, when its workers have been replaced more than three times in ten minutes."""
    server = server_factory("--store", "memory")
    for replaced in range(4):
        (worker,) = worker_pids(server)
        time.sleep(max(0.0, 6.5 - (time.time() - Path(f"/proc/{worker}").stat().st_mtime)))  # past granian's 5.5 s
        os.kill(worker, signal.SIGKILL)
        if replaced == 3:
            break
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and set(worker_pids(server)) in (set(), {worker}):
            time.sleep(0.1)
    assert server.proc.wait(timeout=60) == 4
    assert "replaced 4 times in 10 minutes" in server.log.read_text()
