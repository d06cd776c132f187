"""REST answers as JSON-LD that states what the graph states, texts with their language tags included.

An answer's texts are plain JSON strings: each field falls back to English by itself, so one ``@language`` for the
whole answer would tag some of them wrongly. As JSON-LD, each text and typed value of a resource becomes the value
object of the literal the graph holds (``{"@value": "KI-Ingenieur", "@language": "de"}``,
``{"@value": "2024-09-04", "@type": "xsd:date"}``), found among that resource's statements by its property (from the
published context) and its value. A value the graph does not hold as such stays as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

import pyoxigraph as ox

from service import dataset
from service.namespaces import XSD

XSD_STRING = XSD + "string"
# The default-graph statements of several resources, by subject and predicate (Catalog.statements_about).
StatementsAbout = Callable[[Iterable[str]], Mapping[str, Mapping[str, list[Any]]]]


@cache
def terms() -> dict[str, str]:
    """Each term of the published context that names a property of literal values, with the property's IRI."""
    context: dict[str, Any] = json.loads(
        dataset.ontology_path().with_name("context.jsonld").read_text(encoding="utf-8")
    )["@context"]
    prefixes = {k: v for k, v in context.items() if isinstance(v, str) and v.endswith(("#", "/"))}

    def expand(name: str) -> str:
        prefix, _, local = name.partition(":")
        return prefixes[prefix] + local if prefix in prefixes else name

    found = {}
    for term, definition in context.items():
        if isinstance(definition, str) and ":" in definition and not definition.startswith("@"):
            found[term] = expand(definition)
        elif isinstance(definition, dict) and "@id" in definition and definition.get("@type") != "@id":
            found[term] = expand(definition["@id"])
    return found


def with_graph_literals(body: Any, statements_about: StatementsAbout) -> Any:
    """``body`` with each text or value of a resource as the graph's literal (see the module's doc); the statements
    of every resource it names are read in one lookup."""
    return _walk(body, None, statements_about(_iris(body)), terms())


def _iris(value: Any) -> set[str]:
    if isinstance(value, list):
        return {iri for v in value for iri in _iris(v)}
    if not isinstance(value, dict):
        return set()
    own = {value["iri"]} if isinstance(value.get("iri"), str) else set()
    return own.union(*(_iris(v) for v in value.values()))


def _walk(value: Any, subject: str | None, about: Mapping[str, Mapping[str, list[Any]]], known: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [_walk(v, subject, about, known) for v in value]
    if not isinstance(value, dict):
        return value
    # A nested object without an IRI of its own (``external_ids``, ``credentials``) speaks of its parent.
    own = value.get("iri") if isinstance(value.get("iri"), str) else subject
    statements = about.get(own, {}) if own else {}
    out = {}
    for key, item in value.items():
        prop = known.get(key) if own is not None else None
        if prop is not None and isinstance(item, str | int | float) and not isinstance(item, bool):
            out[key] = _literal(item, statements.get(prop, []))
        elif prop is not None and isinstance(item, list) and item and all(isinstance(v, str) for v in item):
            out[key] = [_literal(v, statements.get(prop, [])) for v in item]
        else:
            out[key] = _walk(item, own, about, known)
    return out


def _literal(value: str | int | float, candidates: list[Any]) -> Any:
    """The value object of the graph's literal that ``value`` stands for, or ``value`` itself."""
    for literal in candidates:
        if not isinstance(literal, ox.Literal):
            continue
        same = literal.value == value if isinstance(value, str) else _number_equals(literal.value, value)
        if not same:
            continue
        if literal.language:
            return {"@value": literal.value, "@language": literal.language}
        if literal.datatype.value != XSD_STRING:
            return {"@value": literal.value, "@type": literal.datatype.value}
        return value
    return value


def _number_equals(text: str, number: float) -> bool:
    try:
        return float(text) == float(number)
    except ValueError:
        return False
