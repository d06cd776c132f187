"""SHACL validation: one entry point that returns the verdict, the report graph and readable results."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import rdflib
import rdflib.plugins.sparql.processor
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.evaluate import evalQuery
from rdflib.plugins.sparql.parser import parseQuery

from service import dataset, queries, rdfio
from service.child import ChildFailed, Forked
from service.errors import InputError
from service.namespaces import ONTOLOGY_IRI, compact

log = logging.getLogger(__name__)
_SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
CHILD_PATIENCE = 60.0  # seconds a validation child may take past the parent's own group (at least 3x its time)
WIDE_SHAPE_CLASSES = 5  # a shape targeting this many classes or more is one every kind of resource meets
# Quads a store holds before its shapes are validated in two groups, one in a forked child: below it one group here
# costs the same (the curated data's 51,774 quads: 0.57-0.59 s either way), at 150k quads two took 2.4-3.2 s where
# one took 3.3 s (2026-12-01). A start-up validates the curated data while its thread imports the app, where no
# child is forked (a fork copies the import locks that thread holds).
SPLIT_LEAST = 100_000


@dataclass(frozen=True)
class Result:
    """One SHACL validation result, as a user reads it."""

    focus_node: str
    path: str | None
    value: str | None
    message: str
    severity: str
    shape: str | None
    constraint: str | None
    file: str | None = None

    def to_json(self) -> dict[str, str | None]:
        """The result as a JSON object with SHACL's own names."""
        data = asdict(self)
        return {
            "focusNode": data["focus_node"],
            "path": data["path"],
            "value": data["value"],
            "message": data["message"],
            "severity": data["severity"],
            "sourceShape": data["shape"],
            "constraint": data["constraint"],
            "file": data["file"],
        }


@dataclass(frozen=True)
class Report:
    """The outcome of validating a graph against the CareerKG shapes."""

    conforms: bool
    results: list[Result]
    graph: rdflib.Graph = field(repr=False)

    @property
    def violations(self) -> list[Result]:
        """Results that block a write."""
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def warnings(self) -> list[Result]:
        """Results that are reported but do not block."""
        return [r for r in self.results if r.severity != "Violation"]

    def with_files(
        self, files: Mapping[str, str], statements: Mapping[tuple[str, str | None, str | None], str] | None = None
    ) -> Report:
        """The same report with each result's file named: the file stating the offending value (``statements``,
        keyed by focus node, path and value) where one does, else the file of the focus node (``files``)."""
        stated = statements or {}
        results = [
            replace(r, file=stated.get((r.focus_node, r.path, r.value)) or files.get(r.focus_node, r.file))
            for r in self.results
        ]
        return Report(self.conforms, results, self.graph)

    def to_wire(self) -> dict[str, object]:
        """The report as plain data (its results, and the report graph as N-Triples), to cross a process boundary."""
        return {
            "conforms": self.conforms,
            "results": [asdict(r) for r in self.results],
            "graph": self.graph.serialize(format="nt"),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Report:
        """The report ``to_wire`` gave (N-Triples: flat, safe to parse whatever produced it)."""
        graph = rdflib.Graph().parse(data=str(data["graph"]), format="nt")
        return cls(bool(data["conforms"]), [Result(**r) for r in data["results"]], graph)

    def summary(self) -> str:
        """One line: conforms or not, counts."""
        verdict = "conforms" if self.conforms else "does not conform"
        return f"{verdict}: {_plural(len(self.violations), 'violation')}, {_plural(len(self.warnings), 'warning')}"

    def to_text(self) -> str:
        """The report for a person: one block per result, then the summary."""
        blocks = []
        for r in self.results:
            where = f"{r.file}: " if r.file else ""
            lines = [f"{where}{r.severity} at {_show(r.focus_node)}"]
            lines.append(f"  path:    {r.path or '-'}")
            lines.append(f"  value:   {r.value or '-'}")
            lines.append(f"  message: {r.message}")
            lines.append(f"  shape:   {r.shape or '-'}")
            blocks.append("\n".join(lines))
        blocks.append(self.summary())
        return "\n\n".join(blocks) + "\n"

    def to_json(self) -> dict[str, object]:
        """The report as JSON: verdict, counts and results."""
        return {
            "conforms": self.conforms,
            "violations": len(self.violations),
            "warnings": len(self.warnings),
            "results": [r.to_json() for r in self.results],
        }

    def to_json_text(self) -> str:
        """The JSON report, indented."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def to_turtle(self) -> str:
        """The sh:ValidationReport graph in Turtle."""
        return self.graph.serialize(format="turtle")

    def to_rdf(self, fmt: ox.RdfFormat) -> bytes:
        """The sh:ValidationReport graph in any RDF syntax pyoxigraph writes."""
        triples = ox.parse(self.graph.serialize(format="nt").encode(), format=ox.RdfFormat.N_TRIPLES)
        return ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in triples), format=fmt) or b""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _show(iri: str) -> str:
    return iri if iri.startswith("_:") else f"<{iri}>"


def patch_rdflib_to_reuse_translated_queries() -> None:
    """A patch of rdflib (7.x; not yet reported upstream: this machine has no network): let it translate each
    SHACL-SPARQL query text once, not on every validation.

    pyshacl hands rdflib the constraint's query as text each time, and rdflib parses and translates it
    anew: most of a small validation's time. Translated queries are what rdflib's own prepared queries
    are, made to be evaluated many times; they are cached by text, base and namespaces. Only the shapes'
    fixed constraint queries reach this: the validation graphs are private, never queried with user text.
    """
    processor = rdflib.plugins.sparql.processor
    if getattr(processor.SPARQLProcessor.query, "careerkg_cached", False):
        return
    translated: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], Any] = {}
    lock = threading.Lock()

    def query(  # noqa: PLR0917 - the signature of SPARQLProcessor.query, which this replaces
        self: Any, strOrQuery: Any, initBindings: Any = None, initNs: Any = None, base: Any = None, DEBUG: bool = False
    ) -> Any:
        if isinstance(strOrQuery, str):
            key = (strOrQuery, base, tuple(sorted((str(k), str(v)) for k, v in (initNs or {}).items())))
            with lock:
                found = translated.get(key)
            if found is None:
                found = translateQuery(parseQuery(strOrQuery), base, initNs)
                with lock:
                    translated[key] = found
            strOrQuery = found
        return evalQuery(self.graph, strOrQuery, initBindings, base)

    query.careerkg_cached = True  # type: ignore[attr-defined]
    processor.SPARQLProcessor.query = query  # type: ignore[method-assign]


def patch_pyshacl_to_choose_targets_only() -> None:
    """A patch of pySHACL (0.40; not yet reported upstream: this machine has no network): make its focus_nodes option
    choose among the shapes' targets, and nothing more.

    pySHACL 0.40 applies the chosen focus nodes to every focus list a shape is given, also the value nodes that
    sh:or, sh:and, sh:not, sh:xone, sh:node and qualified value shapes hand to their member shapes: a value node
    that was not chosen (a literal or blank node never is) is then skipped, and the constraint passes whatever the
    value (`dcterms:date "yesterday"` passed sh:or). Here the choice applies only where a shape finds its own
    targets; a shape given its focus nodes by another shape validates all of them.
    """
    import pyshacl.shape

    shape = pyshacl.shape.Shape
    if getattr(shape.validate, "careerkg_targets_only", False):
        return
    original = shape.validate

    def validate(self: Any, executor: Any, target_graph: Any, focus: Any = None, *args: Any, **kwargs: Any) -> Any:
        chosen = executor.focus_nodes
        if focus is None or chosen is None:
            return original(self, executor, target_graph, focus, *args, **kwargs)
        executor.focus_nodes = None
        try:
            return original(self, executor, target_graph, focus, *args, **kwargs)
        finally:
            executor.focus_nodes = chosen

    validate.careerkg_targets_only = True  # type: ignore[attr-defined]
    shape.validate = validate  # type: ignore[method-assign]


def _patched() -> None:
    """rdflib and pySHACL as ``validate`` needs them (each patch is installed once)."""
    patch_rdflib_to_reuse_translated_queries()
    patch_pyshacl_to_choose_targets_only()


def prepare() -> None:
    """Patch pySHACL and rdflib, and parse the shapes and the ontology, before any query worker is forked: a worker
    that validates a document finds pySHACL loaded and patched (a worker loads no library, and a fork during an import
    would copy the locks it holds: service.sparql.sandbox) and the shapes parsed, and allocates no more than its own
    work."""
    _patched()
    shapes_graph()
    ontology_graph()


@cache
def _shapes_text() -> bytes:
    """The shapes file as this process validates with it (read once: a verdict names what was used)."""
    return dataset.shapes_path().read_bytes()


@cache
def _ontology_text() -> bytes:
    """The ontology file as this process validates with it (read once)."""
    return dataset.ontology_path().read_bytes()


def inputs_digest() -> str:
    """A digest of the shapes and the ontology this process validates with."""
    return hashlib.sha256(_shapes_text() + b"\0" + _ontology_text()).hexdigest()


@cache
def shapes_graph() -> rdflib.Graph:
    """The shapes, parsed once."""
    return _parsed(_shapes_text(), dataset.shapes_path())


@cache
def ontology_graph() -> rdflib.Graph:
    """The ontology, parsed once (class hierarchy for class targets)."""
    return _parsed(_ontology_text(), dataset.ontology_path())


def _parsed(text: bytes, path: Path) -> rdflib.Graph:
    """A Turtle file as an rdflib graph, parsed by pyoxigraph (at start-up, in half the time of rdflib's parser): its
    blank nodes fresh and its prefixes bound, as rdflib's parser gives them."""
    parser = ox.parse(text, ox.RdfFormat.TURTLE, base_iri=path.as_uri(), rename_blank_nodes=True)
    graph = rdfio.to_graph(parser)
    for name, iri in parser.prefixes.items():
        graph.bind(name, iri)
    return graph


def validate_whole(quads: Iterable[ox.Quad]) -> Report:
    """Validate a whole dataset (a change too large to validate node by node, ``careerkg validate``), fast."""
    scratch = ox.Store()
    scratch.extend(quads)
    return validate_store(scratch)


def validate_store(data: ox.Store) -> Report:
    """Validate everything a pyoxigraph store holds (a fill read straight into a scratch store), fast; the store is
    left as it was.

    pyshacl-turbo, a Rust SHACL engine, decides: on a million triples it takes about a fifth of pySHACL's time. Its
    verdict and results (focus node, path, severity, shape) equal pySHACL's on every PASS/XFAIL break and on the
    shipped data (tests/unit/test_shapes.py holds them equal); its messages are not always the right constraint's,
    so when it finds anything at all, pySHACL, the reference, validates the nodes it found and its report is the
    answer: a report costs what the failing nodes cost, not the whole dataset (pySHACL took 256 s over a million
    triples). The one rule the fast engine reads differently, "one English label" (a qualified value shape whose
    sh:languageIn also takes en-GB), is left to pySHACL over everything whenever a label is in a variety of English.
    """
    if data.query(queries.load("rdf12-terms")):
        raise InputError(rdfio.RDF12)
    lent: list[ox.Quad] = []
    if next(iter(data.quads_for_pattern(ox.NamedNode(ONTOLOGY_IRI), None, None, None)), None) is None:
        # The class hierarchy class targets need, lent for the validation only.
        ontology = ox.parse(
            _ontology_text(), ox.RdfFormat.TURTLE, base_iri=dataset.ontology_path().as_uri(), rename_blank_nodes=True
        )
        lent = [q for q in ontology if q not in data]
        data.extend(lent)
    try:
        conforms, results, report_graph = turbo_validate(data)
        focus = sorted({r.focus_node for r in results})
        if data.query(queries.load("english-variant-labels")) or any(node.startswith("_:") for node in focus):
            return validate(_rdflib_graph(data))  # (a blank node's label here and in rdflib's graph may differ)
        if conforms and not results:
            return Report(True, [], report_graph)
        return validate(_rdflib_graph(data), focus_nodes=focus)
    finally:
        for quad in lent:
            data.remove(quad)


def turbo_validate(data: ox.Store) -> tuple[bool, list[Result], rdflib.Graph]:
    """pyshacl-turbo's verdict, results and (first) report graph for a whole store; from SPLIT_LEAST quads its
    shapes in two groups (``turbo_shape_groups``) validated at once: one here, the other in a forked child, which
    shares the data copy-on-write. Each run builds its own index of the data (13 of the 42 s at a million triples),
    so on two cores the two take about the time of the larger group plus that index (at a million triples 32 s
    instead of 46). A child and not a thread: glibc kept about 21 MiB in a second thread's heap after a million
    triples, for the life of the process; a child gives everything back when it ends. If the child fails, its group
    runs here after this one.
    """
    import pyshacl_turbo  # noqa: F401 - here, not in a forked child (a fork copies any import lock held)

    shapes = turbo_shapes_graph()
    groups = turbo_shape_groups() if len(data) >= SPLIT_LEAST else [None]
    others: list[Forked | None] = []
    for group in groups[1:]:
        try:
            others.append(Forked(_turbo_run, data, shapes, group))
        except ChildFailed:  # no process to be had: this one validates it after its own
            others.append(None)
    started = time.monotonic()
    try:
        runs = [_turbo_run(data, shapes, groups[0], report=True)]
    except BaseException:
        for other in others:
            if other is not None:
                other.cancel()
        raise
    # A child whose group takes far longer than this one's is stuck (a lock copied mid-use by the fork): killed.
    patience = max(CHILD_PATIENCE, 3 * (time.monotonic() - started))
    for other, group in zip(others, groups[1:], strict=True):
        try:
            if other is None:
                raise ChildFailed("no child")
            runs.append(other.result(timeout=patience))
        except ChildFailed as failed:
            log.warning("a validation child failed (%s): its shapes are validated in this process", failed)
            runs.append(_turbo_run(data, shapes, group))
    conforms = all(c for c, _, _ in runs)
    return conforms, [r for _, results, _ in runs for r in results], runs[0][2] or rdflib.Graph()


def _turbo_run(
    data: ox.Store, shapes: rdflib.Graph, group: list[str] | None, *, report: bool = False
) -> tuple[bool, list[Result], rdflib.Graph | None]:
    """One group's verdict and results (and its report graph, if asked: a child sends back plain results)."""
    import pyshacl_turbo  # (imported before turbo_validate forks: see turbo_validate)

    conforms, graph, _ = pyshacl_turbo.validate(
        data, shacl_graph=shapes, inference="none", allow_warnings=True, use_shapes=group
    )
    return bool(conforms), _results(graph, shapes), graph if report else None


@cache
def turbo_shape_groups() -> list[list[str] | None]:
    """The shapes in two groups of about the same cost: the shapes every kind of resource meets (labels and
    descriptions, sources; each targets many classes) and every other named shape, so a shape added to the file is
    always validated. One group of all shapes (None) when a shape with a target has no name to give the engine, or
    when no shape is wide."""
    shapes = turbo_shapes_graph()
    targeted = {s for p in TARGETS for s in shapes.subjects(p, None)}
    if not all(isinstance(s, rdflib.URIRef) for s in targeted):
        return [None]
    named = {s for kind in (SH.NodeShape, SH.PropertyShape) for s in shapes.subjects(RDF.type, kind)} | targeted
    wide = sorted(str(s) for s in targeted if len(set(shapes.objects(s, SH.targetClass))) >= WIDE_SHAPE_CLASSES)
    rest = sorted(str(s) for s in named if isinstance(s, rdflib.URIRef) and str(s) not in wide)
    return [wide, rest] if wide else [None]


def _rdflib_graph(store: ox.Store) -> rdflib.Graph:
    return rdfio.to_graph(store.quads_for_pattern(None, None, None, None))


@cache
def turbo_shapes_graph() -> rdflib.Graph:
    """The shapes as pyshacl-turbo validates a whole store with them, the same rules written for its speed:

    - plain literals of ``sh:in`` lists also as ``xsd:string``, the form pyoxigraph gives simple literals (RDF 1.1
      makes them one and the same; the engine compares them as different): a workaround for pyshacl-turbo 0.6;
    - the rule "an English label" in SHACL Core (a qualified value shape) instead of SHACL-SPARQL: the shapes
      file states it in SPARQL for pySHACL's validation of chosen focus nodes, which ignores qualified value
      shapes; the Rust engine runs a SPARQL constraint as one query per focus node, and this one alone took 8 of
      its 48 s on a million triples. Same focus node, path and shape in a result (tests/unit/test_shapes.py).
    """
    shapes = rdflib.Graph()
    shapes += shapes_graph()
    for head in list(shapes.objects(None, SH["in"])):
        members = Collection(shapes, head)
        plain = [i for i in members if isinstance(i, rdflib.Literal) and i.datatype is None and i.language is None]
        if plain:  # all at once: Collection.append walks the list each time (a second at start-up)
            members += [rdflib.Literal(str(item), datatype=XSD.string) for item in plain]
    for shape, constraint in list(shapes.subject_objects(SH.sparql)):
        if _selects_missing_english_label(shapes.value(constraint, SH.select)):
            _as_qualified_value_shape(shapes, shape, constraint)
    return shapes


def _selects_missing_english_label(select: rdflib.term.Node | None) -> bool:
    text = " ".join(str(select).split())
    return text == (
        "SELECT $this (rdfs:label AS ?path) WHERE { FILTER NOT EXISTS { $this rdfs:label ?label FILTER "
        '(lang(?label) = "en") } }'
    )


def _as_qualified_value_shape(shapes: rdflib.Graph, shape: rdflib.term.Node, constraint: rdflib.term.Node) -> None:
    """Replace the SPARQL constraint "no English rdfs:label" of ``shape`` by a property shape saying the same."""
    prop, english = rdflib.BNode(), rdflib.BNode()
    shapes.add((shape, SH.property, prop))
    shapes.add((prop, SH.path, rdflib.RDFS.label))
    shapes.add((prop, SH.qualifiedValueShape, english))
    shapes.add((english, SH.languageIn, Collection(shapes, rdflib.BNode(), [rdflib.Literal("en")]).uri))
    shapes.add((prop, SH.qualifiedMinCount, rdflib.Literal(1)))
    for message in shapes.objects(constraint, SH.message):
        shapes.add((prop, SH.message, message))
    shapes.remove((shape, SH.sparql, constraint))
    shapes.remove((constraint, None, None))


def validate(
    data: rdflib.Graph,
    focus_nodes: Sequence[str | rdflib.URIRef | rdflib.BNode] | None = None,
    *,
    with_ontology: bool = False,
) -> Report:
    """Validate a data graph against the CareerKG shapes; the ontology file is mixed in when the graph lacks the
    ontology, or always ``with_ontology``.

    With ``focus_nodes``, only those nodes are validated (the shapes that target them; see
    patch_pyshacl_to_choose_targets_only).
    pySHACL chooses IRIs only, and reads one that is not http(s), urn or file as a CURIE of the graph's prefixes
    (<foaf:x> would be FOAF's x): with a blank node or such an IRI among them, every node is validated and the
    report keeps the chosen ones' results.
    """
    if focus_nodes is not None:
        if not focus_nodes:
            return Report(True, [], rdflib.Graph())
        if not all(_taken_as_is(node) for node in focus_nodes):
            chosen = {_node_id(n) if isinstance(n, rdflib.BNode) else str(n) for n in focus_nodes}
            return _about(validate(data, with_ontology=with_ontology), chosen)
    _patched()
    import pyshacl  # (loaded by the patch)

    has_ontology = (rdflib.URIRef(ONTOLOGY_IRI), None, None) in data
    conforms, report_graph, _ = pyshacl.validate(
        data,
        shacl_graph=shapes_graph(),
        ont_graph=ontology_graph() if with_ontology or not has_ontology else None,
        inference="none",
        allow_warnings=True,
        abort_on_first=False,
        focus_nodes=[str(n) for n in focus_nodes] if focus_nodes is not None else None,
    )
    results = sorted(
        _results(report_graph),
        key=lambda r: (_SEVERITY_ORDER.get(r.severity, 9), r.focus_node, r.path or "", r.message),
    )
    return Report(bool(conforms), results, report_graph)


def _taken_as_is(node: str | rdflib.URIRef | rdflib.BNode) -> bool:
    """Whether pySHACL takes this chosen focus node as the IRI it is (pyshacl/validator.py expands the others)."""
    return not isinstance(node, rdflib.BNode) and str(node).lower().startswith(("http:", "https:", "urn:", "file:"))


def _about(report: Report, nodes: set[str]) -> Report:
    """The part of a report about these focus nodes: their results, and the report graph of those alone."""
    results = [r for r in report.results if r.focus_node in nodes]
    conforms = not any(r.severity == "Violation" for r in results)
    graph = rdflib.Graph()
    top = rdflib.BNode()
    graph.add((top, RDF.type, SH.ValidationReport))
    graph.add((top, SH.conforms, rdflib.Literal(conforms)))
    for result in report.graph.objects(None, SH.result):
        if _node_id(report.graph.value(result, SH.focusNode)) in nodes:
            graph.add((top, SH.result, result))
            graph += report.graph.cbd(result)
    return Report(conforms, results, graph)


def _results(report: rdflib.Graph, shapes: rdflib.Graph | None = None) -> list[Result]:
    """The results of a report; ``shapes`` is the shapes graph the validation used (the named node shape of each
    result is looked up there)."""
    shapes = shapes if shapes is not None else shapes_graph()
    out = []
    for node in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        focus = report.value(node, SH.focusNode)
        path = report.value(node, SH.resultPath)
        value = report.value(node, SH.value)
        severity = report.value(node, SH.resultSeverity)
        shape = report.value(node, SH.sourceShape)
        component = report.value(node, SH.sourceConstraintComponent)
        messages = [str(m) for m in report.objects(node, SH.resultMessage)]
        out.append(
            Result(
                focus_node=_node_id(focus),
                path=_path_text(path, report) if path is not None else None,
                value=value.n3() if value is not None else None,
                message=messages[0] if messages else "constraint not met",
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                shape=_shape_name(shape, shapes),
                constraint=compact(str(component)) if component is not None else None,
            )
        )
    return out


def _node_id(node: rdflib.term.Node | None) -> str:
    if isinstance(node, rdflib.BNode):
        return f"_:{node}"
    return str(node)


def _path_text(path: rdflib.term.Node, graph: rdflib.Graph) -> str:
    """A SHACL property path in SPARQL syntax, with prefixed names."""
    if isinstance(path, rdflib.URIRef):
        return compact(str(path))
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return "|".join(_path_text(p, graph) for p in Collection(graph, alternatives))
    inverse = graph.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _path_text(inverse, graph)
    if graph.value(path, rdflib.RDF.first) is not None:
        return "/".join(_path_text(p, graph) for p in Collection(graph, path))
    for op, sign in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = graph.value(path, op)
        if inner is not None:
            return f"({_path_text(inner, graph)}){sign}"
    return str(path)


def _shape_name(shape: rdflib.term.Node | None, shapes: rdflib.Graph) -> str | None:
    """The named node shape a result came from (property shapes are blank nodes inside one)."""
    if shape is None:
        return None
    if isinstance(shape, rdflib.BNode):
        parent = shapes.value(predicate=SH.property, object=shape) or shapes.value(predicate=SH.sparql, object=shape)
        if parent is not None:
            shape = parent
    return compact(str(shape)) if isinstance(shape, rdflib.URIRef) else None
