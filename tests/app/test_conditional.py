"""Conditional requests on answers whose ETag names the dataset version (REST answers, Graph Store graphs): a write
with If-Match goes ahead only if nothing was written since its tag was read, so no client overwrites another's
change unseen (RFC 9110 section 13); a refused write changes nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import requests

from tests.app.test_writes import AUTH, dump, tool
from tests.inprocess import Site
from tests.support import WRITE_TOKEN

GRAPH = "/graph-store?graph=http://example.org/conditional"
TURTLE = {"Authorization": f"Bearer {WRITE_TOKEN}", "Content-Type": "text/turtle"}


@pytest.fixture
def server(site_factory: Callable[..., Site]) -> Site:
    return site_factory(write_token=WRITE_TOKEN)


def assert_412(response: requests.Response, site: Site, before: set[str]) -> None:
    assert response.status_code == 412, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Precondition Failed"
    assert dump(site) == before  # nothing was written


def test_a_rest_write_with_a_stale_etag_is_412_and_changes_nothing(server: Site) -> None:
    url = server.url + "/api/v1/tools/keras"
    read = server.http.get(url, timeout=30)
    etag = read.headers["ETag"]
    # Another client writes meanwhile (anywhere: the tag names the whole dataset's version).
    other = server.http.put(server.url + "/api/v1/tools/example-tool", json=tool(), headers=AUTH, timeout=30)
    assert other.status_code == 201
    before = dump(server)
    change = {"values": {"strengths": ["careful"]}}
    stale = server.http.patch(url, json=change, headers={**AUTH, "If-Match": etag}, timeout=30)
    assert_412(stale, server, before)
    # Read again: the new tag lets the same write go ahead, once.
    fresh = server.http.get(url, timeout=30).headers["ETag"]
    assert fresh != etag
    done = server.http.patch(url, json=change, headers={**AUTH, "If-Match": fresh}, timeout=30)
    assert done.status_code == 200, done.text
    assert server.http.get(url, timeout=30).json()["strengths"] == ["careful"]
    assert server.http.patch(url, json=change, headers={**AUTH, "If-Match": fresh}, timeout=30).status_code == 412
    # The dataset_version a write answers serves as a tag too: writes chain without a read between them.
    chained = server.http.patch(
        url,
        json={"values": {"strengths": ["chained"]}},
        headers={**AUTH, "If-Match": f'"{done.json()["dataset_version"]}"'},
        timeout=30,
    )
    assert chained.status_code == 200, chained.text


def test_the_tag_of_any_encoding_or_representation_counts_but_never_a_weak_one(server: Site) -> None:
    url = server.url + "/api/v1/tools/keras"
    gzipped = server.http.get(url, headers={"Accept-Encoding": "gzip"}, timeout=30)
    tag = gzipped.headers["ETag"]
    assert tag.endswith(':gzip"')  # the compression layer labels it
    jsonld = server.http.get(url, headers={"Accept": "application/ld+json"}, timeout=30).headers["ETag"]
    assert jsonld != tag
    before = dump(server)
    weak = server.http.patch(
        url, json={"values": {"strengths": ["x"]}}, headers={**AUTH, "If-Match": "W/" + jsonld}, timeout=30
    )
    assert_412(weak, server, before)  # If-Match compares strongly (RFC 9110 section 13.1.1)
    done = server.http.patch(
        url, json={"values": {"strengths": ["x"]}}, headers={**AUTH, "If-Match": f'"nope", {tag}'}, timeout=30
    )
    assert done.status_code == 200, done.text
    again = server.http.get(url, timeout=30)
    stale = server.http.delete(url, headers={**AUTH, "If-Match": jsonld}, timeout=30)
    assert_412(stale, server, dump(server))
    deleted = server.http.delete(url, headers={**AUTH, "If-Match": again.headers["ETag"]}, timeout=30)
    assert deleted.status_code == 200, deleted.text


def test_star_conditions_create_only_or_change_only(server: Site) -> None:
    url = server.url + "/api/v1/tools/example-tool"
    before = dump(server)
    assert_412(server.http.put(url, json=tool(), headers={**AUTH, "If-Match": "*"}, timeout=30), server, before)
    created = server.http.put(url, json=tool(), headers={**AUTH, "If-None-Match": "*"}, timeout=30)
    assert created.status_code == 201, created.text
    after = dump(server)
    replaced = server.http.put(url, json=tool("Other"), headers={**AUTH, "If-None-Match": "*"}, timeout=30)
    assert_412(replaced, server, after)
    assert server.http.put(url, json=tool("Other"), headers={**AUTH, "If-Match": "*"}, timeout=30).status_code == 200


def test_a_rest_read_answers_if_match(server: Site) -> None:
    url = server.url + "/api/v1/roles/ml-engineer"
    etag = server.http.get(url, timeout=30).headers["ETag"]
    assert server.http.get(url, headers={"If-Match": etag}, timeout=30).status_code == 200
    refused = server.http.get(url, headers={"If-Match": '"other"'}, timeout=30)
    assert refused.status_code == 412
    assert refused.headers["Content-Type"] == "application/problem+json"


def test_graph_store_writes_are_conditional(server: Site) -> None:
    url = server.url + GRAPH
    assert server.http.put(url, data=b"<http://e/a> <http://e/b> 1 .", headers=TURTLE, timeout=30).status_code == 201
    read = server.http.get(url, headers={"Accept": "application/n-triples"}, timeout=30)
    etag = read.headers["ETag"]
    assert (
        server.http.get(url, headers={"If-None-Match": etag, "Accept": "application/n-triples"}, timeout=30).status_code
        == 304
    )
    replaced = server.http.put(
        url, data=b"<http://e/a> <http://e/b> 2 .", headers={**TURTLE, "If-Match": etag}, timeout=30
    )
    assert replaced.status_code == 204, replaced.text
    before = dump(server)
    for method in ("put", "post"):  # the tag was read before that write
        late = getattr(server.http, method)(
            url, data=b"<http://e/a> <http://e/b> 3 .", headers={**TURTLE, "If-Match": etag}, timeout=30
        )
        assert_412(late, server, before)
    assert_412(server.http.delete(url, headers={**TURTLE, "If-Match": etag}, timeout=30), server, before)
    created_only = server.http.put(
        url, data=b"<http://e/a> <http://e/b> 4 .", headers={**TURTLE, "If-None-Match": "*"}, timeout=30
    )
    assert_412(created_only, server, before)
    fresh = server.http.get(url, timeout=30).headers["ETag"]
    assert server.http.delete(url, headers={**TURTLE, "If-Match": fresh}, timeout=30).status_code == 204
    assert server.http.get(url, timeout=30).status_code == 404


def test_a_graph_is_tagged_before_it_is_written_out(server: Site) -> None:
    """The default graph (several MB, sent from a temporary file) has its ETag too, and If-None-Match answers 304
    without it; each format has a tag of its own, and a write anywhere changes them all."""
    url = server.url + "/graph-store?default"
    turtle = server.http.get(url, headers={"Accept": "text/turtle"}, timeout=60)
    ntriples = server.http.head(url, headers={"Accept": "application/n-triples"}, timeout=60)
    assert turtle.headers["ETag"] != ntriples.headers["ETag"]
    again = server.http.get(url, headers={"Accept": "text/turtle", "If-None-Match": turtle.headers["ETag"]}, timeout=60)
    assert again.status_code == 304
    assert again.content == b""
    star = server.http.get(url, headers={"Accept": "text/turtle", "If-None-Match": "*"}, timeout=60)
    assert star.status_code == 304  # the graph exists, and the client holds some answer of it
    assert (
        server.http.put(
            server.url + GRAPH, data=b"<http://e/a> <http://e/b> 1 .", headers=TURTLE, timeout=30
        ).status_code
        == 201
    )
    after = server.http.get(url, headers={"Accept": "text/turtle", "If-None-Match": turtle.headers["ETag"]}, timeout=60)
    assert after.status_code == 200
    assert after.headers["ETag"] != turtle.headers["ETag"]


def test_of_writers_holding_the_same_tag_exactly_one_goes_ahead(server: Site) -> None:
    """The check is made under the write lock: eight writers sent at once with the tag all read get one 200 and
    seven 412s, and the graph has the one change."""
    url = server.url + "/api/v1/tools/keras"
    etag = server.http.get(url, timeout=30).headers["ETag"]
    results: dict[int, int] = {}

    def write(i: int) -> None:
        change = {"values": {"strengths": [f"writer {i}"]}}
        results[i] = server.http.patch(url, json=change, headers={**AUTH, "If-Match": etag}, timeout=120).status_code

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [200] + [412] * 7
    winner = next(i for i, status in results.items() if status == 200)
    assert server.http.get(url, timeout=30).json()["strengths"] == [f"writer {winner}"]


@pytest.mark.parametrize(
    "field",
    ['"abc', '"a" "b"', "abc", '*, "a"', 'W/"a', '"a"x'],
)
def test_a_malformed_condition_is_400_never_dropped(server: Site, field: str) -> None:
    """A write whose condition cannot be read is refused (400), not carried out as if it had none."""
    before = dump(server)
    for name in ("If-Match", "If-None-Match"):
        rest = server.http.patch(
            server.url + "/api/v1/tools/keras",
            json={"values": {"strengths": ["x"]}},
            headers={**AUTH, name: field},
            timeout=30,
        )
        assert rest.status_code == 400, rest.text
        assert name in rest.json()["detail"]
        graph = server.http.put(
            server.url + GRAPH, data=b"<http://e/a> <http://e/b> 1 .", headers={**TURTLE, name: field}, timeout=30
        )
        assert graph.status_code == 400, graph.text
    assert dump(server) == before


def test_an_empty_entity_tag_is_a_tag_that_matches_nothing(server: Site) -> None:
    """ "" is a valid entity tag (RFC 9110 section 8.8.3): it never matches, and it is no error."""
    url = server.url + "/api/v1/tools/keras"
    assert server.http.get(url, headers={"If-None-Match": '""'}, timeout=30).status_code == 200
    assert server.http.get(url, headers={"If-Match": '"", W/""'}, timeout=30).status_code == 412
    default = server.url + "/graph-store?default"
    assert server.http.get(default, headers={"If-Match": '""'}, timeout=60).status_code == 412
    before = dump(server)
    stale = server.http.patch(
        url, json={"values": {"strengths": ["x"]}}, headers={**AUTH, "If-Match": '""'}, timeout=30
    )
    assert_412(stale, server, before)
    done = server.http.patch(
        url, json={"values": {"strengths": ["x"]}}, headers={**AUTH, "If-None-Match": 'W/""'}, timeout=30
    )
    assert done.status_code == 200, done.text


@pytest.mark.parametrize(
    ("path", "accept"),
    [("/api/v1/tools/keras", "application/json"), (GRAPH, "text/turtle"), ("/id/tool/keras", "text/turtle")],
)
def test_a_304_names_the_answer_as_its_200_did(server: Site, path: str, accept: str) -> None:
    """RFC 9110 section 15.4.5: a 304 carries the ETag and Vary its 200 would have, the encoding label of a
    compressed answer's tag included, so that a cache can match it to the answer it holds."""
    if path == GRAPH:  # a graph large enough to be compressed
        body = "".join(f'<http://e/s{i}> <http://e/p> "a literal long enough to compress, {i}" .\n' for i in range(60))
        assert server.http.put(server.url + path, data=body.encode(), headers=TURTLE, timeout=30).status_code == 201
    headers = {"Accept": accept, "Accept-Encoding": "gzip"}
    first = server.http.get(server.url + path, headers=headers, timeout=30)
    assert first.status_code == 200
    assert first.headers["Content-Encoding"] == "gzip"
    etag = first.headers["ETag"]
    assert etag.endswith(':gzip"')
    again = server.http.get(server.url + path, headers={**headers, "If-None-Match": etag}, timeout=30)
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert {v.strip() for v in again.headers["Vary"].split(",")} == {
        v.strip() for v in first.headers["Vary"].split(",")
    }


def test_a_rest_read_checks_if_match_only_when_it_would_answer_200(server: Site) -> None:
    """RFC 9110 section 13.2.1: preconditions are ignored when the answer without them is neither 2xx nor 412."""
    stale = {"If-Match": '"x"'}
    assert server.http.get(server.url + "/api/v1/tools/no-such-tool", headers=stale, timeout=30).status_code == 404
    assert server.http.get(server.url + "/api/v1/roles?limit=abc", headers=stale, timeout=30).status_code == 400
    assert server.http.get(server.url + "/api/v1/tools/keras", headers=stale, timeout=30).status_code == 412
