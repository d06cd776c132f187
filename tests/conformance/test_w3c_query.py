"""The W3C SPARQL 1.1 query-evaluation, syntax and result-format suites, run over HTTP against a real server.

For each test the store holds exactly the test's data, loaded through the Graph Store Protocol (the store is
emptied and loaded again unless it already holds the same files: queries change nothing), the query is sent to
/sparql asking for the format of the expected result file, and the answer is parsed and compared (solutions as
multisets or sequences, with blank nodes matched by a bijection; graphs by canonicalisation). Known failures are
listed in KNOWN_FAILURES with their reason and run as strict xfails; at most 5 % of the suite may be listed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import requests
from rdflib.collection import Collection

from tests.support import W3C, WRITE_TOKEN, Server, strict_xfails

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
DAWGT = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#")

ACCEPT = {
    ".srx": "application/sparql-results+xml",
    ".srj": "application/sparql-results+json",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".ttl": "text/turtle",
    ".rdf": "text/turtle",
}
RESULT_FORMATS = {
    ".srx": ox.QueryResultsFormat.XML,
    ".srj": ox.QueryResultsFormat.JSON,
    ".tsv": ox.QueryResultsFormat.TSV,
}
DATA_TYPES = {".ttl": "text/turtle", ".nt": "application/n-triples", ".rdf": "application/rdf+xml"}

# Tests this server fails, each with the reason; every one reproduces with pyoxigraph alone (the query engine
# we embed), none comes from CareerKG's own layers. They run as strict xfails: when a pyoxigraph release
# fixes one, the test fails until it is taken off this list.
_ENGINE = "pyoxigraph 0.5 evaluates this differently from the spec: "
KNOWN_FAILURES: dict[str, str] = {
    "aggregates/agg-groupconcat-04": _ENGINE + "GROUP_CONCAT of same-language literals keeps the language tag",
    "aggregates/agg-groupconcat-06": _ENGINE + "GROUP_CONCAT of same-language literals keeps the language tag",
    "aggregates/agg-empty-group-count-graph": _ENGINE + "an aggregate subquery inside GRAPH ?g loses ?g",
    "bindings/graph": _ENGINE + "VALUES with UNDEF inside GRAPH ?g does not join with each graph",
    "functions/bnode01": _ENGINE + "BNODE(str) returns the same blank node across solutions",
    "negation/graph-minus": _ENGINE + "MINUS inside GRAPH ?g removes solutions that share no variable",
    "property-path/zero_or_more_set_start": _ENGINE + "a zero-length path to a constant not in the data finds nothing",
    "property-path/zero_or_more_set_end": _ENGINE + "a zero-length path from a constant not in the data finds nothing",
    "property-path/zero_or_one_set_start": _ENGINE + "a zero-length path to a constant not in the data finds nothing",
    "property-path/zero_or_one_set_end": _ENGINE + "a zero-length path from a constant not in the data finds nothing",
    "syntax-query/test_4": _ENGINE + "a call to an unknown extension function is refused instead of being an error",
    "csv-tsv-res/tsv03": "pyoxigraph's TSV writer prints xsd:negativeInteger -3 bare, which reads back as xsd:integer",
}


@dataclass
class QueryTest:
    """One entry of a W3C manifest."""

    id: str
    kind: str
    query: Path
    data: list[Path] = field(default_factory=list)
    graph_data: list[Path] = field(default_factory=list)
    result: Path | None = None


def _path(node: rdflib.term.Node) -> Path:
    return Path(str(node).removeprefix("file://"))


def _manifests(path: Path) -> Iterator[tuple[Path, rdflib.Graph, rdflib.term.Node]]:
    g = rdflib.Graph().parse(path, format="turtle", publicID=path.as_uri())
    root = next(g.subjects(rdflib.RDF.type, MF.Manifest))
    yield path, g, root
    included = g.value(root, MF.include)
    if included is not None:
        for child in Collection(g, included):
            yield from _manifests(_path(child))


def load_tests() -> dict[str, QueryTest]:
    tests: dict[str, QueryTest] = {}
    for top in ("manifest-sparql11-query.ttl", "manifest-sparql11-results.ttl"):
        for path, g, root in _manifests(W3C / top):
            entries = g.value(root, MF.entries)
            if entries is None:
                continue
            for test in Collection(g, entries):
                if (test, DAWGT.approval, DAWGT.Withdrawn) in g:
                    continue
                kind = str(g.value(test, rdflib.RDF.type)).rsplit("#", 1)[-1]
                test_id = f"{path.parent.name}/{str(test).rsplit('#', 1)[-1]}"
                action = g.value(test, MF.action)
                if kind in ("PositiveSyntaxTest11", "NegativeSyntaxTest11"):
                    tests[test_id] = QueryTest(test_id, kind, _path(action))
                    continue
                result = g.value(test, MF.result)
                tests[test_id] = QueryTest(
                    test_id,
                    kind,
                    _path(g.value(action, QT.query)),
                    [_path(d) for d in g.objects(action, QT.data)],
                    [_path(d) for d in g.objects(action, QT.graphData)],
                    _path(result) if result is not None else None,
                )
    return tests


TESTS = load_tests()


# --- talking to the server --------------------------------------------------------


def write(server: Server, method: str, target: str, data: bytes, content_type: str) -> None:
    response = requests.request(
        method,
        server.url + target,
        data=data,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=60,
    )
    assert response.status_code in (200, 201, 204), f"{method} {target}: {response.status_code} {response.text[:300]}"


def prepare(server: Server, test: QueryTest) -> None:
    """Make the store hold exactly the test's data."""
    wanted = (tuple(test.data), tuple(test.graph_data))
    if getattr(server, "w3c_data", None) == wanted:
        return
    server.w3c_data = None  # type: ignore[attr-defined]
    write(server, "POST", "/sparql", b"DROP ALL", "application/sparql-update")
    for data in test.data:  # relative IRIs in the data resolve against the data file, as the suite assumes
        body = data.read_bytes()
        if data.suffix == ".ttl":
            body = f"@base <{data.as_uri()}> .\n".encode() + body
        write(server, "POST", "/graph-store?default", body, DATA_TYPES[data.suffix])
    for data in test.graph_data:  # a named graph's body resolves against the graph's IRI
        write(server, "PUT", f"/graph-store?graph={data.as_uri()}", data.read_bytes(), DATA_TYPES[data.suffix])
    server.w3c_data = wanted  # type: ignore[attr-defined]


def ask_server(server: Server, test: QueryTest, accept: str) -> requests.Response:
    # The query's relative IRIs resolve against its own file, as the suite assumes.
    query = f"BASE <{test.query.as_uri()}>\n" + test.query.read_text(encoding="utf-8")
    return requests.post(
        server.url + "/sparql",
        data=query.encode("utf-8"),
        headers={"Content-Type": "application/sparql-query", "Accept": accept},
        timeout=60,
    )


# --- comparing answers ---------------------------------------------------------------

Row = dict[str, object]


XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC = {
    XSD + t
    for t in [
        "integer",
        "decimal",
        "float",
        "double",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "positiveInteger",
        "unsignedInt",
        "unsignedLong",
        "unsignedShort",
        "unsignedByte",
    ]
}


def _number(lexical: str) -> Decimal | float:
    special = {"INF": float("inf"), "+INF": float("inf"), "-INF": float("-inf"), "NaN": float("nan")}
    return special[lexical] if lexical in special else Decimal(lexical)


def _same(a: object, b: object) -> bool:
    """Term equality, except that numeric and boolean literals compare by value: Oxigraph keeps values,
    not lexical forms ("1.0"^^xsd:decimal comes back as "1", "0"^^xsd:boolean as "false")."""
    if a == b:
        return True
    if isinstance(a, ox.Literal) and isinstance(b, ox.Literal) and a.datatype == b.datatype:
        if a.datatype.value == XSD + "boolean":
            truth = {"true": True, "1": True, "false": False, "0": False}
            return truth.get(a.value) == truth.get(b.value) is not None
        if a.datatype.value in NUMERIC:
            try:
                return _number(a.value) == _number(b.value)
            except InvalidOperation:
                return False
    if isinstance(a, str) and isinstance(b, str):  # CSV cells: numbers by value
        try:
            return _number(a) == _number(b)
        except InvalidOperation:
            return False
    return False


def _is_bnode(value: object) -> bool:
    return isinstance(value, ox.BlankNode) or (isinstance(value, str) and value.startswith("_:"))


def _match(expected: list[Row], actual: list[Row], ordered: bool) -> bool:
    """Solutions equal up to a bijection of blank nodes (as sequences if ordered, else as multisets)."""
    if len(expected) != len(actual):
        return False
    if not ordered:
        shape = lambda row: sorted((k, _is_bnode(v)) for k, v in row.items())  # noqa: E731
        if sorted(map(shape, expected)) != sorted(map(shape, actual)):
            return False

    def unify(a: Row, b: Row, mapping: dict[object, object]) -> dict[object, object] | None:
        if a.keys() != b.keys():
            return None
        new = dict(mapping)
        for name, value in a.items():
            other = b[name]
            if _is_bnode(value) and _is_bnode(other):
                if new.get(value, other) != other or (other in new.values() and new.get(value) != other):
                    return None
                new[value] = other
            elif not _same(value, other):
                return None
        return new

    def search(i: int, used: set[int], mapping: dict[object, object]) -> bool:
        if i == len(expected):
            return True
        candidates = [i] if ordered else [j for j in range(len(actual)) if j not in used]
        for j in candidates:
            result = unify(expected[i], actual[j], mapping)
            if result is not None and search(i + 1, used | {j}, result):
                return True
        return False

    return search(0, set(), {})


def _difference(expected: list[Row], actual: list[Row]) -> str:
    """The rows on each side without an equal row on the other (blank nodes aside), for the failure message."""
    missing = [r for r in expected if not any(_match([r], [a], True) for a in actual)]
    extra = [a for a in actual if not any(_match([r], [a], True) for r in expected)]
    return f"{len(expected)} expected, {len(actual)} got; missing {missing[:5]}; unexpected {extra[:5]}"


def _solutions(data: bytes, fmt: ox.QueryResultsFormat) -> list[Row] | bool:
    parsed = ox.parse_query_results(data, format=fmt)
    if isinstance(parsed, ox.QueryBoolean):
        return bool(parsed)
    variables = [v.value for v in parsed.variables]
    return [{v: row[v] for v in variables if row[v] is not None} for row in parsed]


def _csv_rows(text: str) -> list[Row]:
    reader = list(csv.reader(io.StringIO(text)))
    header, rows = reader[0], reader[1:]
    return [{h: value for h, value in zip(header, row, strict=True) if value != ""} for row in rows]


RS = "http://www.w3.org/2001/sw/DataAccess/tests/result-set#"


def _result_set(data: bytes, path: Path) -> list[Row] | bool:
    """Solutions from a DAWG rs:ResultSet graph."""
    fmt = ox.RdfFormat.TURTLE if path.suffix == ".ttl" else ox.RdfFormat.RDF_XML
    store = ox.Store()
    store.extend(ox.parse(data, format=fmt, base_iri=path.as_uri()))
    boolean = list(store.query(f"SELECT ?b WHERE {{ ?rs <{RS}boolean> ?b }}"))
    if boolean:
        return boolean[0]["b"].value == "true"
    rows: dict[object, Row] = {}
    for sol in store.query(
        f"SELECT ?s ?var ?val WHERE {{ ?rs <{RS}solution> ?s . "
        f"OPTIONAL {{ ?s <{RS}binding> ?b . ?b <{RS}variable> ?var ; <{RS}value> ?val }} }}"
    ):
        row = rows.setdefault(sol["s"], {})
        if sol["var"] is not None:
            row[sol["var"].value] = sol["val"]
    return list(rows.values())


def _canonical(data: bytes, fmt: ox.RdfFormat, base: str) -> set[ox.Quad]:
    dataset = ox.Dataset(ox.parse(data, format=fmt, base_iri=base))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set(dataset)


def check(server: Server, test: QueryTest) -> None:
    if test.kind == "PositiveSyntaxTest11":
        response = ask_server(server, test, "*/*")
        assert response.status_code == 200, response.text[:500]
        return
    if test.kind == "NegativeSyntaxTest11":
        response = ask_server(server, test, "*/*")
        assert response.status_code == 400, response.text[:500]
        assert response.headers["Content-Type"] == "application/problem+json"
        return
    assert test.result is not None
    prepare(server, test)
    suffix = test.result.suffix
    expected_bytes = test.result.read_bytes()
    ordered = bool(re.search(r"\bORDER\s+BY\b", test.query.read_text(encoding="utf-8"), re.IGNORECASE))
    if suffix in (".ttl", ".rdf") and b"ResultSet" in expected_bytes:  # solutions written as an rs: graph
        response = ask_server(server, test, "application/sparql-results+json")
        assert response.status_code == 200, response.text[:500]
        actual = _solutions(response.content, ox.QueryResultsFormat.JSON)
        expected_rs = _result_set(expected_bytes, test.result)
        if isinstance(expected_rs, bool):
            assert actual is expected_rs
        else:
            assert isinstance(actual, list)
            assert _match(expected_rs, actual, ordered=False), response.text[:2000]
        return
    response = ask_server(server, test, ACCEPT[suffix])
    assert response.status_code == 200, response.text[:500]
    if suffix in (".ttl", ".rdf"):
        fmt = ox.RdfFormat.TURTLE if suffix == ".ttl" else ox.RdfFormat.RDF_XML
        expected = _canonical(expected_bytes, fmt, test.result.as_uri())
        actual = _canonical(response.content, ox.RdfFormat.TURTLE, test.result.as_uri())
        assert actual == expected, response.text[:2000]
        return
    if suffix == ".csv":
        assert _match(_csv_rows(expected_bytes.decode()), _csv_rows(response.text), ordered), response.text[:2000]
        return
    expected_solutions = _solutions(expected_bytes, RESULT_FORMATS[suffix])
    actual_solutions = _solutions(response.content, RESULT_FORMATS[suffix])
    if isinstance(expected_solutions, bool):
        assert actual_solutions is expected_solutions
        return
    assert isinstance(actual_solutions, list)
    assert _match(expected_solutions, actual_solutions, ordered), _difference(expected_solutions, actual_solutions)


@pytest.mark.parametrize("test_id", strict_xfails(TESTS, KNOWN_FAILURES, raises=AssertionError))
def test_w3c_query(writable_server: Server, test_id: str) -> None:
    check(writable_server, TESTS[test_id])


def test_known_failures_are_few_and_real() -> None:
    """At least 95 % of the suite passes: the known failures are named tests of the suite, at most 5 % of it."""
    assert set(KNOWN_FAILURES) <= set(TESTS)
    assert len(KNOWN_FAILURES) / len(TESTS) <= 0.05
