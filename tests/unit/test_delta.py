"""The write delta: what a change adds and removes, computed before anything is written, and how it travels."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable

import pyoxigraph as ox
import pytest

from service import writes
from service.jsonbody import depth
from service.limits import BodyLimit
from service.store import EmbeddedStore

EX = "http://example.org/"
S, P = ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p")
G = ox.NamedNode(EX + "g")


def store_with(*quads: ox.Quad) -> EmbeddedStore:
    store = EmbeddedStore()
    store.add(quads)
    return store


def lit(text: str) -> ox.Literal:
    return ox.Literal(text)


@pytest.mark.parametrize(
    ("update", "added", "removed"),
    [
        (f'INSERT DATA {{ <{EX}s> <{EX}p> "new" }}', {"new"}, set()),
        (f'INSERT DATA {{ <{EX}s> <{EX}p> "old" }}', set(), set()),  # already there: no change
        (f'DELETE DATA {{ <{EX}s> <{EX}p> "old" }}', set(), {"old"}),
        (f'DELETE DATA {{ <{EX}s> <{EX}p> "absent" }}', set(), set()),
        (f'DELETE DATA {{ <{EX}s> <{EX}p> "old" }} ; INSERT DATA {{ <{EX}s> <{EX}p> "old" }}', set(), set()),
        (f'INSERT DATA {{ <{EX}s> <{EX}p> "x" }} ; DELETE DATA {{ <{EX}s> <{EX}p> "x" }}', set(), set()),
        (f'PREFIX e: <{EX}> INSERT DATA {{ e:s e:p "pre}}fixed" }}', {"pre}fixed"}, set()),  # a brace in a string
        ('DELETE { ?s ?p "old" } INSERT { ?s ?p "moved" } WHERE { ?s ?p "old" }', {"moved"}, {"old"}),
        ("CLEAR DEFAULT", set(), {"old"}),
    ],
)
def test_delta_of_an_update(update: str, added: set[str], removed: set[str]) -> None:
    store = store_with(ox.Quad(S, P, lit("old")))
    before = set(store.quads())
    delta = writes.delta_of_update(store, update, None)
    assert {q.object.value for q in delta.added} == added
    assert {q.object.value for q in delta.removed} == removed
    assert set(store.quads()) == before  # computing the delta wrote nothing


def test_data_updates_are_parsed_not_run() -> None:
    """INSERT/DELETE DATA deltas come from parsing their data (TriG), so a named graph keeps its name."""
    delta = writes.delta_of_update(EmbeddedStore(), f'INSERT DATA {{ GRAPH <{EX}g> {{ <{EX}s> <{EX}p> "x" }} }}', None)
    assert [q.graph_name for q in delta.added] == [G]
    assert writes._data_operations("CLEAR ALL", None) is None
    assert writes._data_operations(f"INSERT DATA {{ <{EX}s> <{EX}p> }}", None) is None  # the engine says why


def test_removing_blank_nodes_rewrites_their_graph() -> None:
    blank = ox.Quad(ox.BlankNode(), P, lit("b"), G)
    store = store_with(blank, ox.Quad(S, P, lit("kept"), G))
    delta = writes.delta_of_update(store, f'DELETE WHERE {{ GRAPH <{EX}g> {{ ?b <{EX}p> "b" }} }}', None)
    assert delta.replaces == {G: (ox.Quad(S, P, lit("kept"), G),)}
    replaced = writes.delta_of_replace(store, G, [ox.Quad(S, P, lit("kept"), G)])
    assert set(replaced.replaces) == {G}
    plain = writes.delta_of_replace(store_with(ox.Quad(S, P, lit("a"), G)), G, [ox.Quad(S, P, lit("b"), G)])
    assert plain.replaces == {}  # no blank node lost: the delta names each statement


def test_a_delta_travels_as_json_and_comes_back_equal() -> None:
    delta = writes.Delta(
        added={ox.Quad(S, P, ox.Literal('a "quoted"\nline', language="en"), G)},
        removed={ox.Quad(S, P, lit("gone"))},
        base="7",
        replaces={ox.DefaultGraph(): (ox.Quad(S, P, lit("all")),), G: ()},
    )
    back = writes.Delta.from_json(json.loads(json.dumps(delta.to_json())))
    assert (back.added, back.removed, back.base) == (delta.added, delta.removed, delta.base)
    assert {g: set(q) for g, q in back.replaces.items()} == {g: set(q) for g, q in delta.replaces.items()}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 0), ([], 1), ({"a": [1, {"b": []}]}, 4), ([[[[]]]], 4), ({"a": 1, "b": {"c": 2}}, 2)],
)
def test_json_depth(value: object, expected: int) -> None:
    assert depth(value) == expected


def _call(limit: int, body: Iterable[bytes] | bytes, headers: dict[str, str]) -> tuple[str, bytes, bytes | None]:
    seen: dict[str, bytes] = {}

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        seen["body"] = environ["wsgi.input"].read()  # type: ignore[attr-defined]
        start_response("200 OK", [])  # type: ignore[operator]
        return [b"ok"]

    raw = body if isinstance(body, bytes) else b"".join(body)
    environ = {"wsgi.input": io.BytesIO(raw), "PATH_INFO": "/x", **headers}
    status: list[str] = []
    answer = b"".join(BodyLimit(app, limit)(environ, lambda s, h: status.append(s)))
    return status[0], answer, seen.get("body")


@pytest.mark.parametrize(
    ("headers", "body", "status", "passed"),
    [
        ({"CONTENT_LENGTH": "5"}, b"hello", "200 OK", b"hello"),
        ({"CONTENT_LENGTH": "11"}, b"hello world", "413 Content Too Large", None),  # refused unread
        ({"HTTP_TRANSFER_ENCODING": "chunked"}, b"0123456789", "200 OK", b"0123456789"),
        ({"HTTP_TRANSFER_ENCODING": "chunked"}, b"0123456789X", "413 Content Too Large", None),
        ({"CONTENT_LENGTH": "ten"}, b"", "400 Bad Request", None),
        ({"CONTENT_LENGTH": "-1"}, b"", "400 Bad Request", None),
        ({}, b"", "200 OK", b""),
    ],
)
def test_the_body_limit_holds_however_the_body_is_framed(
    headers: dict[str, str], body: bytes, status: str, passed: bytes | None
) -> None:
    got, answer, seen = _call(10, body, headers)
    assert got == status
    assert seen == passed  # the app saw the whole body, or nothing at all
    if status.startswith("4"):
        problem = json.loads(answer)
        assert problem["status"] == int(status[:3])
        assert problem["detail"]


def test_a_change_log_entry_lists_a_bounded_number_of_characters() -> None:
    """An entry is one literal in the store, sent in the update that records the change: however long the
    statements, the listing stops at MAX_LISTED_CHARS."""
    data = ox.Store()
    long_text = ox.Literal("x" * 700, language="en")
    data.extend(
        ox.Quad(ox.NamedNode(f"https://example.org/r{i}"), ox.NamedNode("https://example.org/p"), long_text)
        for i in range(300)
    )
    listed = writes.fill_entry("tester", data)["triples_added"]
    assert 0 < len(listed) < 200
    assert sum(len(line) for line in listed) <= writes.MAX_LISTED_CHARS
    assert all(line.endswith(" .") for line in listed)  # whole lines, none cut
