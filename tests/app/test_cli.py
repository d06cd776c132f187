"""The careerkg command, run as a real process: every command, with good and broken input."""

from __future__ import annotations

import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from service import dataset, loading
from service.store import Store
from tests.inprocess import run_cli_here as run_cli
from tests.support import ROOT
from tests.support import run_cli as run_process

CKG = "https://w3id.org/careerkg/ontology#"
ID = "https://w3id.org/careerkg/id/"
AI_ENGINEER = "https://w3id.org/careerkg/id/role/ai-engineer"
ROLE_TOOLS = """PREFIX ckg: <https://w3id.org/careerkg/ontology#>
SELECT ?tool WHERE { <https://w3id.org/careerkg/id/role/ai-engineer> ckg:usesTool ?tool } ORDER BY ?tool"""

NEW_TOOL = """@prefix ckg: <https://w3id.org/careerkg/ontology#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/careerkg/id/tool/example-tool> a ckg:Tool ;
    rdfs:label "Example Tool"@en ;
    dcterms:description "A library for numerical computing and machine learning."@en ;
    ckg:toolCategory <https://w3id.org/careerkg/id/tool-category/library> ;
    ckg:supportsSkill <https://w3id.org/careerkg/id/skill/deep-learning> ;
    dcterms:source <https://w3id.org/careerkg/id/source/ai-engineer-vs-ml-engineer> .
"""


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text


@pytest.fixture(scope="session")
def filled_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding an on-disk store the CLI filled from the default dataset on first use, with the files it
    keeps beside it (made once per worker; the first fill itself is what the store tests below assert on)."""
    folder = tmp_path_factory.mktemp("filled")
    done = run_cli("query", "ASK {}", "--store", str(folder / "store"))
    assert done.code == 0, done.err
    return folder


@pytest.fixture
def disk_store(filled_folder: Path, tmp_path: Path) -> Path:
    """A copy of that filled on-disk store (``tmp_path/store``), for a test to write to."""
    for item in filled_folder.iterdir():
        if item.is_dir():
            shutil.copytree(item, tmp_path / item.name)
        else:
            shutil.copy2(item, tmp_path / item.name)
    return tmp_path / "store"


# --- validate --------------------------------------------------------------------


def test_validate_shipped_data_exits_0() -> None:
    done = run_cli("validate")
    assert done.code == 0, done.out + done.err
    assert "conforms: 0 violations" in done.out


def test_validate_missing_label_exits_1_naming_the_role(data_copy: Path) -> None:
    roles = data_copy / "data" / "roles.trig"
    roles.write_text(roles.read_text().replace('rdfs:label "AI Engineer"@en ;', "", 1))
    done = run_cli("validate", str(data_copy / "ontology" / "careerkg.ttl"), str(data_copy / "data"))
    assert done.code == 1
    assert f"<{AI_ENGINEER}>" in done.out
    assert "rdfs:label" in done.out
    assert str(roles) in done.out  # the file that describes the node
    assert_no_traceback(done.out + done.err)


@pytest.mark.exhaustive  # a full validation, or a fill and a derivation, of an edited copy
def test_validate_names_the_file_that_states_the_bad_value(data_copy: Path) -> None:
    # The AI engineer is defined in roles.trig; a file that only links it to a tool that does not exist is the one to
    # fix, and the report must send the curator there.
    extra = data_copy / "data" / "extra-tools.ttl"
    missing = "https://w3id.org/careerkg/id/tool/no-such-tool"
    extra.write_text(f"<{AI_ENGINEER}> <{CKG}usesTool> <{missing}> .\n")
    done = run_cli("validate", "--format", "json", str(data_copy / "ontology"), str(data_copy / "data"))
    assert done.code == 1, done.out + done.err
    (result,) = json.loads(done.out)["results"]
    assert (result["focusNode"], result["path"], result["value"]) == (AI_ENGINEER, "ckg:usesTool", f"<{missing}>")
    assert result["file"] == str(extra)
    # A result whose value no file states (a missing label) still names the file that defines the node.
    extra.unlink()
    roles = data_copy / "data" / "roles.trig"
    roles.write_text(roles.read_text().replace('rdfs:label "AI Engineer"@en ;', "", 1))
    done = run_cli("validate", "--format", "json", str(data_copy / "ontology"), str(data_copy / "data"))
    (result,) = json.loads(done.out)["results"]
    assert result["file"] == str(roles)


@pytest.mark.exhaustive  # a full validation of an edited copy, as another report format
def test_validate_json_report(data_copy: Path) -> None:
    roles = data_copy / "data" / "roles.trig"
    roles.write_text(roles.read_text().replace('rdfs:label "AI Engineer"@en ;', "", 1))
    done = run_cli("validate", "--format", "json", str(data_copy / "ontology"), str(data_copy / "data"))
    assert done.code == 1
    report = json.loads(done.out)
    assert report["conforms"] is False
    assert report["violations"] == 1
    (result,) = report["results"]
    assert result["focusNode"] == AI_ENGINEER
    assert result["path"] == "rdfs:label"
    assert result["severity"] == "Violation"
    assert result["file"] == str(roles)
    assert result["message"]


@pytest.mark.exhaustive  # a full validation of an edited copy, as another report format
def test_validate_turtle_report_is_a_shacl_report(data_copy: Path) -> None:
    roles = data_copy / "data" / "roles.trig"
    roles.write_text(roles.read_text().replace('rdfs:label "AI Engineer"@en ;', "", 1))
    done = run_cli("validate", "--format", "turtle", str(data_copy / "ontology"), str(data_copy / "data"))
    assert done.code == 1
    g = rdflib.Graph().parse(data=done.out, format="turtle")
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    assert (None, sh.conforms, rdflib.Literal(False)) in g
    assert (None, sh.focusNode, rdflib.URIRef(AI_ENGINEER)) in g


def test_validate_syntax_error_exits_2_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b "open string .\n')
    done = run_cli("validate", str(bad))
    assert done.code == 2
    assert f"{bad}:3:" in done.err
    assert_no_traceback(done.err)


def test_validate_missing_file_exits_2(tmp_path: Path) -> None:
    done = run_cli("validate", str(tmp_path / "nowhere.ttl"))
    assert done.code == 2
    assert "nowhere.ttl: no such file or folder" in done.err
    assert_no_traceback(done.err)


def test_validate_unknown_suffix_exits_2(tmp_path: Path) -> None:
    odd = tmp_path / "data.csv"
    odd.write_text("a,b\n")
    done = run_cli("validate", str(odd))
    assert done.code == 2
    assert "unknown RDF file type '.csv'" in done.err


def test_validate_other_syntaxes_with_errors(tmp_path: Path) -> None:
    bad_nt = tmp_path / "bad.nt"
    bad_nt.write_text("<http://e/a> <http://e/b> <http://e/c> .\n<http://e/a> <http://e/b> .\n")
    done = run_cli("validate", str(bad_nt))
    assert done.code == 2
    assert f"{bad_nt}:2:" in done.err
    bad_xml = tmp_path / "bad.rdf"
    bad_xml.write_text("<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><oops></rdf:RDF>")
    done = run_cli("validate", str(bad_xml))
    assert done.code == 2
    assert str(bad_xml) in done.err
    assert_no_traceback(done.err)


# --- query -----------------------------------------------------------------------


def test_query_formats(disk_store: Path, filled_store: Store) -> None:
    """Each result format carries the same rows the dataset gives in-process (the article's two tools among them)."""
    result = filled_store.query(ROLE_TOOLS)
    assert isinstance(result, ox.QuerySolutions)
    expected = [row["tool"].value for row in result]
    assert {"https://w3id.org/careerkg/id/tool/pytorch", "https://w3id.org/careerkg/id/tool/tensorflow"} <= set(
        expected
    )

    store = ["--store", str(disk_store)]
    done = run_cli("query", ROLE_TOOLS, *store)
    assert done.code == 0, done.err
    rows = json.loads(done.out)["results"]["bindings"]
    assert [r["tool"]["value"] for r in rows] == expected

    done = run_cli("query", ROLE_TOOLS, *store, "--format", "csv")
    assert list(csv.reader(io.StringIO(done.out)))[1:] == [[tool] for tool in expected]
    done = run_cli("query", ROLE_TOOLS, *store, "--format", "tsv")
    assert done.out.splitlines() == ["?tool", *(f"<{tool}>" for tool in expected)]
    done = run_cli("query", ROLE_TOOLS, *store, "--format", "xml")
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    uris = [u.text for u in ET.fromstring(done.out).findall(".//r:uri", ns)]
    assert uris == expected

    done = run_cli("query", "ASK { ?s a <https://w3id.org/careerkg/ontology#Role> }", *store)
    assert json.loads(done.out)["boolean"] is True


def test_query_construct_in_turtle(tmp_path: Path) -> None:
    construct = f"CONSTRUCT {{ <{AI_ENGINEER}> ?p ?o }} WHERE {{ <{AI_ENGINEER}> ?p ?o }}"
    done = run_cli("query", construct, "--store", "memory")
    assert done.code == 0, done.err
    g = rdflib.Graph().parse(data=done.out, format="turtle")
    assert (rdflib.URIRef(AI_ENGINEER), rdflib.RDFS.label, rdflib.Literal("AI Engineer", lang="en")) in g
    done = run_cli("query", construct, "--store", "memory", "--format", "nt")
    assert len(rdflib.Graph().parse(data=done.out, format="nt")) == len(g)


def test_query_from_stdin() -> None:
    done = run_cli("query", "-", "--store", "memory", "--format", "csv", stdin=ROLE_TOOLS)
    assert done.code == 0
    assert "tensorflow" in done.out


def test_query_syntax_error_exits_2_without_traceback() -> None:
    done = run_cli("query", "SELECT * WHERE { ?s ?p }", "--store", "memory")
    assert done.code == 2
    assert "1:" in done.err  # the parser's position
    assert_no_traceback(done.err)


def test_query_format_that_does_not_fit_exits_2() -> None:
    done = run_cli("query", "ASK { ?s ?p ?o }", "--store", "memory", "--format", "ttl")
    assert done.code == 2
    assert "SELECT and ASK give" in done.err


# --- load --------------------------------------------------------------------------


def export_nq(store: Path) -> set[str]:
    done = run_cli("export", "--store", str(store), "--format", "nq")
    assert done.code == 0, done.err
    return set(done.out.splitlines())


def test_load_valid_file_adds_it(tmp_path: Path, disk_store: Path) -> None:
    store = disk_store
    before = export_nq(store)
    new = tmp_path / "example-tool.ttl"
    new.write_text(NEW_TOOL)
    done = run_cli("load", str(new), "--store", str(store))
    assert done.code == 0, done.err
    after = export_nq(store)
    assert before < after
    assert len(after - before) == 6


def test_load_violating_file_writes_nothing(tmp_path: Path, disk_store: Path) -> None:
    store = disk_store
    before = export_nq(store)
    bad = tmp_path / "bad.ttl"
    bad.write_text(NEW_TOOL.replace('rdfs:label "Example Tool"@en ;', ""))
    done = run_cli("load", str(bad), "--store", str(store))
    assert done.code == 1
    assert "https://w3id.org/careerkg/id/tool/example-tool" in done.out
    assert "nothing was written" in done.err
    assert export_nq(store) == before


def test_load_syntax_error_writes_nothing(tmp_path: Path, disk_store: Path) -> None:
    store = disk_store
    before = export_nq(store)
    good = tmp_path / "good.ttl"
    good.write_text(NEW_TOOL)
    bad = tmp_path / "bad.ttl"
    bad.write_text(NEW_TOOL + "\n<https://w3id.org/careerkg/id/tool/example-tool> <broken\n")
    done = run_cli("load", str(good), str(bad), "--store", str(store))
    assert done.code == 2
    assert f"{bad}:" in done.err
    assert export_nq(store) == before


def test_load_into_named_graph_and_replace(tmp_path: Path, disk_store: Path) -> None:
    store = disk_store
    new = tmp_path / "example-tool.ttl"
    new.write_text(NEW_TOOL)
    graph = "https://example.org/graphs/extra"
    assert run_cli("load", str(new), "--store", str(store), "--graph", graph).code == 0
    quads = export_nq(store)
    assert sum(1 for q in quads if q.endswith(f"<{graph}> .")) == 6
    # Replacing the graph with a smaller file leaves only that file's quads in it.
    smaller = tmp_path / "smaller.ttl"
    smaller.write_text(
        NEW_TOOL.replace("    ckg:supportsSkill <https://w3id.org/careerkg/id/skill/deep-learning> ;\n", "")
    )
    role_uses = tmp_path / "uses.ttl"
    role_uses.write_text(
        "<https://w3id.org/careerkg/id/role/ml-engineer> "
        "<https://w3id.org/careerkg/ontology#usesTool> <https://w3id.org/careerkg/id/tool/example-tool> .\n"
    )
    done = run_cli("load", str(smaller), str(role_uses), "--store", str(store), "--graph", graph, "--replace")
    assert done.code == 0, done.out + done.err
    quads = export_nq(store)
    assert sum(1 for q in quads if q.endswith(f"<{graph}> .")) == 6


def test_load_bad_graph_iri_exits_2(tmp_path: Path) -> None:
    new = tmp_path / "example-tool.ttl"
    new.write_text(NEW_TOOL)
    done = run_cli("load", str(new), "--store", "memory", "--graph", "not an iri")
    assert done.code == 2
    assert "--graph" in done.err


# --- export ------------------------------------------------------------------------


@pytest.mark.exhaustive  # every format through a parser: 5 s (the fast tier exports N-Quads)
def test_export_every_format_round_trips(tmp_path: Path, disk_store: Path) -> None:
    store = ["--store", str(disk_store)]
    counts = {}
    for fmt, syntax in [
        ("trig", ox.RdfFormat.TRIG),
        ("nq", ox.RdfFormat.N_QUADS),
        ("ttl", ox.RdfFormat.TURTLE),
        ("nt", ox.RdfFormat.N_TRIPLES),
        ("jsonld", ox.RdfFormat.JSON_LD),
    ]:
        out = tmp_path / f"dump.{fmt}"
        done = run_cli("export", *store, "--format", fmt, "--output", str(out))
        assert done.code == 0, done.err
        counts[fmt] = len(list(ox.parse(out.read_bytes(), format=syntax)))
    assert len(set(counts.values())) == 1, counts  # the curated data is all in the default graph
    assert counts["nt"] > 1000


@pytest.mark.exhaustive  # rdflib reads 42k triples of Turtle in about 3 s
def test_an_independent_parser_reads_the_turtle_export(tmp_path: Path, disk_store: Path) -> None:
    out = tmp_path / "dump.ttl"
    assert run_cli("export", "--store", str(disk_store), "--format", "ttl", "--output", str(out)).code == 0
    ours = list(ox.parse(path=str(out), format=ox.RdfFormat.TURTLE))
    theirs = rdflib.Graph().parse(out, format="turtle")
    assert len(theirs) == len(ours) > 1000
    # The statements without blank nodes, term by term (blank node labels are each parser's own).
    named = {(q.subject.value, q.predicate.value, str(q.object)) for q in ours if isinstance(q.subject, ox.NamedNode)}
    assert {
        (str(s), str(p), o.n3() if isinstance(o, rdflib.Literal) else f"<{o}>")
        for s, p, o in theirs
        if isinstance(s, rdflib.URIRef) and not isinstance(o, rdflib.BNode)
    } == {t for t in named if not t[2].startswith("_:")}


def test_export_to_unwritable_path_exits_2(tmp_path: Path) -> None:
    done = run_cli("export", "--store", "memory", "--output", str(tmp_path / "no" / "such" / "dir.ttl"))
    assert done.code == 2
    assert_no_traceback(done.err)


# --- stores ------------------------------------------------------------------------


def test_on_disk_store_keeps_writes_across_runs(tmp_path: Path, disk_store: Path) -> None:
    store = disk_store
    new = tmp_path / "example-tool.ttl"
    new.write_text(NEW_TOOL)
    assert run_cli("load", str(new), "--store", str(store)).code == 0
    done = run_cli(
        "query",
        "ASK { <https://w3id.org/careerkg/id/tool/example-tool> ?p ?o }",
        "--store",
        str(store),
        "--format",
        "tsv",
    )
    assert done.out.strip() == "true"


def test_default_store_comes_from_the_environment(tmp_path: Path) -> None:
    store = tmp_path / "env-store"
    done = run_cli("query", "ASK { ?s ?p ?o }", env={"CAREERKG_STORE": str(store)})
    assert done.code == 0
    assert store.is_dir()
    assert any(store.iterdir())


def test_store_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    done = run_cli("query", "ASK { ?s ?p ?o }", "--store", str(file))
    assert done.code == 2
    assert "not a folder" in done.err


def test_help_lists_every_command() -> None:
    done = run_cli("--help")
    assert done.code == 0
    for command in ("serve", "validate", "load", "export", "query"):
        assert command in done.out


def test_an_on_disk_store_says_when_the_default_dataset_has_changed(tmp_path: Path, disk_store: Path) -> None:
    """A filled on-disk store keeps its content; after the shipped data changes, it says so until replaced."""
    store = disk_store  # filled by the CLI on first use
    first = run_cli("query", "ASK {}", "--store", str(store))
    assert first.code == 0, first.err
    assert "earlier version" not in first.err
    mark = tmp_path / "store.dataset"
    assert mark.read_text().strip() == loading._fingerprint(dataset.default_paths())  # what it was filled from
    mark.write_text("0" * 64 + "\n")  # as if it had been filled from an older checkout's data
    stale = run_cli("query", "ASK {}", "--store", str(store))
    assert stale.code == 0
    assert "earlier version of the default dataset" in stale.err
    ontology, data = dataset.ontology_path(), dataset.data_dir()
    replaced = run_cli("load", str(ontology), str(data), "--store", str(store), "--replace")  # as the README says
    assert replaced.code == 0, replaced.err
    current = run_cli("query", "ASK {}", "--store", str(store))
    assert "earlier version" not in current.err


def test_derive_transitions_prints_the_committed_file_and_writes_it_with_output(tmp_path: Path) -> None:
    done = run_cli("derive-transitions", "--store", "memory")
    assert done.code == 0, done.err
    # The committed file is what the derivation gives for the data as it stands (never stale).
    assert done.out == (dataset.data_dir() / dataset.DERIVED_TRANSITIONS).read_text(encoding="utf-8"), (
        "run: careerkg derive-transitions --output data/derived-transitions.trig"
    )
    rule = ox.NamedNode(ID + "source/careerkg-skill-overlap")
    derived = {
        q.subject
        for q in ox.parse(done.out, format=ox.RdfFormat.TRIG)
        if q.object == ox.NamedNode(CKG + "CareerTransition") and q.graph_name == rule  # in the rule's graph
    }
    assert len(derived) >= 20

    written = run_cli("derive-transitions", "--store", "memory", "--output", str(tmp_path / "t.trig"))
    assert written.code == 0, written.err
    assert written.out == ""
    assert (tmp_path / "t.trig").read_text(encoding="utf-8") == done.out

    unwritable = run_cli("derive-transitions", "--store", "memory", "--output", str(tmp_path / "no" / "t.trig"))
    assert unwritable.code == 2
    assert "t.trig" in unwritable.err
    assert_no_traceback(unwritable.err)


STALE_TRANSITION = """
transition:retired-role-to-data-analyst
    a ckg:CareerTransition ;
    rdfs:label "Retired Role to Data Analyst"@en ;
    ckg:fromRole role:retired-role ;
    ckg:toRole role:data-analyst ;
    dcterms:source source:careerkg-skill-overlap .
"""


@pytest.mark.exhaustive  # a full validation, or a fill and a derivation, of an edited copy
def test_derive_transitions_regenerates_a_file_that_names_a_removed_role(tmp_path: Path) -> None:
    """After a role leaves the data, the previous output still names it; derivation starts without that output."""
    for part in ("service", "ontology", "data"):  # a copy of the checkout, whose data the curator edits
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__", "_dataset"))
    derived = tmp_path / "data" / dataset.DERIVED_TRANSITIONS
    current = derived.read_text(encoding="utf-8")
    derived.write_text(current + STALE_TRANSITION, encoding="utf-8")

    stale = run_process("validate", cwd=tmp_path)  # the copy is what runs, and its stale file no longer conforms
    assert stale.code == 1, stale.out + stale.err
    assert "retired-role" in stale.out

    done = run_process("derive-transitions", "--store", "memory", "--output", str(derived), cwd=tmp_path)
    assert done.code == 0, done.err
    assert derived.read_text(encoding="utf-8") == current
    assert run_process("validate", cwd=tmp_path).code == 0


SOURCED_TOOL = """
@prefix ckg: <https://w3id.org/careerkg/ontology#> .
@prefix source: <https://w3id.org/careerkg/id/source/> .
source:pypi-keras-3 {
    <https://w3id.org/careerkg/id/tool/keras> ckg:interfaceTo <https://w3id.org/careerkg/id/tool/scikit-learn> .
}
<https://example.org/graphs/notes> {
    <https://w3id.org/careerkg/id/tool/keras> ckg:interfaceTo <https://w3id.org/careerkg/id/tool/python> .
}
"""


def test_load_asserts_what_source_graphs_state(tmp_path: Path, disk_store: Path) -> None:
    """A statement in a source document's graph is loaded into the default graph with its record (an rdf:Statement
    citing the document), whichever way the store is filled (the fast fill of an empty store, or a load into one that
    holds data); another named graph is kept as it is."""
    keras = "<https://w3id.org/careerkg/id/tool/keras> <https://w3id.org/careerkg/ontology#interfaceTo>"
    stated = f"{keras} <https://w3id.org/careerkg/id/tool/scikit-learn>"
    noted = f"{keras} <https://w3id.org/careerkg/id/tool/python>"
    source = "<https://w3id.org/careerkg/id/source/pypi-keras-3>"
    data = tmp_path / "sourced.trig"
    data.write_text(SOURCED_TOOL)
    for store in (tmp_path / "empty", disk_store):  # the second filled with the default dataset
        done = run_cli("load", str(data), "--store", str(store))
        assert done.code == 0, done.err
        quads = export_nq(store)
        assert f"{stated} ." in quads
        assert not any(q.endswith(f"{source} .") and q.startswith(keras) for q in quads)  # no source graph is kept
        records = {q.split()[0] for q in quads if q.endswith(f"<http://purl.org/dc/terms/source> {source} .")}
        (record,) = [
            r
            for r in records
            if f"{r} <http://www.w3.org/1999/02/22-rdf-syntax-ns#object> "
            "<https://w3id.org/careerkg/id/tool/scikit-learn> ." in quads
        ]
        assert (
            f"{record} <http://www.w3.org/1999/02/22-rdf-syntax-ns#subject> <https://w3id.org/careerkg/id/tool/keras> ."
            in quads
        )
        assert f"{noted} <https://example.org/graphs/notes> ." in quads
        assert f"{noted} ." not in quads
