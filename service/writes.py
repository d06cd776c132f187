"""The one write path: compute a change's delta, validate the nodes it touches, commit it with its log entry.

pyoxigraph cannot roll a write back, so the delta is worked out *before* anything is written: Graph Store, REST
and load writes know theirs; a SPARQL update's delta is computed by a query worker (``service.sparql``), which
parses INSERT DATA / DELETE DATA and runs any other update on a scratch copy. Validation looks at the touched
nodes, the nodes pointing at them, and what their shapes reach (types of linked nodes, the skill hierarchy above
them), so its cost follows the size of the change. The store commits the delta in one transaction, then records
its log entry (a remote store does both in one request; the embedded store appends the entry after the commit, so
a crash between the two loses the entry, never the data).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pyoxigraph as ox
import rdflib

from service import rdfio
from service.errors import BadRequest, ValidationFailed
from service.namespaces import CKG, ONTOLOGY_IRI, OWL, RDF, RDFS, SKOS
from service.sparql import lexer
from service.store import EmbeddedStore, GraphName, Store
from service.validation import Report, validate, validate_whole

RDF_TYPE = ox.NamedNode(RDF + "type")
BROADER = ox.NamedNode(SKOS + "broader")
RELATED = ox.NamedNode(SKOS + "related")
IN_SCHEME = ox.NamedNode(SKOS + "inScheme")
RANK = ox.NamedNode(CKG + "rank")
LEVEL = ox.NamedNode(CKG + "level")
LEVEL_CLASS = ox.NamedNode(CKG + "Level")
SUBCLASS_OF = ox.NamedNode(RDFS + "subClassOf")
ONTOLOGY = ox.NamedNode(ONTOLOGY_IRI)
SCHEMA_PREDICATES = frozenset(RDFS + n for n in ("subClassOf", "subPropertyOf", "domain", "range"))


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

    def to_json(self) -> dict[str, Any]:
        """The delta as JSON: N-Quads text for its quads (how a worker hands a delta to the server)."""
        return {
            "base": self.base,
            "added": _text(self.added),
            "removed": _text(self.removed),
            "replaces": [[_text([ox.Quad(_NODE, _NODE, _NODE, g)]), _text(q)] for g, q in self.replaces.items()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delta:
        """The delta a worker handed over (flat N-Quads: parsing them cannot recurse)."""
        replaces: dict[GraphName, tuple[ox.Quad, ...]] = {}
        for graph, quads in data["replaces"]:
            name = next(iter(_quads(graph))).graph_name
            replaces[name] = tuple(_quads(quads))
        return cls(set(_quads(data["added"])), set(_quads(data["removed"])), data["base"], replaces)

    def nodes(self) -> set[ox.NamedNode]:
        """IRIs the change touches (subjects and objects)."""
        out: set[ox.NamedNode] = set()
        for quad in self.added | self.removed:
            for term in (quad.subject, quad.object):
                if isinstance(term, ox.NamedNode):
                    out.add(term)
        return out


_NODE = ox.NamedNode("urn:careerkg:graph-name")


def _text(quads: Iterable[ox.Quad]) -> str:
    return (ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"").decode()


def _quads(text: str) -> list[ox.Quad]:
    return list(ox.parse(text.encode(), format=ox.RdfFormat.N_QUADS))


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
    """The delta of replacing one graph's content (the whole graph is rewritten when it loses blank nodes, which
    cannot be named one by one)."""
    base = store.version_token()
    new = set(quads)
    old = set(store.quads(graph))
    removed = old - new
    replaces = {graph: tuple(new)} if any(_has_blank(q) for q in removed) else {}
    return Delta(added=new - old, removed=removed, base=base, replaces=replaces)


def _has_blank(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


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
    removed, added = before - after, after - before
    # A graph whose blank nodes the update touches is given whole: SPARQL cannot name a stored blank node, so a
    # store can only write such a change by rewriting the graph (with this snapshot's consistent labels).
    blank = {q.graph_name for q in removed | added if _has_blank(q)}
    replaces = {g: tuple(q for q in after if q.graph_name == g) for g in blank}
    return Delta(added=added, removed=removed, base=base, replaces=replaces)


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
        except (SyntaxError, ValueError):
            return None  # let the SPARQL parser give its own message
        operations.append((word, quads))
        i = j + 1
    try:  # TriG is not SPARQL: a graph block without GRAPH parses as TriG only (an empty store runs it in no time)
        ox.Store().update(update, base_iri=base_iri)
    except (SyntaxError, ValueError, OSError):
        return None
    return operations


# --- validation of a change ---------------------------------------------------------------------


NODES = (ox.NamedNode, ox.BlankNode)  # what a focus node can be

# Predicates the shapes check from their object's side (SHACL-SPARQL "?x <p> $this" patterns): a change to
# such a link must re-validate its object too. tests/test_writes_unit.py keeps this in step with shapes.ttl.
INVERSE_CHECKED = frozenset(
    {
        CKG + "usesTool",
        CKG + "requiredCredential",
        CKG + "recommendedCredential",
        CKG + "hasResponsibility",
        SKOS + "broader",
        SKOS + "related",
    }
)


Quads = Callable[[ox.NamedNode | ox.BlankNode], Iterable[ox.Quad]]


def _related_around(
    focus: set[ox.NamedNode | ox.BlankNode],
    out_of: Quads,
    into: Callable[[ox.NamedNode | ox.BlankNode, Iterable[str]], set[ox.Quad]],
    above: Quads,
) -> set[ox.NamedNode | ox.BlankNode]:
    """Each concept at or above a focus node (skos:broader) that is related to others (skos:related either way,
    after the change), with those others."""
    found: set[ox.NamedNode | ox.BlankNode] = set()
    for node in focus:
        for concept in {node} | {edge.object for edge in above(node) if isinstance(edge.object, NODES)}:
            related = {q.object for q in out_of(concept) if q.predicate == RELATED}
            related |= {q.subject for q in into(concept, [RELATED.value])}
            if related:
                found |= {concept} | {n for n in related if isinstance(n, NODES)}
    return found


def neighbourhood(store: Store, delta: Delta) -> tuple[rdflib.Graph, list[rdflib.URIRef | rdflib.BNode]]:
    """The graph after the change, restricted to what validating the touched nodes needs, and those nodes.

    Focus: the subjects of changed statements; the objects of changed links that shapes check from the
    object's side; when a node's type changes, the nodes pointing at it (their sh:class checks); and the related
    concepts (skos:related) of a focus node or of a concept above it, with that concept.
    Data: the focus nodes' statements, their inverse-checked incoming links, the types (and a level's ladder) of
    everything they link to, and the skill hierarchy above them. A link to a hub (a source every resource cites)
    therefore costs no more than a link to anything else.
    """

    def live(quads: Iterable[ox.Quad]) -> set[ox.Quad]:
        return {q for q in quads if q not in delta.removed}

    added_from: dict[object, set[ox.Quad]] = {}
    added_to: dict[tuple[object, object], set[ox.Quad]] = {}
    for quad in delta.added:
        added_from.setdefault(quad.subject, set()).add(quad)
        added_to.setdefault((quad.predicate.value, quad.object), set()).add(quad)

    def out_of(node: ox.NamedNode | ox.BlankNode) -> set[ox.Quad]:
        return live(store.quads_of(subject=node)) | added_from.get(node, set())

    def into(node: ox.NamedNode | ox.BlankNode, predicates: Iterable[str]) -> set[ox.Quad]:
        found: set[ox.Quad] = set()
        for predicate in predicates:
            found |= live(store.quads_of(predicate=ox.NamedNode(predicate), obj=node))
            found |= added_to.get((predicate, node), set())
        return found

    changes = delta.added | delta.removed
    # Blank nodes are focus nodes too: a role written as a blank node is held to the shapes like any other.
    focus: set[ox.NamedNode | ox.BlankNode] = {q.subject for q in changes if isinstance(q.subject, NODES)}
    focus |= {q.object for q in changes if q.predicate.value in INVERSE_CHECKED and isinstance(q.object, NODES)}

    @cache  # asked again for the same nodes (related concepts, then the data): one walk each
    def above(node: ox.NamedNode | ox.BlankNode) -> frozenset[ox.Quad]:
        """The skos:broader statements from a node upwards, after the change (a walk of indexed lookups)."""
        edges: set[ox.Quad] = set()
        seen, frontier = {node}, [node]
        while frontier:
            following: list[ox.NamedNode | ox.BlankNode] = []
            for concept in frontier:
                for edge in (q for q in out_of(concept) if q.predicate == BROADER):
                    edges.add(edge)
                    if isinstance(edge.object, NODES) and edge.object not in seen:
                        seen.add(edge.object)
                        following.append(edge.object)
            frontier = following
        return frozenset(edges)

    for target in {q.object for q in changes if q.predicate == BROADER and isinstance(q.object, NODES)}:
        # A new broader link may close a cycle: every concept above it is then its own ancestor.
        focus |= {edge.subject for edge in above(target) if isinstance(edge.subject, NODES)}

    # A rung's rank or ladder changes, or a node becomes a level: every rung of the ladders it was or is on is
    # checked (ranks are unique on a ladder, whatever holds them), and every role on it (one level per ladder for a
    # role). A rung is a level or anything with a rank: a skill joining the skill scheme is none.
    def marks_a_rung(quad: ox.Quad) -> bool:
        return (quad.predicate == RDF_TYPE and quad.object == LEVEL_CLASS) or quad.predicate == RANK

    rerung = {
        q.subject
        for q in changes
        if isinstance(q.subject, NODES)
        and (q.predicate in (RANK, IN_SCHEME) or marks_a_rung(q))
        and any(marks_a_rung(t) for t in changes | out_of(q.subject) if t.subject == q.subject)
    }
    for rung in rerung:
        ladders = {q.object for q in changes | out_of(rung) if q.subject == rung and q.predicate == IN_SCHEME}
        for ladder in (ladder for ladder in ladders if isinstance(ladder, NODES)):
            rungs = live(store.quads_of(predicate=IN_SCHEME, obj=ladder)) | added_to.get(
                (IN_SCHEME.value, ladder), set()
            )
            focus |= {q.subject for q in rungs if isinstance(q.subject, NODES)}
        holders = live(store.quads_of(predicate=LEVEL, obj=rung)) | added_to.get((LEVEL.value, rung), set())
        focus |= {q.subject for q in holders if isinstance(q.subject, NODES)}
    for node in {q.subject for q in changes if q.predicate == RDF_TYPE and isinstance(q.subject, NODES)}:
        referrers = live(store.quads_of(obj=node)) | {q for q in delta.added if q.object == node}
        focus |= {q.subject for q in referrers if isinstance(q.subject, NODES)}

    # Related concepts are never one above the other (SKOS S27): a concept in the hierarchy above a focus node,
    # and whatever it is related to, are checked, so a new broader link between two related concepts fails at both.
    focus |= _related_around(focus, out_of, into, above)

    data: set[ox.Quad] = set()
    for node in focus:
        data |= out_of(node) | into(node, INVERSE_CHECKED)
    linked = {q.object for q in data if isinstance(q.object, NODES)}
    linked |= {q.subject for q in data if isinstance(q.subject, NODES)}
    for node in linked - focus:  # their types (sh:class), and a level's ladder (one level per ladder)
        data |= {q for q in out_of(node) if q.predicate in (RDF_TYPE, IN_SCHEME)}
    for node in focus:  # the hierarchy above a skill (cycles, categories), with the types along it
        for edge in above(node):
            data.add(edge)
            if isinstance(edge.object, NODES):
                data |= {q for q in out_of(edge.object) if q.predicate == RDF_TYPE}
    # The store's class hierarchy above every type in the graph: which shapes target a node, and which links pass
    # sh:class, as validating the whole graph would see them (a class the store added under ckg:Role included).
    classes = {q.object for q in data if q.predicate == RDF_TYPE and isinstance(q.object, NODES)}
    while classes:
        edges = {q for c in classes for q in out_of(c) if q.predicate == SUBCLASS_OF} - data
        data |= edges
        classes = {q.object for q in edges if isinstance(q.object, NODES)}
    chosen = [rdfio.to_rdflib(n) for n in sorted(focus, key=str)]
    return rdfio.to_graph(live(data)), chosen  # type: ignore[return-value] # a subject is an IRI or a blank node


def validate_change(store: Store, delta: Delta) -> Report:
    """Validate the nodes a change touches, in the graph as it would be after the change (with the ontology file
    and the store's own class hierarchy above every type in it). RDF 1.2 terms are refused by commit, or where
    the quads were parsed (rdfio)."""
    if not delta.added and not delta.removed:
        return validate(rdflib.Graph(), focus_nodes=[])
    graph, focus = neighbourhood(store, delta)
    return validate(graph, focus_nodes=focus, with_ontology=True)


def changes_the_schema(delta: Delta) -> bool:
    """Whether a change touches the class hierarchy or the ontology: which nodes shapes target, and which links
    pass sh:class, then changes anywhere in the graph, so the whole graph is validated."""
    return any(
        q.predicate.value in SCHEMA_PREDICATES or q.predicate.value.startswith(OWL) or q.subject == ONTOLOGY
        for q in (*delta.added, *delta.removed)
    )


def _refuse_rdf12(delta: Delta) -> None:
    odd = rdfio.rdf12_term(delta.added)
    if odd is not None:
        raise BadRequest(f"{rdfio.RDF12}: {odd.object}")


# --- committing -----------------------------------------------------------------------------------

MAX_LISTED = 200  # triples kept per change log entry, each way
# ... and at most this many characters of them: an entry is one literal in the store, sent in the update that records
# the change (200 statements with long descriptions made an entry of hundreds of kilobytes).
MAX_LISTED_CHARS = 8_000
# A change this large is validated as a whole dataset (the fast engine), not node by node: its neighbourhood is
# most of the graph anyway, and node-by-node validation costs far more per node.
LARGE_CHANGE = 20_000


def commit(
    store: Store,
    delta: Delta,
    *,
    operation: str,
    user: str | None,
    whole: bool = False,
    known: Report | None = None,
    gate: AbstractContextManager[object] | None = None,
) -> Report:
    """Validate the change; commit it with its log entry only if the graph it gives conforms.

    The caller holds the write lock. ``whole`` validates the whole resulting graph instead of the touched nodes
    (an empty store being filled); ``known`` is the report of an earlier validation of exactly that graph;
    ``gate`` is held while the store changes (no query worker is forked then).
    """
    if any(isinstance(q.graph_name, ox.BlankNode) for q in (*delta.added, *delta.removed)):
        raise BadRequest("a graph named by a blank node cannot be written (SPARQL cannot name it again); name it")
    _refuse_rdf12(delta)
    if known is not None:
        report = known
    elif whole or len(delta.added) + len(delta.removed) > LARGE_CHANGE or changes_the_schema(delta):
        kept = (q for q in store.quads() if q not in delta.removed)
        report = validate_whole([*kept, *delta.added])
    else:
        report = validate_change(store, delta)
    if not report.conforms:
        raise ValidationFailed(report.summary(), report)
    if delta.added or delta.removed:
        with gate or nullcontext():
            store.commit(
                delta.added,
                delta.removed,
                expected=delta.base,
                entry=entry(operation, user, delta),
                replaces=delta.replaces,
            )
    return report


def entry(operation: str, user: str | None, delta: Delta) -> dict[str, Any]:
    """The change log entry describing one change (the store numbers and times it)."""
    return {
        "who": user,
        "operation": operation,
        "added": len(delta.added),
        "removed": len(delta.removed),
        "triples_added": _nquads(heapq.nsmallest(MAX_LISTED, delta.added, key=str)),
        "triples_removed": _nquads(heapq.nsmallest(MAX_LISTED, delta.removed, key=str)),
    }


def fill_entry(user: str | None, data: ox.Store) -> dict[str, Any]:
    """The change log entry of filling an empty store with ``data`` (its first quads listed, in store order)."""
    return {
        "who": user,
        "operation": "load",
        "added": len(data),
        "removed": 0,
        "triples_added": _nquads(list(itertools.islice(data, MAX_LISTED))),
        "triples_removed": [],
    }


def _nquads(quads: list[ox.Quad]) -> list[str]:
    """The quads as N-Quads lines, as many as fit in MAX_LISTED_CHARS."""
    lines: list[str] = []
    room = MAX_LISTED_CHARS
    for quad in quads:
        line = (ox.serialize([quad], format=ox.RdfFormat.N_QUADS) or b"").decode().strip()
        room -= len(line)
        if room < 0:
            break
        lines.append(line)
    return lines
