"""Just enough SPARQL lexing to find keywords outside strings, IRIs and comments.

Used to place the protocol's using-graph-uri as USING clauses, bindings as a VALUES block (remote stores), to
find INSERT DATA / DELETE DATA operations, and to say early that a request uses SERVICE or LOAD. No guarantee
rests on it: the query workers cannot open sockets (``service.sparql.sandbox``), and on a remote store the
network check is made by a real SPARQL parser (``service.sparql.network``). It never builds query text from user
values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

# The terminals of the SPARQL 1.1 grammar (section 19.8) this lexer tells apart. Escapes are token-level, as in
# Oxigraph: a \u escape inside an IRI or a string is part of that IRI or string, never a delimiter.
_PN_CHARS_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d\u2070-\u218f"
    "\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + "\\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
# A name (keyword, prefixed name, blank node label) is read as the longest run of the characters names are made of,
# each character looked at once (a possessive loop: no backtracking, so no input makes the scan quadratic); the
# dots a name cannot end with are given back as tokens of their own in ``tokens``.
_NAME = f"[{_PN_CHARS_U}:0-9](?:[{_PN_CHARS}.:]|{_PLX})*+"
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"

_TOKEN = re.compile(
    rf"""
    (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]|{_UCHAR})*>)
  | (?P<var>[?$][{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*)
  | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<name>{_NAME})
  | (?P<brace>[{{}}])
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    """A lexical token: its kind, text and offset."""

    kind: str
    text: str
    start: int


def tokens(text: str) -> Iterator[Token]:
    """The tokens of a query or update, whitespace and comments dropped."""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind in ("space", "comment"):
            continue
        if kind == "name" and match.group().endswith("."):  # a name never ends with a dot: those are the next tokens
            name = match.group().rstrip(".")
            yield Token(kind, name, match.start())
            for offset in range(len(name), len(match.group())):
                yield Token("other", ".", match.start() + offset)
            continue
        yield Token(kind, match.group(), match.start())


def keywords(text: str) -> list[Token]:
    """Bare words (keywords), upper-cased; prefixed names and variables are not keywords."""
    return [Token(t.kind, t.text.upper(), t.start) for t in tokens(text) if t.kind == "name" and ":" not in t.text]


def network_operations(text: str) -> set[str]:
    """Which of SERVICE and LOAD the text uses."""
    return {t.text for t in keywords(text)} & {"SERVICE", "LOAD"}


def service_targets(text: str) -> list[str]:
    """The IRIs named right after SERVICE [SILENT] (prefixed names and variables are returned as written)."""
    found = []
    seq = list(tokens(text))
    for i, tok in enumerate(seq):
        if tok.kind == "name" and tok.text.upper() in ("SERVICE", "LOAD"):
            j = i + 1
            if j < len(seq) and seq[j].text.upper() == "SILENT":
                j += 1
            if j < len(seq):
                found.append(seq[j].text[1:-1] if seq[j].kind == "iri" else seq[j].text)
    return found


def has_dataset_clause(update: str) -> bool:
    """Whether an update names its own dataset (USING, USING NAMED or WITH)."""
    return any(t.text in ("USING", "WITH") for t in keywords(update))


def query_form(query: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first of them the query text uses."""
    for token in keywords(query):
        if token.text in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
            return token.text
    return None


def has_from(query: str) -> bool:
    """Whether a query names its own dataset (FROM or FROM NAMED)."""
    return any(t.text == "FROM" for t in keywords(query))


def with_using(update: str, default: list[str], named: list[str]) -> str:
    """The update with USING/USING NAMED clauses before each top-level WHERE of a modify operation.

    The IRIs come from the protocol parameters and were checked to be absolute IRIs; they are
    written as IRI tokens, never as free text.
    """
    clause = " ".join([*(f"USING <{iri}>" for iri in default), *(f"USING NAMED <{iri}>" for iri in named)])
    out, last, depth, previous = [], 0, 0, ""
    for tok in tokens(update):
        if tok.kind == "brace":
            depth += 1 if tok.text == "{" else -1
        elif tok.kind == "name" and depth == 0 and tok.text.upper() == "WHERE" and previous != "DELETE":
            out.append(update[last : tok.start])
            out.append(clause + " ")
            last = tok.start
        if tok.kind == "name":
            previous = tok.text.upper()
        elif tok.kind != "brace" or depth:
            previous = ""
    out.append(update[last:])
    return "".join(out)


def with_values(query: str, bindings: Mapping[str, object]) -> str:
    """The query with a VALUES block binding variables at the head of its WHERE clause.

    How bindings reach a store that only speaks the Protocol. Each value is an RDF term (an IRI or a
    literal, written by pyoxigraph in N-Triples syntax); a blank node cannot be named in a query and is
    refused. The block goes after the first top-level ``WHERE {``, or for ``SELECT``/``ASK`` without
    ``WHERE`` after the first top-level ``{``.
    """
    if not bindings:
        return query
    names, values = [], []
    for name, term in bindings.items():
        text = str(term)
        if text.startswith("_:") or not re.fullmatch(r"[A-Za-z0-9_\u00B7\u00C0-\uFFFF]+", name):
            raise ValueError(f"cannot bind ?{name} to {text} in query text")
        names.append(f"?{name}")
        values.append(text)
    block = f" VALUES ({' '.join(names)}) {{ ({' '.join(values)}) }} "
    depth, form, after_where = 0, None, False
    for tok in tokens(query):
        if tok.kind == "name" and depth == 0:
            word = tok.text.upper()
            if word in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE") and form is None:
                form = word
            elif word == "WHERE":
                after_where = True
        elif tok.kind == "brace":
            if tok.text == "{" and depth == 0 and (after_where or form in ("SELECT", "ASK")):
                return query[: tok.start + 1] + block + query[tok.start + 1 :]
            depth += 1 if tok.text == "{" else -1
    raise ValueError("no WHERE clause to bind variables in")
