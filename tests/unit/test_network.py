"""The network policy: allow-list entries compared as parsed URLs, SERVICE/LOAD targets read by a real parser, and
the sandbox the kernel enforces in query workers."""

from __future__ import annotations

import os
import socket

import pytest

from service.errors import BadRequest, CareerKGError
from service.sparql import sandbox
from service.sparql.network import (
    NetworkPolicy,
    NetworkRefused,
    Route,
    Target,
    check_nesting,
    nesting_depth,
    parsed_targets,
)

ENTRY = "http://127.0.0.1:8150"


@pytest.mark.parametrize(
    ("target", "admitted"),
    [
        ("http://127.0.0.1:8150/sparql", True),
        ("HTTP://127.0.0.1:8150/x", True),  # schemes compare case-insensitively, as URLs do
        ("http://127.0.0.1:8150", True),
        ("http://127.0.0.1:8151/sparql", False),
        ("http://127.0.0.1/sparql", False),  # port 80 is not 8150
        ("https://127.0.0.1:8150/sparql", False),
        ("http://127.0.0.1:8150@127.0.0.1:8152/x", False),  # userinfo: the host is 8152's
        ("http://user:pw@127.0.0.1:8150/x", False),  # userinfo is refused even for the right host
        ("http://127.0.0.1:8150.evil.example/x", False),
        ("http://127.0.0.1.evil.example:8150/x", False),
        ("http://[::1]:8150/x", False),
        ("ftp://127.0.0.1:8150/x", False),
        ("http://127.0.0.1:99999/x", False),  # no such port
        ("not a url", False),
    ],
)
def test_allow_list_compares_scheme_host_and_port(target: str, admitted: bool) -> None:
    assert Target.parse(ENTRY).admits(target) is admitted


def test_an_entry_with_a_path_admits_that_path_only() -> None:
    entry = Target.parse("https://data.example/sparql")
    assert entry.admits("https://data.example/sparql")
    assert entry.admits("https://data.example:443/sparql/sub")
    assert not entry.admits("https://data.example/sparqlx")
    assert not entry.admits("https://data.example/other")


@pytest.mark.parametrize("entry", ["127.0.0.1:8150", "http://", "http://u:p@host/", "file:///etc", "http://h:x/"])
def test_bad_entries_are_configuration_errors(entry: str) -> None:
    with pytest.raises(CareerKGError, match="CAREERKG_NETWORK_ALLOW"):
        Target.parse(entry)


@pytest.mark.parametrize(
    ("text", "update", "targets"),
    [
        ("SELECT * WHERE { SERVICE <http://a/s> { ?s ?p ?o } }", False, [("SERVICE", "http://a/s")]),
        ("PREFIX e: <http://e/> SELECT * WHERE { SERVICE SILENT e:s {} }", False, [("SERVICE", "http://e/s")]),
        ("BASE <http://b/> SELECT * WHERE { SERVICE <rel> {} }", False, [("SERVICE", "http://b/rel")]),
        ("SELECT * WHERE { SERVICE ?endpoint {} }", False, [("SERVICE", None)]),
        ("SELECT * WHERE { ?s ?p 'download' }", False, []),
        ("LOAD <http://a/d.ttl> INTO GRAPH <http://g/>", True, [("LOAD", "http://a/d.ttl")]),
        ("INSERT { ?s ?p ?o } WHERE { SERVICE <http://z/> { ?s ?p ?o } }", True, [("SERVICE", "http://z/")]),
    ],
)
def test_targets_come_from_a_real_parse(text: str, update: bool, targets: list[tuple[str, str | None]]) -> None:
    assert sorted(parsed_targets(text, update=update, base_iri=None), key=str) == sorted(targets, key=str)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * WHERE { BIND(<http://a/\\u0041(#)> AS ?x) SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }",
        "PREFIX ex: <http://e/> SELECT * WHERE { ?s ?p ex:o . ex:o<x>?o.SERVICE<http://evil/>{?a ?b ?c} }",
        "SELECT * WHERE { SERVICE <http://x/> " + "{" * 3000 + "}" * 3000 + " }",
    ],
)
def test_what_the_parser_cannot_read_is_refused(text: str) -> None:
    with pytest.raises(NetworkRefused):
        parsed_targets(text, update=False, base_iri=None)


def test_requests_that_cannot_name_the_network_need_no_parse() -> None:
    """Without the words SERVICE or LOAD (any case) a request cannot use them: no parser is asked."""

    def never(*_: object) -> list[tuple[str, str | None]]:
        raise AssertionError("parsed")

    remote = NetworkPolicy.of([], sandboxed=False)
    assert remote.route("SELECT * WHERE { ?s ?p ?o }", update=False, base_iri=None, targets=never) is Route.NETWORK
    embedded = NetworkPolicy.of([], sandboxed=True)
    assert embedded.route("DROP ALL", update=True, base_iri=None, targets=never) is Route.SANDBOX


@pytest.mark.parametrize(
    ("allowed", "sandboxed", "text", "outcome"),
    [
        ([], True, "SELECT * WHERE { SERVICE <http://127.0.0.1:8150/s> {} }", "refused in the sandbox"),
        ([], True, "SELECT * WHERE { ?s ?p 'download' }", Route.SANDBOX),
        ([], False, "SELECT * WHERE { SERVICE <http://127.0.0.1:8150/s> {} }", "refused"),
        ([], False, "SELECT * WHERE { ?s ?p 'download' }", Route.NETWORK),
        ([ENTRY], True, "SELECT * WHERE { SERVICE <http://127.0.0.1:8150/s> {} }", Route.NETWORK),
        ([ENTRY], True, "SELECT * WHERE { SERVICE <http://127.0.0.1:8151/s> {} }", "refused"),
        ([ENTRY], True, "SELECT * WHERE { SERVICE ?v {} }", "refused"),
        ([ENTRY], True, "SELECT * WHERE { ?s ?p 'download' }", Route.SANDBOX),
        ([ENTRY], False, "SELECT * WHERE { SERVICE <http://127.0.0.1:8150@127.0.0.1:8152/x> {} }", "refused"),
    ],
)
def test_routes(allowed: list[str], sandboxed: bool, text: str, outcome: Route | str) -> None:
    policy = NetworkPolicy.of(allowed, sandboxed=sandboxed)
    if outcome == "refused in the sandbox":  # a sandboxed worker says 403; the sandbox stops what it misses
        assert policy.route(text, update=False, base_iri=None) is Route.SANDBOX
        assert policy.refused_in_the_sandbox(text)
    elif outcome == "refused":
        with pytest.raises(NetworkRefused):
            policy.route(text, update=False, base_iri=None)
    else:
        assert policy.route(text, update=False, base_iri=None) is outcome
        assert not policy.refused_in_the_sandbox(text) or outcome is Route.SANDBOX


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("SELECT * WHERE { ?s ?p ?o }", 1),
        ("SELECT * WHERE { { ?s ?p ?o } UNION { FILTER((1 + (2))) } }", 5),
        ('SELECT * WHERE { ?s ?p "{{{{{{" }', 1),
        ("SELECT * WHERE { ?s ?p ( ( ( ) ) ) } # {{{{", 4),
    ],
)
def test_nesting_depth_counts_outside_strings_and_comments(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("{ [ ( { } ) ] }", False),  # four openers, as deep as the limit
        ("{ [ ( { ( ) } ) ] }", True),
        ("(((((1)))))", True),
        ('SELECT * { ?s ?p "((((((((" }', False),  # more openers than the limit, all but one in a string
        ("SELECT * { ?s ?p ?o } # [[[[[[[[", False),
        ("{ } { } { } { } { } { }", False),  # many groups side by side, none nested
    ],
)
def test_check_nesting_refuses_what_nests_past_the_limit(text: str, refused: bool) -> None:
    if refused:
        with pytest.raises(BadRequest):
            check_nesting(text, "query", limit=4)
    else:
        check_nesting(text, "query", limit=4)


@pytest.mark.skipif(not sandbox.available(), reason="no seccomp filter for this architecture")
def test_a_sandboxed_process_cannot_create_any_socket() -> None:
    """The kernel refuses socket(), socketpair() and io_uring in a sandboxed process (checked in a child)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop network access, try every way, report
        try:
            os.close(read)
            sandbox.drop_network()
            outcomes = []
            for family, kind in [
                (socket.AF_INET, socket.SOCK_STREAM),
                (socket.AF_INET6, socket.SOCK_STREAM),
                (socket.AF_INET, socket.SOCK_DGRAM),
                (socket.AF_UNIX, socket.SOCK_STREAM),
                (socket.AF_NETLINK, socket.SOCK_RAW),
            ]:
                try:
                    socket.socket(family, kind).close()
                    outcomes.append("open")
                except OSError:
                    outcomes.append("refused")
            try:
                socket.socketpair()
                outcomes.append("open")
            except OSError:
                outcomes.append("refused")
            os.write(write, ",".join(outcomes).encode())
        finally:
            os._exit(0)
    os.close(write)
    report = os.read(read, 1000).decode()
    os.waitpid(pid, 0)
    assert report.split(",") == ["refused"] * 6
    socket.socket().close()  # this process keeps its network
