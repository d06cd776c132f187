"""A fill's verdict kept for the next process (service.loading): unchanged files that conformed are not validated
again when an empty store is filled from them; anything changed, or anything that did not conform, is."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest

from service import loading
from service.errors import ValidationFailed
from service.store.embedded import EmbeddedStore
from service.validation import Report

AGAIN = "validated before"
UNLABELLED = (
    "\n<https://w3id.org/careerkg/id/source/unlabelled> a <https://w3id.org/careerkg/ontology#SourceDocument> .\n"
)


@pytest.fixture
def files(data_copy: Path) -> list[Path]:
    return [data_copy / "ontology" / "careerkg.ttl", data_copy / "data" / "sources.ttl"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own, and no verdict held in this process (as in a new one)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(loading, "_FILLS", {})
    return tmp_path / "cache" / "careerkg" / "verdicts"


def named(store: EmbeddedStore) -> set[ox.Quad]:
    return {q for q in store.quads() if not any(isinstance(t, ox.BlankNode) for t in (q.subject, q.object))}


def fill_anew(files: list[Path], monkeypatch: pytest.MonkeyPatch) -> EmbeddedStore:
    """Fill an empty store as a new process would (nothing remembered in memory)."""
    monkeypatch.setattr(loading, "_FILLS", {})
    store = EmbeddedStore()
    loading.ensure_filled(store, files)
    return store


def test_unchanged_files_that_conformed_are_not_validated_again(
    files: list[Path], cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.loading")
    first = fill_anew(files, monkeypatch)
    assert len(list(cache.glob("*.json"))) == 1
    assert AGAIN not in caplog.text
    second = fill_anew(files, monkeypatch)
    assert AGAIN in caplog.text
    assert len(second) == len(first)
    assert named(second) == named(first)  # (blank nodes are new ones in each fill)


def test_a_changed_file_is_validated_again_and_a_violation_leaves_no_verdict(
    files: list[Path], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_anew(files, monkeypatch)
    kept = set(cache.glob("*.json"))
    with files[1].open("a", encoding="utf-8") as out:
        out.write(UNLABELLED)
    with pytest.raises(ValidationFailed) as failed:
        fill_anew(files, monkeypatch)
    report = failed.value.report
    assert isinstance(report, Report)
    assert any(r.focus_node.endswith("source/unlabelled") for r in report.violations)
    assert set(cache.glob("*.json")) == kept  # the verdict on the old files only


def _garbage(verdict: Path) -> None:
    verdict.write_text('{"key": "' + verdict.stem + '", "report": {"conforms": tru', encoding="utf-8")


def _conforms_as_text(verdict: Path) -> None:
    kept = json.loads(verdict.read_text(encoding="utf-8"))
    kept["report"]["conforms"] = "false"  # truthy, and not the conforming verdict it must be
    verdict.write_text(json.dumps(kept), encoding="utf-8")


def _of_another_key(verdict: Path) -> None:
    kept = json.loads(verdict.read_text(encoding="utf-8"))
    kept["key"] = "0" * 64  # a verdict copied from elsewhere
    verdict.write_text(json.dumps(kept), encoding="utf-8")


def _writable_by_others(verdict: Path) -> None:
    verdict.chmod(0o666)


def _a_link(verdict: Path) -> None:
    elsewhere = verdict.with_name("elsewhere")
    verdict.rename(elsewhere)
    verdict.symlink_to(elsewhere)


def _a_fifo(verdict: Path) -> None:
    verdict.unlink()
    os.mkfifo(verdict)  # reading it would wait for a writer for ever


def _nested(verdict: Path) -> None:
    verdict.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")


@pytest.mark.parametrize(
    "spoil", [_garbage, _conforms_as_text, _of_another_key, _writable_by_others, _a_link, _a_fifo, _nested]
)
def test_a_verdict_that_is_not_a_sound_one_of_this_users_is_validated_anew_and_replaced(
    files: list[Path],
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    spoil: Callable[[Path], None],
) -> None:
    fill_anew(files, monkeypatch)
    (verdict,) = cache.glob("*.json")
    spoil(verdict)
    caplog.set_level(logging.INFO, logger="service.loading")
    assert len(fill_anew(files, monkeypatch)) > 0
    assert AGAIN not in caplog.text
    assert verdict.is_file()
    assert not verdict.is_symlink()
    assert json.loads(verdict.read_text(encoding="utf-8"))["report"]["conforms"] is True
    caplog.clear()
    fill_anew(files, monkeypatch)
    assert AGAIN in caplog.text


def test_with_no_cache_folder_to_be_had_a_fill_still_works(
    files: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert len(fill_anew(files, monkeypatch)) > 0
    assert len(fill_anew(files, monkeypatch)) > 0
