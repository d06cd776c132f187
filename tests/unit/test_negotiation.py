"""Content negotiation: one table, one Accept parser; q-values honoured, 406 lists what is offered."""

from __future__ import annotations

import pytest

from service import negotiation as n


@pytest.mark.parametrize(
    ("accept", "offered", "fmt", "expected"),
    [
        (None, n.SOLUTIONS, None, n.SPARQL_JSON),
        ("", n.GRAPH, None, n.TURTLE),
        ("*/*", n.SOLUTIONS, None, n.SPARQL_JSON),
        ("application/json", n.SOLUTIONS, None, n.SPARQL_JSON),
        ("application/xml", n.BOOLEAN, None, n.SPARQL_XML),
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", n.SOLUTIONS, None, n.SPARQL_XML),
        ("text/*;q=0.9, application/sparql-results+json;q=0.1", n.SOLUTIONS, None, n.CSV),
        ("text/html, text/tab-separated-values;q=0.1", n.SOLUTIONS, None, n.TSV),
        ("text/turtle; charset=utf-8", n.GRAPH, None, n.TURTLE),  # parameters other than q ignored
        ("application/ld+json;q=1, text/turtle;q=0.5", n.GRAPH, None, n.JSONLD),
        ("text/plain", n.GRAPH, None, n.NTRIPLES),
        ("application/n-quads", n.GRAPH, None, n.NQUADS),
        (None, n.SOLUTIONS, "csv", n.CSV),  # format= wins over Accept
        ("text/csv", n.SOLUTIONS, "xml", n.SPARQL_XML),
        (None, n.GRAPH, "json-ld", n.JSONLD),
        (None, n.GRAPH, "text/turtle", n.TURTLE),
        ("text/tab-separated-values", n.SOLUTIONS, "nonsense", n.TSV),  # an unknown name: Accept decides
        (None, n.SOLUTIONS, "ttl", n.SPARQL_JSON),  # a graph name for solutions: the default
    ],
)
def test_choose(accept: str | None, offered: tuple[n.Format, ...], fmt: str | None, expected: n.Format) -> None:
    assert n.choose(accept, offered, fmt) is expected


@pytest.mark.parametrize(
    ("accept", "offered"),
    [("image/png, application/pdf;q=0.5", n.SOLUTIONS), ("text/csv", n.GRAPH), ("text/turtle;q=0", n.GRAPH)],
)
def test_406_names_what_is_offered(accept: str, offered: tuple[n.Format, ...]) -> None:
    with pytest.raises(n.NotAcceptable) as refused:
        n.choose(accept, offered)
    assert refused.value.status == 406
    assert refused.value.offered == [f.media_type for f in offered]


def test_every_format_has_one_serialiser() -> None:
    for fmt in (*n.SOLUTIONS, *n.GRAPH):
        assert (fmt.results is None) != (fmt.rdf is None), fmt
        assert n.BY_MEDIA_TYPE[fmt.media_type] is fmt


def test_long_accept_headers_are_answered_alike_and_never_remembered() -> None:
    """Accept headers are remembered, but only short ones: a client cannot fill the cache with long ones."""
    padding = ", ".join(f"application/x-{i}; q=0.1" for i in range(100))  # far past CACHED_ACCEPT
    long_header = f"text/turtle; q=0.5, {padding}, application/n-triples"
    short_header = "text/turtle; q=0.5, application/n-triples"
    assert len(long_header) > n.CACHED_ACCEPT >= len(short_header)
    before = n._best.cache_info().currsize
    assert n.choose(long_header, n.GRAPH) == n.choose(short_header, n.GRAPH) == n.NTRIPLES
    assert n._best.cache_info().currsize <= before + 1  # the short one only
    with pytest.raises(n.NotAcceptable):
        n.choose(f"{padding}, image/png", n.GRAPH)
