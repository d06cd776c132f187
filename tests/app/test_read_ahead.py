"""A server's fill read ahead (service.loading.read_ahead): the files read before the app is imported and validated
while it is; the fill of the empty store takes what was read, and gives the same store and the same errors as a fill
that reads for itself. Nothing is read ahead for a store that may hold data, and nothing read ahead is kept."""

from __future__ import annotations

import os
from pathlib import Path

import pyoxigraph as ox
import pytest

from service import loading, validation
from service.errors import InputError, ValidationFailed
from service.store.embedded import EmbeddedStore
from service.validation import Report

UNLABELLED = (
    "\n<https://w3id.org/careerkg/id/source/unlabelled> a <https://w3id.org/careerkg/ontology#SourceDocument> .\n"
)


@pytest.fixture
def files(data_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Two files of the dataset, no verdict kept or remembered (as in a new process), nothing read ahead."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(loading, "_FILLS", {})
    monkeypatch.setattr(loading, "_AHEAD", {})
    return [data_copy / "ontology" / "careerkg.ttl", data_copy / "data" / "sources.ttl"]


def named(store: EmbeddedStore) -> set[ox.Quad]:
    return {q for q in store.quads() if not any(isinstance(t, ox.BlankNode) for t in (q.subject, q.object))}


def test_the_fill_takes_what_was_read_ahead_and_gives_the_same_store(
    files: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = EmbeddedStore()
    loading.ensure_filled(plain, files)
    monkeypatch.setattr(loading, "_FILLS", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-cache"))  # (no verdict kept: validated ahead)
    validated: list[int] = []
    real = loading.validate_store
    monkeypatch.setattr(loading, "validate_store", lambda data: validated.append(len(data)) or real(data))

    loading.read_ahead("memory", files)
    assert list(loading._AHEAD) == [tuple(files)]

    def not_again(paths: object, graph: object) -> None:
        raise AssertionError("the fill read the files again")

    monkeypatch.setattr(loading, "_read_scratch", not_again)
    ahead = EmbeddedStore()
    loading.ensure_filled(ahead, files)
    assert validated == [len(ahead)]  # validated once, ahead, the whole of what was filled
    assert loading._AHEAD == {}
    assert len(ahead) == len(plain)
    assert named(ahead) == named(plain)


def test_data_that_does_not_conform_is_refused_as_without_reading_ahead(files: list[Path]) -> None:
    with files[1].open("a", encoding="utf-8") as out:
        out.write(UNLABELLED)
    loading.read_ahead("memory", files)
    store = EmbeddedStore()
    with pytest.raises(ValidationFailed) as failed:
        loading.ensure_filled(store, files)
    report = failed.value.report
    assert isinstance(report, Report)
    assert any(r.focus_node.endswith("source/unlabelled") and r.file == str(files[1]) for r in report.violations)
    assert store.is_empty()


def test_a_syntax_error_is_named_by_the_fill_with_file_and_line(files: list[Path]) -> None:
    with files[1].open("a", encoding="utf-8") as out:
        out.write("\n<https://example.org/a> <https://example.org/b> .\n")
    lines = files[1].read_text(encoding="utf-8").count("\n")
    loading.read_ahead("memory", files)
    assert loading._AHEAD[tuple(files)].result() is None  # nothing read: the fill's careful path says why
    with pytest.raises(InputError, match=files[1].name) as failed:
        loading.ensure_filled(EmbeddedStore(), files)
    assert failed.value.line == lines


def test_when_validating_ahead_fails_the_fill_validates(files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: ox.Store) -> Report:
        raise RuntimeError("engine failure")

    monkeypatch.setattr(loading, "validate_store", broken)
    loading.read_ahead("memory", files)
    assert loading._AHEAD[tuple(files)].result() is None
    monkeypatch.setattr(loading, "validate_store", validation.validate_store)
    store = EmbeddedStore()
    loading.ensure_filled(store, files)
    assert not store.is_empty()


def test_nothing_is_read_ahead_for_a_store_that_may_hold_data(
    files: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = tmp_path / "store"
    held.mkdir()
    (held / "CURRENT").write_text("x\n", encoding="utf-8")
    for location in (str(held), "http://127.0.0.1:9/sparql", str(files[0])):
        loading.read_ahead(location, files)
        assert loading._AHEAD == {}, location
    pipe = tmp_path / "pipe.ttl"
    os.mkfifo(pipe)  # (read ahead, it would hold the server before it answers /health for as long as it is open)
    loading.read_ahead("memory", [*files, pipe])
    assert loading._AHEAD == {}
    monkeypatch.setattr(loading, "READ_AHEAD_MOST", 1024)  # larger files: read by the background fill
    loading.read_ahead("memory", files)
    assert loading._AHEAD == {}
    monkeypatch.setattr(loading, "READ_AHEAD_MOST", 32 * 1024 * 1024)
    new = tmp_path / "new-store"  # an on-disk store not made yet, or made and empty: read ahead
    loading.read_ahead(str(new), files)
    assert list(loading._AHEAD) == [tuple(files)]
    (tmp_path / "empty-store").mkdir()
    loading.read_ahead(str(tmp_path / "empty-store"), files)
    assert list(loading._AHEAD) == [tuple(files)]


def test_what_was_read_ahead_is_dropped_when_the_store_holds_data(files: list[Path]) -> None:
    store = EmbeddedStore()
    loading.ensure_filled(store, files)
    before = len(store)
    loading.read_ahead("memory", files)
    loading.ensure_filled(store)  # a full store, no data named: kept as it is
    assert loading._AHEAD == {}
    assert len(store) == before


@pytest.mark.parametrize("kind", ["unknown-suffix", "pipe", "pipe-in-folder", "device"])
def test_a_file_that_is_no_rdf_file_is_refused_by_name(tmp_path: Path, kind: str) -> None:
    """A file of no known RDF syntax, or not a regular file (a pipe would be read without end, /dev/zero until memory
    ran out), is refused naming it, before anything is read; reading ahead skips it and raises nothing."""
    folder = tmp_path / "data"
    folder.mkdir()
    named = folder / ("data.txt" if kind == "unknown-suffix" else "x.ttl")
    if kind == "unknown-suffix":
        named.write_text('<http://example.org/a> <http://example.org/b> "c" .\n', encoding="utf-8")
    elif kind == "device":
        named.symlink_to("/dev/zero")
    else:
        os.mkfifo(named)
    given = folder if kind == "pipe-in-folder" else named
    loading.read_ahead("memory", [given])
    assert loading._AHEAD == {}
    store = EmbeddedStore()
    with pytest.raises(InputError) as refused:
        loading.ensure_filled(store, [given])
    assert refused.value.file == str(named)
    assert ("unknown RDF file type" if kind == "unknown-suffix" else "not a regular file") in str(refused.value)
    assert store.is_empty()


@pytest.mark.parametrize("ahead", [True, False], ids=["read-ahead", "read-by-the-fill"])
def test_rdf12_triple_terms_are_refused_naming_file_and_line(files: list[Path], ahead: bool) -> None:
    with files[1].open("a", encoding="utf-8") as out:
        out.write(
            "\n<https://example.org/s> <https://example.org/p> "
            "<<( <https://example.org/a> <https://example.org/b> <https://example.org/c> )>> .\n"
        )
    if ahead:
        loading.read_ahead("memory", files)
    with pytest.raises(InputError) as refused:
        loading.ensure_filled(EmbeddedStore(), files)
    assert refused.value.file == str(files[1])
    assert "RDF 1.2" in str(refused.value)


def test_files_changed_while_they_load_leave_no_mark_and_load_again_at_the_next_start(
    files: list[Path], tmp_path: Path
) -> None:
    """The marks beside an on-disk store name the bytes loaded: a file changed after it was read ahead (the server
    was importing) is served as read, and the next start loads it again, instead of keeping a store that does not
    hold what the mark says."""
    location = tmp_path / "store"
    loading.read_ahead(str(location), files)
    with files[1].open("a", encoding="utf-8") as out:
        out.write(
            "\n<https://w3id.org/careerkg/id/source/careerkg-curation> "
            '<http://www.w3.org/2004/02/skos/core#altLabel> "changed meanwhile"@en .\n'
        )
    store = EmbeddedStore(location)
    try:
        loading.ensure_filled(store, files)
        first = len(store)
        assert loading._loaded_mark(store) is None
    finally:
        store.close()
    again = EmbeddedStore(location)
    try:
        loading.ensure_filled(again, files)  # the files as they are now, loaded in place of what was
        assert len(again) == first + 1
        assert loading._loaded_mark(again) == loading._fingerprint(files)
    finally:
        again.close()
    kept = EmbeddedStore(location)
    try:
        loading.ensure_filled(kept, files)  # unchanged since: kept as it is
        assert len(kept) == first + 1
    finally:
        kept.close()


def test_files_that_hold_no_statements_say_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    empty = tmp_path / "empty.ttl"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    store = EmbeddedStore()
    loading.ensure_filled(store, [empty])
    assert store.is_empty()
    assert "hold no statements" in caplog.text


def test_what_was_read_ahead_of_other_files_is_dropped(files: list[Path]) -> None:
    loading.read_ahead("memory", files[:1])
    assert list(loading._AHEAD) == [tuple(files[:1])]
    store = EmbeddedStore()
    loading.ensure_filled(store, files)  # (files were added since: not what was read ahead)
    assert loading._AHEAD == {}
    plain = EmbeddedStore()
    loading.ensure_filled(plain, files)
    assert named(store) == named(plain)
