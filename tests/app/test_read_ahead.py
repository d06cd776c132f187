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
