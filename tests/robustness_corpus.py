"""Bad input over every route: deep nesting, escapes, invalid UTF-8, null bytes, entity tricks, invalid path bytes
and language tags. Each entry must get an answer below 500 and change nothing; the app tier runs it in process,
the server tier against a real process (which must stay alive)."""

from __future__ import annotations

from dataclasses import dataclass, field

TOKEN = "test-write-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass(frozen=True)
class Bad:
    """One hostile request."""

    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _deep_json_ld(depth: int) -> bytes:
    return b'{"@id": "http://e/x", "http://e/p": ' * depth + b'"v"' + b"}" * depth


def _laughs() -> bytes:
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE rdf:RDF [", '  <!ENTITY lol "lol">']
    for i in range(1, 10):
        previous = f"&lol{i - 1};" if i > 1 else "&lol;"
        lines.append(f'  <!ENTITY lol{i} "{previous * 10}">')
    lines += [
        "]>",
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">',
        '  <rdf:Description rdf:about="http://e/x"><e:p>&lol9;</e:p></rdf:Description>',
        "</rdf:RDF>",
    ]
    return "\n".join(lines).encode()


def _external_entity() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
        b'<rdf:Description rdf:about="http://e/x"><e:p>&x;</e:p></rdf:Description></rdf:RDF>'
    )


QUERY = {"Content-Type": "application/sparql-query"}
UPDATE = {"Content-Type": "application/sparql-update", **AUTH}
TURTLE = {"Content-Type": "text/turtle", **AUTH}
JSON = {"Content-Type": "application/json"}
JSON_W = {**JSON, **AUTH}
DEEP_LIST = b"<http://e/s> <http://e/p> " + b"(" * 20000 + b")" * 20000 + b" ."
DEEP_BNODES = b"<http://e/s> <http://e/p> " + b"[ <http://e/p> " * 20000 + b"1" + b"]" * 20000 + b" ."

CORPUS = [
    # SPARQL queries
    Bad("query-deep-groups", "POST", "/sparql", b"SELECT * WHERE " + b"{" * 5000 + b"}" * 5000, QUERY),
    Bad(
        "query-deep-expression", "POST", "/sparql", b"ASK { FILTER(" + b"(" * 5000 + b"1" + b")" * 5000 + b") }", QUERY
    ),
    Bad("query-deep-groups-get", "GET", "/sparql?query=" + "%7B" * 3000 + "%7D" * 3000),
    Bad("query-invalid-utf8", "POST", "/sparql", b"SELECT * WHERE { ?s ?p '\xff\xfe' }", QUERY),
    Bad("query-null-bytes", "POST", "/sparql", b"SELECT * WHERE { ?s ?p '\x00' }\x00", QUERY),
    Bad("query-escapes", "POST", "/sparql", b"SELECT * WHERE { ?s ?p '\\uD800\\U0010FFFF\\U00110000' }", QUERY),
    Bad("query-unterminated", "POST", "/sparql", b"SELECT * WHERE { ?s ?p '''", QUERY),
    Bad("query-path-bytes", "GET", "/sparql?query=%ff%fe%00"),
    Bad(
        "query-bad-charset", "POST", "/sparql", b"ASK {}", {"Content-Type": "application/sparql-query; charset=latin1"}
    ),
    Bad(
        "query-form-bad-utf8", "POST", "/sparql", b"query=%ff%fe", {"Content-Type": "application/x-www-form-urlencoded"}
    ),
    Bad("query-bad-graph-param", "GET", "/sparql?query=ASK%7B%7D&default-graph-uri=%ff"),
    # SPARQL updates
    Bad("update-deep-list", "POST", "/sparql", b"INSERT DATA { " + DEEP_LIST + b" }", UPDATE),
    Bad("update-deep-bnodes", "POST", "/sparql", b"INSERT DATA { " + DEEP_BNODES + b" }", UPDATE),
    Bad("update-deep-where", "POST", "/sparql", b"DELETE WHERE " + b"{" * 5000 + b"}" * 5000, UPDATE),
    Bad("update-invalid-utf8", "POST", "/sparql", b"INSERT DATA { <http://e/s> <http://e/p> '\xff' }", UPDATE),
    Bad("update-bad-lang", "POST", "/sparql", b"INSERT DATA { <http://e/s> <http://e/p> 'x'@-- }", UPDATE),
    # Graph Store
    Bad(
        "gsp-deep-json-ld",
        "PUT",
        "/graph-store?graph=http://e/g",
        _deep_json_ld(5000),
        {"Content-Type": "application/ld+json", **AUTH},
    ),
    Bad("gsp-deep-list", "PUT", "/graph-store?graph=http://e/g", DEEP_LIST, TURTLE),
    Bad("gsp-deep-bnodes", "POST", "/graph-store?default", DEEP_BNODES, TURTLE),
    Bad(
        "gsp-laughs", "PUT", "/graph-store?graph=http://e/g", _laughs(), {"Content-Type": "application/rdf+xml", **AUTH}
    ),
    Bad(
        "gsp-external-entity",
        "PUT",
        "/graph-store?graph=http://e/g",
        _external_entity(),
        {"Content-Type": "application/rdf+xml", **AUTH},
    ),
    Bad("gsp-invalid-utf8", "PUT", "/graph-store?graph=http://e/g", b"<http://e/s> <http://e/p> '\xff' .", TURTLE),
    Bad("gsp-null-bytes", "PUT", "/graph-store?graph=http://e/g", b"<http://e/s\x00> <http://e/p> 1 .", TURTLE),
    Bad("gsp-path-bytes", "GET", "/graph-store/%ff%fe"),
    Bad("gsp-path-bytes-put", "PUT", "/graph-store/%ff%fe", b"<http://e/s> <http://e/p> 1 .", TURTLE),
    Bad("gsp-graph-bytes", "GET", "/graph-store?graph=%ff%fe"),
    Bad("gsp-relative-graph", "GET", "/graph-store?graph=relative"),
    Bad("gsp-bad-lang", "PUT", "/graph-store?graph=http://e/g", b'<http://e/s> <http://e/p> "x"@a_b .', TURTLE),
    # /validate (anonymous)
    Bad("validate-deep-json-ld", "POST", "/validate", _deep_json_ld(5000), {"Content-Type": "application/ld+json"}),
    Bad("validate-deep-list", "POST", "/validate", DEEP_LIST, {"Content-Type": "text/turtle"}),
    Bad("validate-laughs", "POST", "/validate", _laughs(), {"Content-Type": "application/rdf+xml"}),
    Bad(
        "validate-laughs-utf16",
        "POST",
        "/validate",
        _laughs().decode().encode("utf-16"),
        {"Content-Type": "application/rdf+xml"},
    ),
    Bad("validate-external-entity", "POST", "/validate", _external_entity(), {"Content-Type": "application/rdf+xml"}),
    Bad("validate-invalid-utf8", "POST", "/validate", b"\xff\xfe\xfd", {"Content-Type": "text/turtle"}),
    Bad(
        "validate-json-ld-remote-context",
        "POST",
        "/validate",
        b'{"@context": "http://127.0.0.1:9/c", "@id": "http://e/x"}',
        {"Content-Type": "application/ld+json"},
    ),
    # REST reads
    Bad("rest-limit-negative", "GET", "/api/v1/roles?limit=-1"),
    Bad("rest-limit-huge", "GET", "/api/v1/roles?limit=99999999999999999999999"),
    Bad("rest-offset-huge", "GET", "/api/v1/skills?offset=99999999999999999999999"),
    Bad("rest-lang-bytes", "GET", "/api/v1/roles?lang=%ff%00"),
    Bad("rest-q-null", "GET", "/api/v1/search?q=%00"),
    Bad("rest-id-bytes", "GET", "/api/v1/roles/%ff%fe"),
    Bad("rest-id-long", "GET", "/api/v1/roles/" + "a" * 5000),
    Bad("rest-compare-bytes", "GET", "/api/v1/compare?roles=%ff,%00"),
    Bad("rest-gap-bytes", "GET", "/api/v1/roles/ai-engineer/gap?skills=%ff"),
    Bad("rest-paths-deep", "GET", "/api/v1/roles/ai-engineer/paths?to=ml-engineer&max_steps=999999"),
    Bad("id-bytes", "GET", "/id/%ff/%fe"),
    Bad("ontology-traversal", "GET", "/ontology/..%2f..%2fpyproject.toml"),
    # REST bodies
    Bad("match-deep-array", "POST", "/api/v1/match", b"[" * 100000, JSON),
    Bad("match-deep-object", "POST", "/api/v1/match", b'{"a":' * 100000, JSON),
    Bad("match-invalid-utf8", "POST", "/api/v1/match", b'{"skills": ["\xff"]}', JSON),
    Bad("match-null", "POST", "/api/v1/match", b'{"skills": ["\\u0000"]}', JSON),
    Bad("put-deep-json", "PUT", "/api/v1/tools/deep", b'{"label":' * 5000 + b"1" + b"}" * 5000, JSON_W),
    Bad("patch-deep-json", "PATCH", "/api/v1/tools/keras", b"[" * 5000 + b"]" * 5000, JSON_W),
    Bad("patch-lang-empty", "PATCH", "/api/v1/tools/keras", b'{"label": {"": "x"}}', JSON_W),
    Bad("patch-lang-space", "PATCH", "/api/v1/tools/keras", b'{"label": {"x y": "x"}}', JSON_W),
    Bad("patch-lang-long", "PATCH", "/api/v1/tools/keras", b'{"description": {"en-aaaaaaaaa": "x"}}', JSON_W),
    Bad("patch-label-empty", "PATCH", "/api/v1/tools/keras", b'{"label": {"en": ""}}', JSON_W),
    Bad("patch-label-blank", "PATCH", "/api/v1/tools/keras", b'{"label": {"en": " \\t\\n "}}', JSON_W),
    Bad("patch-alt-blank", "PATCH", "/api/v1/tools/keras", b'{"alt_labels": {"en": [""]}}', JSON_W),
    Bad("patch-invalid-utf8", "PATCH", "/api/v1/tools/keras", b'{"label": {"en": "\xff"}}', JSON_W),
    Bad("put-huge-literal", "PUT", "/api/v1/tools/huge", b'{"label": {"en": "' + b"x" * 1_100_000 + b'"}}', JSON_W),
    Bad("put-bad-iri", "PUT", "/api/v1/tools/bad", b'{"label":{"en":"B"},"exact_matches":["not an iri"]}', JSON_W),
    Bad("put-bad-id", "PUT", "/api/v1/tools/Bad%20Id", b'{"label":{"en":"B"}}', JSON_W),
]

# Every resource kind: a detail, its reverse navigation and its writes, with an id no route accepts.
for _collection, _navigation in {
    "roles": "skills",
    "skills": "roles",
    "tools": "roles",
    "industries": "applications",
    "applications": "roles",
    "credentials": "roles",
}.items():
    CORPUS += [
        Bad(f"{_collection}-id-bytes", "GET", f"/api/v1/{_collection}/%ff%fe%00"),
        Bad(f"{_collection}-nav-bytes", "GET", f"/api/v1/{_collection}/%ff/{_navigation}"),
        Bad(f"{_collection}-put-bad-id", "PUT", f"/api/v1/{_collection}/..%2f", b'{"label":{"en":"x"}}', JSON_W),
        Bad(f"{_collection}-patch-deep", "PATCH", f"/api/v1/{_collection}/x", b"{" * 3000, JSON_W),
        Bad(f"{_collection}-delete-bytes", "DELETE", f"/api/v1/{_collection}/%ff", None, AUTH),
    ]
