"""The one write path: compute a change's delta, validate the nodes it touches, commit, log it.

pyoxigraph cannot roll a write back, so the delta is worked out *before* anything is written:
INSERT DATA / DELETE DATA updates are parsed (their data is TriG), Graph Store and REST writes know
theirs, and any other SPARQL update is run on a scratch copy and diffed (its cost then grows with the
graph; documented). Validation looks at the touched nodes, the nodes pointing at them, and what
their shapes reach (types of linked nodes, the skill hierarchy above them), so its cost follows the
size of the change.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import rdflib

from service import rdfio
from service.errors import ValidationFailed
from service.namespaces import CKG, RDF, SKOS
from service.sparql import lexer
from service.store import EmbeddedStore, GraphName, RemoteStore, Store
from service.validation import Report, validate

RDF_TYPE = ox.NamedNode(RDF + "type")
BROADER = ox.NamedNode(SKOS + "broader")


@dataclass
class Delta:
    """What a write adds and removes (quads that are really new, or really there)."""

    added: set[ox.Quad] = field(default_factory=set)
    removed: set[ox.Quad] = field(default_factory=set)
    # The dataset version the delta was computed against (shared remote stores; None for the embedded one).
    base: str | None = None
    # Graphs whose whole new content is known (Graph Store PUT/DELETE, updates removing blank nodes): a remote
    # store cannot name blank nodes, so it clears such a graph by a pattern and refills it.
    replaces: dict[GraphName, tuple[ox.Quad, ...]] = field(default_factory=dict)

    def nodes(self) -> set[ox.NamedNode]:
        """IRIs the change touches (subjects and objects)."""
        out: set[ox.NamedNode] = set()
        for quad in self.added | self.removed:
            for term in (quad.subject, quad.object):
                if isinstance(term, ox.NamedNode):
                    out.add(term)
        return out


# --- deltas ------------------------------------------------------------------------------


def delta_of_quads(
    store: Store, added: Iterable[ox.Quad] = (), removed: Iterable[ox.Quad] = (), *, base: str | None = None
) -> Delta:
    """The delta of adding and removing these quads (removals first), keeping only real changes.

    ``base`` is the dataset version the caller read its quads at (read here when not given).
    """
    delta = Delta(base=base if base is not None else store.version_token())
    added, removed = list(added), list(removed)
    there = store.present([*removed, *added])
    for quad in removed:
        if quad in there:
            delta.removed.add(quad)
    for quad in added:
        if quad in delta.removed:
            delta.removed.discard(quad)
        elif quad not in there:
            delta.added.add(quad)
    return delta


def delta_of_replace(store: Store, graph: GraphName, quads: Iterable[ox.Quad]) -> Delta:
    """The delta of replacing one graph's content."""
    base = store.version_token()
    new = set(quads)
    old = set(store.quads(graph))
    return Delta(added=new - old, removed=old - new, base=base, replaces={graph: tuple(new)})


def delta_of_update(store: Store, update: str, base_iri: str | None) -> Delta:
    """The delta of a SPARQL update, parsed for DATA forms, else computed on a scratch copy."""
    base = store.version_token()
    parsed = _data_operations(update, base_iri)
    if parsed is not None:
        delta = Delta(base=base)
        quads_named = [q for _, quads in parsed for q in quads]
        there = store.present(quads_named)
        for kind, quads in parsed:
            for quad in quads:
                present = (quad in there or quad in delta.added) and quad not in delta.removed
                if kind == "INSERT" and not present:
                    if quad in delta.removed:
                        delta.removed.discard(quad)
                    else:
                        delta.added.add(quad)
                elif kind == "DELETE" and present:
                    if quad in delta.added:
                        delta.added.discard(quad)
                    else:
                        delta.removed.add(quad)
        return delta
    scratch = EmbeddedStore()
    scratch.add(store.quads())
    scratch.update(update, base_iri=base_iri)
    before, after = set(store.quads()), set(scratch.quads())
    removed = before - after
    blank = {q.graph_name for q in removed if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)}
    replaces = {g: tuple(q for q in after if q.graph_name == g) for g in blank}
    return Delta(added=after - before, removed=removed, base=base, replaces=replaces)


def _data_operations(update: str, base_iri: str | None) -> list[tuple[str, list[ox.Quad]]] | None:
    """[(INSERT|DELETE, quads)] when every operation is INSERT DATA or DELETE DATA; else None."""
    tokens = list(lexer.tokens(update))
    prologue: list[str] = []
    operations: list[tuple[str, list[ox.Quad]]] = []
    i = 0
    while i < len(tokens):
        word = tokens[i].text.upper() if tokens[i].kind == "name" else tokens[i].text
        if word in ("PREFIX", "BASE"):
            end = i + (3 if word == "PREFIX" else 2)
            prologue.append(" ".join(t.text for t in tokens[i:end]))
            i = end
            continue
        if word == ";":
            i += 1
            continue
        if word not in ("INSERT", "DELETE") or i + 2 >= len(tokens) or tokens[i + 1].text.upper() != "DATA":
            return None
        if tokens[i + 2].text != "{":
            return None
        depth, j = 0, i + 2
        while j < len(tokens):
            if tokens[j].text == "{":
                depth += 1
            elif tokens[j].text == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(tokens):
            return None
        body = update[tokens[i + 2].start + 1 : tokens[j].start]
        trig = "\n".join(prologue) + "\n" + body
        try:
            quads = list(ox.parse(trig.encode(), format=ox.RdfFormat.TRIG, base_iri=base_iri, rename_blank_nodes=True))
        except SyntaxError:
            return None  # let the SPARQL parser give its own message
        operations.append((word, quads))
        i = j + 1
    return operations


# --- validation of a change ---------------------------------------------------------------------


# Predicates the shapes check from their object's side (SHACL-SPARQL "?x <p> $this" patterns): a change to
# such a link must re-validate its object too. tests/test_writes_unit.py keeps this in step with shapes.ttl.
INVERSE_CHECKED = frozenset(
    {
        CKG + "usesTool",
        CKG + "requiredCredential",
        CKG + "recommendedCredential",
        CKG + "hasResponsibility",
        SKOS + "broader",
    }
)


def neighbourhood(store: Store, delta: Delta) -> tuple[rdflib.Graph, list[rdflib.URIRef]]:
    """The graph after the change, restricted to what validating the touched nodes needs, and those nodes.

    Focus: the subjects of changed statements; the objects of changed links that shapes check from the
    object's side; and, when a node's type changes, the nodes pointing at it (their sh:class checks).
    Data: the focus nodes' statements, their inverse-checked incoming links, the types of everything they
    link to, and the skill hierarchy above them. A link to a hub (a source every resource cites) therefore
    costs no more than a link to anything else.
    """

    def live(quads: Iterable[ox.Quad]) -> set[ox.Quad]:
        return {q for q in quads if q not in delta.removed}

    added_from: dict[object, set[ox.Quad]] = {}
    added_to: dict[tuple[object, object], set[ox.Quad]] = {}
    for quad in delta.added:
        added_from.setdefault(quad.subject, set()).add(quad)
        added_to.setdefault((quad.predicate.value, quad.object), set()).add(quad)

    def out_of(node: ox.NamedNode) -> set[ox.Quad]:
        return live(store.quads_of(subject=node)) | added_from.get(node, set())

    def into(node: ox.NamedNode, predicates: Iterable[str]) -> set[ox.Quad]:
        found: set[ox.Quad] = set()
        for predicate in predicates:
            found |= live(store.quads_of(predicate=ox.NamedNode(predicate), obj=node))
            found |= added_to.get((predicate, node), set())
        return found

    changes = delta.added | delta.removed
    focus = {q.subject for q in changes if isinstance(q.subject, ox.NamedNode)}
    focus |= {q.object for q in changes if q.predicate.value in INVERSE_CHECKED and isinstance(q.object, ox.NamedNode)}

    def above(node: ox.NamedNode) -> set[ox.Quad]:
        """The skos:broader statements from a node upwards, after the change (a walk of indexed lookups)."""
        edges: set[ox.Quad] = set()
        seen, frontier = {node}, [node]
        while frontier:
            following = []
            for concept in frontier:
                for edge in (q for q in out_of(concept) if q.predicate == BROADER):
                    edges.add(edge)
                    if isinstance(edge.object, ox.NamedNode) and edge.object not in seen:
                        seen.add(edge.object)
                        following.append(edge.object)
            frontier = following
        return edges

    for target in {q.object for q in changes if q.predicate == BROADER and isinstance(q.object, ox.NamedNode)}:
        # A new broader link may close a cycle: every concept above it is then its own ancestor.
        focus |= {edge.subject for edge in above(target) if isinstance(edge.subject, ox.NamedNode)}
    for node in {q.subject for q in changes if q.predicate == RDF_TYPE and isinstance(q.subject, ox.NamedNode)}:
        referrers = live(store.quads_of(obj=node)) | {q for q in delta.added if q.object == node}
        focus |= {q.subject for q in referrers if isinstance(q.subject, ox.NamedNode)}
    data: set[ox.Quad] = set()
    for node in focus:
        data |= out_of(node) | into(node, INVERSE_CHECKED)
    linked = {q.object for q in data if isinstance(q.object, ox.NamedNode)}
    linked |= {q.subject for q in data if isinstance(q.subject, ox.NamedNode)}
    for node in linked - focus:
        data |= {q for q in out_of(node) if q.predicate == RDF_TYPE}
    for node in focus:  # the hierarchy above a skill (cycles, categories), with the types along it
        for edge in above(node):
            data.add(edge)
            if isinstance(edge.object, ox.NamedNode):
                data |= {q for q in out_of(edge.object) if q.predicate == RDF_TYPE}
    return rdfio.to_graph(live(data)), sorted(rdflib.URIRef(n.value) for n in focus)


def validate_change(store: Store, delta: Delta) -> Report:
    """Validate the nodes a change touches, in the graph as it would be after the change."""
    if not delta.added and not delta.removed:
        return validate(rdflib.Graph(), focus_nodes=[])
    graph, focus = neighbourhood(store, delta)
    return validate(graph, focus_nodes=focus)


# --- committing -----------------------------------------------------------------------------------


def commit(
    store: Store,
    changelog: ChangeLog,
    delta: Delta,
    apply: Callable[[Store], None],
    *,
    operation: str,
    user: str | None,
    whole: bool = False,
    known: Report | None = None,
) -> Report:
    """Validate the change; apply and log it only if the graph it gives conforms (the caller holds the lock).

    ``whole`` validates the whole resulting graph instead of the touched nodes (an empty store being filled);
    ``known`` is the report of an earlier validation of exactly that graph, taken instead of validating again.
    """
    if known is not None:
        report = known
    elif whole:
        kept = (q for q in store.quads() if q not in delta.removed)
        report = validate(rdfio.to_graph([*kept, *delta.added]))
    else:
        report = validate_change(store, delta)
    if not report.conforms:
        raise ValidationFailed(report.summary(), report)
    if delta.added or delta.removed:
        if isinstance(store, RemoteStore):
            # One conditional update: applied only if no other process committed since delta.base was read.
            base = delta.base if delta.base is not None else store.version_token()
            entry = changelog.entry(operation, user, delta)
            store.commit(delta.added, delta.removed, expected=base, entry=entry, replaces=delta.replaces)
        else:
            apply(store)
            changelog.record(operation, user, delta)
    return report


def apply_delta(delta: Delta) -> Callable[[Store], None]:
    """Apply a delta as one transaction (blank nodes are only ever added, never removed, this way)."""

    def apply(store: Store) -> None:
        store.apply(added=sorted(delta.added, key=str), removed=sorted(delta.removed, key=str))

    return apply


def beside_store(location: str, suffix: str) -> Path | None:
    """A file beside an on-disk store (``STORE.suffix``); None for memory and remote stores."""
    if location == "memory" or location.startswith(("http://", "https://")):
        return None
    path = Path(location).expanduser()
    return path.parent / f"{path.name}.{suffix}"


def changelog_path(location: str) -> Path | None:
    """Where the change log of a store lives: beside an on-disk store; nowhere for memory or remote stores."""
    return beside_store(location, "changes.jsonl")


# --- the change log -------------------------------------------------------------------------------


class ChangeLog:
    """Who changed what, when: a JSON-lines file beside an on-disk store (fsync'ed), or a list in memory."""

    MAX_LISTED = 200  # triples kept per entry, each way

    def __init__(self, path: Path | None, shared: RemoteStore | None = None) -> None:
        self.path = path
        self.shared = shared  # a remote store keeps the log itself, beside the data, for every process
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        if path is not None and path.exists():
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    if line.strip():
                        try:
                            self._entries.append(json.loads(line))
                        except json.JSONDecodeError:
                            break  # a torn last line after a crash: the commit before it is what counts

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, operation: str, user: str | None, delta: Delta) -> dict[str, Any]:
        """The entry describing one change (its id and time are set where it is recorded)."""
        return {
            "id": len(self._entries) + 1,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "who": user,
            "operation": operation,
            "added": len(delta.added),
            "removed": len(delta.removed),
            "triples_added": _nquads(sorted(delta.added, key=str)[: self.MAX_LISTED]),
            "triples_removed": _nquads(sorted(delta.removed, key=str)[: self.MAX_LISTED]),
        }

    def record(self, operation: str, user: str | None, delta: Delta) -> dict[str, Any]:
        """Append one entry and make it durable."""
        with self._lock:
            entry = self.entry(operation, user, delta)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry) + "\n")
                    out.flush()
                    os.fsync(out.fileno())
            self._entries.append(entry)
            return entry

    def page(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Entries newest first."""
        if self.shared is not None:
            return self.shared.change_entries(offset, limit)
        with self._lock:
            newest = list(reversed(self._entries))
        return newest[offset : offset + limit], len(newest)


def _nquads(quads: list[ox.Quad]) -> list[str]:
    return [(ox.serialize([q], format=ox.RdfFormat.N_QUADS) or b"").decode().strip() for q in quads]
