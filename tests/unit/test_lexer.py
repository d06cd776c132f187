"""The SPARQL lexer and the text it rewrites: keywords found only outside strings, IRIs and comments, whatever the
escapes; USING and VALUES placed where the grammar wants them."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from service.sparql import lexer

# (text, the network keywords the lexer must see)
NETWORK_CASES = [
    ("SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }", {"SERVICE"}),
    ("select * where { service silent <http://x/> {} }", {"SERVICE"}),
    ("LOAD <http://x/data.ttl>", {"LOAD"}),
    ("load silent <http://x/> into graph <http://g/>", {"LOAD"}),
    ("SeRvIcE", {"SERVICE"}),
    # keywords inside strings, IRIs, comments, variables and prefixed names are not keywords
    ('SELECT * WHERE { ?s ?p "SERVICE <http://x/>" }', set()),
    ("SELECT * WHERE { ?s ?p '''LOAD\n<http://x/>''' }", set()),
    ('SELECT * WHERE { ?s ?p """a "quoted" SERVICE""" }', set()),
    ("SELECT ?service ?load WHERE { ?service ?load ?o }", set()),
    ("PREFIX service: <http://e/> SELECT * WHERE { ?s service:load ?o }", set()),
    ("SELECT * WHERE { ?s <http://e/SERVICE> ?o } # SERVICE <http://x/>", set()),
    ('SELECT * WHERE { ?s ?p "a\\"b SERVICE" }', set()),
    # the old guard's bypasses: an escape inside an IRI does not end it, a local name stops where the grammar does
    ("SELECT * WHERE { BIND(<http://a/\\u0041(#)> AS ?x) SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }", {"SERVICE"}),
    ("SELECT * WHERE { BIND(<http://a/\\U00000041#> AS ?x) SERVICE <http://x/> {} }", {"SERVICE"}),
    ("PREFIX ex: <http://e/> SELECT * WHERE { ?s ?p ex:o . ex:o<x>?o.SERVICE<http://evil/>{?a ?b ?c} }", {"SERVICE"}),
    ("PREFIX ex: <http://e/> SELECT * WHERE { ?s ex:p ex:o.SERVICE <http://x/> {} }", set()),  # one local name
    ("PREFIX ex: <http://e/> SELECT * WHERE { ?s ex:p ex:a\\#b . SERVICE <http://x/> {} }", {"SERVICE"}),
    ("SELECT * WHERE { ?s ?p 'x'@en-GB . SERVICE <http://x/> {} }", {"SERVICE"}),
    ("SELECT * WHERE { ?s ?p _:b1.SERVICE <http://x/> {} }", set()),  # _:b1.SERVICE is one blank node label
    ("SELECT * WHERE { ?s ?p _:b1 . SERVICE <http://x/> {} }", {"SERVICE"}),
    # unterminated things: the rest is not read as a string or IRI
    ('SELECT * WHERE { ?s ?p "unterminated\nSERVICE <http://x/> {} }', {"SERVICE"}),
    ("SELECT * WHERE { ?s ?p <http://x/ y> . SERVICE <http://x/> {} }", {"SERVICE"}),
]


@pytest.mark.parametrize(("text", "expected"), NETWORK_CASES)
def test_network_keywords(text: str, expected: set[str]) -> None:
    assert lexer.network_operations(text) == expected


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("<a>", ["iri"]),
        ("<http://a/\\u0041>", ["iri"]),
        ("<a b>", ["other", "name", "name", "other"]),
        ("?x $y", ["var", "var"]),
        ("'a' \"b\" '''c''' \"\"\"d\"\"\"", ["string"] * 4),
        ('"e\\"f"', ["string"]),
        ("@en-GB", ["langtag"]),
        ("ex:a ex: :b _:c", ["name"] * 4),
        ("{ } ( ) .", ["brace", "brace", "other", "other", "other"]),
        ("# only a comment", []),
        ("a # b\n c", ["name", "name"]),
    ],
)
def test_token_kinds(text: str, kinds: list[str]) -> None:
    assert [t.kind for t in lexer.tokens(text)] == kinds


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("SELECT * WHERE {}", "SELECT"),
        ("PREFIX a: <http://a/> ask {}", "ASK"),
        ("# SELECT\nCONSTRUCT WHERE {}", "CONSTRUCT"),
        ("DESCRIBE <http://a/>", "DESCRIBE"),
        ('ASK { ?s ?p "SELECT" }', "ASK"),
        ("INSERT DATA {}", None),
    ],
)
def test_query_form(text: str, form: str | None) -> None:
    assert lexer.query_form(text) == form


@pytest.mark.parametrize(
    ("text", "has_from", "has_dataset_clause"),
    [
        ("SELECT * FROM <http://g/> WHERE {}", True, False),
        ('SELECT * WHERE { ?s ?p "FROM" }', False, False),
        ("WITH <http://g/> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", False, True),
        ("DELETE { ?s ?p ?o } USING <http://g/> WHERE { ?s ?p ?o }", False, True),
        ("DELETE { ?s <http://e/using> ?o } WHERE { ?s ?p ?o }", False, False),
    ],
)
def test_dataset_clauses(text: str, has_from: bool, has_dataset_clause: bool) -> None:
    assert lexer.has_from(text) is has_from
    assert lexer.has_dataset_clause(text) is has_dataset_clause


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        (
            "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
            "DELETE { ?s ?p ?o } USING <http://g/> USING NAMED <http://n/> WHERE { ?s ?p ?o }",
        ),
        (
            "DELETE WHERE { ?s ?p ?o }",  # DELETE WHERE takes no USING
            "DELETE WHERE { ?s ?p ?o }",
        ),
        (
            'INSERT { ?s ?p "WHERE" } WHERE { ?s ?p ?o } ; DELETE { ?a ?b ?c } WHERE { { ?a ?b ?c } }',
            'INSERT { ?s ?p "WHERE" } USING <http://g/> USING NAMED <http://n/> WHERE { ?s ?p ?o } ; '
            "DELETE { ?a ?b ?c } USING <http://g/> USING NAMED <http://n/> WHERE { { ?a ?b ?c } }",
        ),
    ],
)
def test_using_clauses_go_before_each_top_level_where(update: str, expected: str) -> None:
    assert lexer.with_using(update, ["http://g/"], ["http://n/"]) == expected


def test_values_are_written_as_terms_and_run() -> None:
    """A binding becomes a VALUES block of terms written by pyoxigraph: quotes and escapes stay inside the term."""
    hostile = ox.Literal('x" } ; DROP ALL ; SELECT * WHERE { "', language="en")
    query = lexer.with_values("SELECT ?label WHERE { ?s ?p ?label }", {"label": hostile})
    assert query.count("VALUES") == 1
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), hostile))
    rows = list(store.query(query))
    assert [row["label"] for row in rows] == [hostile]


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("SELECT * WHERE { ?s ?p ?o }", "WHERE { VALUES"),
        ("SELECT * { ?s ?p ?o }", "{ VALUES"),
        ('ASK { ?s ?p "{" }', "ASK { VALUES"),
        ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "WHERE { VALUES"),
    ],
)
def test_values_go_at_the_head_of_the_where_clause(query: str, where: str) -> None:
    assert where in lexer.with_values(query, {"s": ox.NamedNode("http://e/s")})


@pytest.mark.parametrize(
    ("bindings", "reason"),
    [({"s": ox.BlankNode()}, "blank"), ({"s p": ox.NamedNode("http://e/")}, "name")],
)
def test_values_refuse_what_cannot_be_written(bindings: dict[str, ox.BlankNode | ox.NamedNode], reason: str) -> None:
    with pytest.raises(ValueError, match="cannot bind"):
        lexer.with_values("SELECT * WHERE { ?s ?p ?o }", bindings)


def test_values_need_a_where_clause() -> None:
    with pytest.raises(ValueError, match="no WHERE"):
        lexer.with_values("DESCRIBE <http://e/>", {"s": ox.NamedNode("http://e/s")})


PATHOLOGICAL = ["a-" * 500_000, "a." * 500_000, "ex:a." * 200_000, "1.1." * 200_000, "'x" * 200_000, "<a" * 200_000]


def test_no_input_makes_the_lexer_slow() -> None:
    """Runs a regex could backtrack on: each megabyte is read in one pass (in a child, so a hang fails the test)."""
    import subprocess
    import sys

    script = (
        "from service.sparql.network import nesting_depth\n"
        "from tests.unit.test_lexer import PATHOLOGICAL\n"
        "print(sum(nesting_depth(text) for text in PATHOLOGICAL))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
