"""Filling stores: read files, validate the graph the change would produce, write only if it conforms."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import getpass
import hashlib
import importlib.metadata
import json
import logging
import os
import stat
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import pyoxigraph as ox

from service import dataset, rdfio, validation, writes
from service.errors import CareerKGError, InputError, ValidationFailed
from service.namespaces import compact
from service.store import GraphName, Store
from service.store.embedded import beside
from service.validation import Report, validate_store, validate_whole

log = logging.getLogger(__name__)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
# Reports of files validated alone, by the fingerprint of the files and the shapes: validation is a function of
# them, so an empty store filled again from unchanged files (a second app or CLI command in one process) reuses it.
# A conforming report of the fast path is also kept on disk, in the user's cache folder (verdicts/), for the next
# process: a memory store started again on unchanged files is not validated again (it was 1.2 of the curated data's
# 3.6 s start-up), as an on-disk store filled from them is not. Its name digests the bytes loaded, the shapes and
# ontology the validation used, the engines' versions and CareerKG's code.
_FILLS: dict[str, Report] = {}
_DECIDERS = ("pyshacl", "pyshacl-turbo", "pyoxigraph", "rdflib", "owlrl", "pyparsing")
VERDICT_MOST = 1 << 20  # bytes: a conforming verdict is a few hundred


@dataclass(frozen=True)
class CheckedFiles:
    """Files read and validated together."""

    files: list[rdfio.ParsedFile]
    report: Report

    @property
    def quads(self) -> list[ox.Quad]:
        """Every quad of every file."""
        return [q for f in self.files for q in f.quads]


def subject_files(files: Sequence[rdfio.ParsedFile]) -> dict[str, str]:
    """For each subject IRI, the file that defines it (states its type), else the first that describes it.

    Used to name files in reports: a resource typed in roles.trig and linked from alignment.ttl is roles.trig's.
    """
    typed: dict[str, str] = {}
    first: dict[str, str] = {}
    for parsed in files:
        for quad in parsed.quads:
            if isinstance(quad.subject, ox.NamedNode):
                first.setdefault(quad.subject.value, str(parsed.path))
                if quad.predicate.value == RDF_TYPE:
                    typed.setdefault(quad.subject.value, str(parsed.path))
    return {**first, **typed}


def _name_files(report: Report, files: Sequence[rdfio.ParsedFile]) -> Report:
    """``report`` with each result's file named: the file that states the offending value, where the result has one
    and a file states it (a role linked to a missing tool in certifications.ttl is that file's fault, not the file
    that defines the role), else the file that defines the focus node."""
    if not report.results:
        return report
    wanted = {(r.focus_node, r.path, r.value) for r in report.results if r.value is not None}
    focus = {node for node, _, _ in wanted}
    stated: dict[tuple[str, str | None, str | None], str] = {}
    for parsed in files:
        for quad in parsed.quads:
            if isinstance(quad.subject, ox.NamedNode) and quad.subject.value in focus:
                key = (quad.subject.value, compact(quad.predicate.value), str(quad.object))
                if key in wanted:
                    stated.setdefault(key, str(parsed.path))
    return report.with_files(subject_files(files), stated)


def check_files(paths: Sequence[Path | str]) -> CheckedFiles:
    """Read ``paths`` (InputError on the first unreadable one) and validate them together."""
    files = rdfio.read_files(paths)
    report = validate_whole(q for f in files for q in f.quads)
    return CheckedFiles(files, _name_files(report, files))


def load(store: Store, paths: Sequence[Path | str], *, graph: GraphName | None = None, replace: bool = False) -> Report:
    """Load files through the one write path: validate the change, commit it only if it conforms, log it."""
    graph = graph if graph is not None else ox.DefaultGraph()
    given = rdfio.expand(paths)
    store.wait_for_fill()
    base = store.version_token()  # read before looking: a fill another process lands meanwhile is a conflict
    empty = store.is_empty()
    report = _fill(store, given, graph, base, empty) if empty or (store.adds_in_bulk and not replace) else None
    if report is None or not report.conforms:
        report = _load(store, given, graph, replace, known=report)
    mark = _dataset_mark(store.location)
    current = mark is not None and replace and isinstance(graph, ox.DefaultGraph)
    if mark is not None and current and _fingerprint(given) == _fingerprint(dataset.default_paths()):
        mark.write_text(_fingerprint(given) + "\n", encoding="utf-8")  # the store holds the current dataset
    return report


def _load(store: Store, paths: Sequence[Path], graph: GraphName, replace: bool, known: Report | None = None) -> Report:
    """The careful path: every file parsed into quads, the delta worked out, syntax errors and results named by
    file and line. ``known`` is the fast path's report on the graph this load gives, if it got that far."""
    files = rdfio.read_files(paths)
    new = [_into(q, graph) for f in files for q in f.quads]
    delta = writes.delta_of_replace(store, graph, new) if replace else writes.delta_of_quads(store, added=new)
    # Filling an empty store validates everything at once (the start-up validation), unless these very files were
    # validated alone before in this process.
    whole = store.is_empty()
    key = _fill_key(paths, graph) if whole else None
    try:
        known = known or _FILLS.get(key or "")
        report = writes.commit(store, delta, operation="load", user=_user(), whole=whole, known=known)
    except ValidationFailed as failed:
        if isinstance(failed.report, Report):
            failed.report = _name_files(failed.report, files)
        raise
    if key is not None:
        _FILLS[key] = report
    return _name_files(report, files)


def _fill(store: Store, paths: Sequence[Path], graph: GraphName, base: str, empty: bool) -> Report | None:
    """Load the fast way when the files parse and the graph they give conforms: read straight into a scratch store,
    the Rust engine validates it there (with what the store holds already, unless ``empty``), the store takes it
    over or adds it in bulk. Where anything is wrong the careful path says what (file, line, the file stating each
    offending value): None when it must find out (or when the change is small: validating the nodes it touches
    costs less than the whole), the report when the graph does not conform."""
    if isinstance(graph, ox.BlankNode):
        return None  # refused by the careful path, in words
    ahead = _AHEAD.pop(tuple(paths), None) if empty and isinstance(graph, ox.DefaultGraph) else None
    known = ahead.result() if ahead is not None else None
    report: Report | None = None
    if known is not None:
        scratch, digest, report = known
    else:
        read = _read_scratch(paths, graph)
        if read is None:
            return None
        scratch, digest = read
    try:
        if empty:
            report = report if report is not None else _whole_verdict(scratch, digest, graph)
        elif len(scratch) - _held(store, scratch) <= writes.LARGE_CHANGE:
            return None
        else:
            scratch.bulk_extend(store.quads())  # the graph the load gives, whole, is what is validated
            report = validate_store(scratch)
    except InputError:  # (RDF 1.2 triple terms): the careful path names the file and the line
        return None
    if not empty and report.conforms:
        for quad in store.quads():  # (costs what the store holds, where copying the rest cost what is loaded)
            scratch.remove(quad)  # what is left is what the store lacks
    added = scratch
    del scratch
    if not report.conforms:
        return report  # the careful path names the files
    if len(added):
        store.fill(added, entry=writes.fill_entry(_user(), added), expected=base)
    give_memory_back()
    return _name_files(report, rdfio.read_files(paths)) if report.results else report  # warnings: which files


def _read_scratch(
    paths: Sequence[Path], graph: ox.NamedNode | ox.DefaultGraph, kept: dict[Path, bytes] | None = None
) -> tuple[ox.Store, str] | None:
    """The files read straight into a scratch store, their source graphs asserted in ``graph``, and a digest of the
    very bytes loaded (a verdict is kept under it); None when the careful path must say what is wrong. The bytes
    read go in ``kept`` too, if given."""
    scratch = ox.Store()
    read = hashlib.sha256()
    try:
        for path in paths:
            text = path.read_bytes()
            if kept is not None:
                kept[path] = text
            read.update(f"{path.resolve()}\0{len(text)}\0".encode() + text)
            scratch.bulk_load(
                text,
                format=rdfio.format_for(path),
                base_iri=path.resolve().as_uri(),
                to_graph=None if isinstance(graph, ox.DefaultGraph) else graph,
            )
            del text
    except (SyntaxError, ValueError, OSError):  # UnicodeDecodeError is a ValueError
        return None
    scratch = rdfio.assert_sources_in(scratch, graph)
    if len(scratch) == 0 or any(isinstance(g, ox.BlankNode) for g in scratch.named_graphs()):
        return None
    return scratch, read.hexdigest()


def _whole_verdict(scratch: ox.Store, digest: str, graph: ox.NamedNode | ox.DefaultGraph) -> Report:
    """The report on a scratch store filling an empty one: kept from an earlier validation of the same bytes, or
    made now (and kept)."""
    key = f"{digest} {graph} {validation.inputs_digest()}"
    report = _known_report(key)
    if report is None:
        report = validate_store(scratch)
        _remember(key, report)
    return report


class _ReadAhead:
    """A fill read and validated ahead (``read_ahead``): the scratch store, its digest and its report, or None; and
    the fingerprint of the very bytes read (``_fingerprint``), for the marks an on-disk store keeps."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._done = threading.Event()
        self._result: tuple[ox.Store, str, Report] | None = None
        kept: dict[Path, bytes] = {}
        read = _read_scratch(paths, ox.DefaultGraph(), kept)
        self.fingerprint = _fingerprint(paths, kept) if read is not None else None
        del kept
        if read is None:  # the careful path says what is wrong, in the fill
            self._done.set()
            return
        validation.turbo_shapes_graph()  # (built here: rdflib's parsing would contend with the imports)
        threading.Thread(target=self._validate, args=read, name="careerkg-read-ahead", daemon=True).start()

    def _validate(self, scratch: ox.Store, digest: str) -> None:
        try:
            self._result = scratch, digest, _whole_verdict(scratch, digest, ox.DefaultGraph())
        except InputError:
            pass  # (RDF 1.2 triple terms): the fill's careful path names the file and the line
        except BaseException as exc:  # (a panic in an engine is one): the fill does the work again, and says why
            log.warning("validating the data ahead failed (%s): the fill validates it", exc)
        finally:
            self._done.set()

    def result(self) -> tuple[ox.Store, str, Report] | None:
        self._done.wait()
        return self._result


# Fills read ahead, by the files they read (at most one: a server's). Taken by the fill of an empty store.
_AHEAD: dict[tuple[Path, ...], _ReadAhead] = {}
READ_AHEAD_MOST = 32 * 1024 * 1024  # bytes of files read ahead at most: more are read by the background fill


def read_ahead(location: str, data: Sequence[Path] = ()) -> None:
    """Start a server's fill early, if the store at ``location`` is certainly empty (memory, or an on-disk store
    not made yet): read the files now, and validate them in a thread while the caller imports and builds the app (the
    engine leaves the interpreter to it). At start-up the app's imports take about a second, the curated data's
    validation 0.6 s: they overlap. Files over READ_AHEAD_MOST bytes in all are left to the background fill, which
    reads them while the server answers /health. Nothing read ahead is kept past the next ``ensure_filled``, which
    takes it when it fills an empty store from these very files."""
    if location.startswith(("http://", "https://")):
        return
    if location != "memory":
        where = Path(location).expanduser()
        if where.exists() and (not where.is_dir() or any(where.iterdir())):
            return
    try:
        paths = rdfio.expand(list(data) or dataset.default_paths())  # (regular files only: a pipe is never read)
        if sum(path.stat().st_size for path in paths) > READ_AHEAD_MOST:
            return
    except (CareerKGError, OSError):  # the fill says what is wrong
        return
    _AHEAD.clear()
    try:
        _AHEAD[tuple(paths)] = _ReadAhead(paths)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # (a panic in an engine is one): the fill reads the files again, says what is wrong
        log.warning("reading the data ahead failed (%s): the fill reads it", exc)


def _held(store: Store, data: ox.Store) -> int:
    """How many of ``data``'s quads ``store`` holds, looked up from the smaller side (the shipped dataset's 42k
    quads in a million being loaded: 0.2 s, where a million lookups in RocksDB take 9 s)."""
    if len(store) <= len(data):
        return sum(1 for quad in store.quads() if quad in data)
    return sum(1 for quad in data if store.contains(quad))


def give_memory_back() -> None:
    """Return the heap the parser and the validator freed to the system (glibc keeps it otherwise: at a million
    triples, 730 MiB resident instead of 480)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _fill_key(paths: Sequence[Path], graph: GraphName) -> str:
    """What a fill's validation is a function of: the files and where they are (relative IRIs resolve against
    it), the shapes, the ontology, the graph they go into."""
    where = "\0".join(str(p.resolve()) for p in paths)
    return f"{_fingerprint([*paths, dataset.shapes_path(), dataset.ontology_path()])} {graph} {where}"


def _known_report(key: str) -> Report | None:
    """The report of a fill validated before: in this process, else (if it conformed) in an earlier one."""
    report = _FILLS.get(key)
    if report is None:
        try:
            report = _kept_verdict(key)
        except Exception as exc:  # whatever is wrong with a kept verdict, the fill validates
            log.info("a kept verdict could not be read (%s): validating", exc)
        if report is not None:
            _FILLS[key] = report
            log.info("these files were validated before, unchanged since: %s", _verdict_path(key))
    return report


def _kept_verdict(key: str) -> Report | None:
    """The conforming report kept for ``key``, if a file of this user's, written by this code, holds it."""
    path = _verdict_path(key)
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    with os.fdopen(handle, "rb") as kept:
        about = os.fstat(kept.fileno())
        if not stat.S_ISREG(about.st_mode) or about.st_uid != os.getuid() or about.st_mode & 0o022:
            raise ValueError(f"{path} is not a file of this user's that only this user may write")
        if about.st_size > VERDICT_MOST:
            raise ValueError(f"{path} is larger than a verdict")
        data = json.loads(kept.read(VERDICT_MOST + 1))
    wire = data["report"]
    if data["key"] != path.stem or wire["conforms"] is not True or not isinstance(wire["results"], list):
        raise ValueError(f"{path} is not a conforming verdict on these files")
    return Report.from_wire(wire)


def _remember(key: str, report: Report) -> None:
    """Keep a fill's report for this process and, if it conforms, for later ones (written whole, or not at all)."""
    _FILLS[key] = report
    if not report.conforms:
        return
    part: str | None = None
    try:
        path = _verdict_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, part = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"key": path.stem, "report": report.to_wire()}, out)
        os.replace(part, path)
    except Exception as exc:  # no verdict kept: the next start validates
        log.info("the report of this fill is not kept for the next start: %s", exc)
        if part is not None:
            with contextlib.suppress(OSError):
                os.unlink(part)


def _verdict_path(key: str) -> Path:
    digest = hashlib.sha256(key.encode() + b"\0" + _deciders())
    return platformdirs.user_cache_path("careerkg") / "verdicts" / f"{digest.hexdigest()}.json"


@functools.cache
def _deciders() -> bytes:
    """What else a verdict is a function of: the Python and the engines that judge, and every module and query of
    CareerKG (read at the first fill, once per process)."""
    digest = hashlib.sha256(f"{sys.version}\0".encode())
    for name in _DECIDERS:
        digest.update(f"{name} {importlib.metadata.version(name)}\0".encode())
    package = Path(__file__).resolve().parent
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.rq")]):
        digest.update(f"{path.relative_to(package)}\0".encode() + path.read_bytes() + b"\0")
    return digest.digest()


def _user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _into(quad: ox.Quad, graph: GraphName) -> ox.Quad:
    if isinstance(quad.graph_name, ox.DefaultGraph) and not isinstance(graph, ox.DefaultGraph):
        return ox.Quad(quad.subject, quad.predicate, quad.object, graph)
    return quad


def ensure_filled(store: Store, data: Sequence[Path] = ()) -> None:
    """Fill an empty store with the default dataset (or ``data``), validated; a full store is kept.

    With ``data``, a full store's content is replaced by it, unless the store holds exactly what an earlier start
    loaded from these very files (same fingerprint, no write since): a restart does not load and validate again.

    The marks an on-disk store keeps of what it holds (``_mark_loaded``, ``_dataset_mark``) name the bytes loaded, as
    read before the load (or ahead of it): a file changed while it was loaded leaves no mark, and the next start
    loads it again, where a mark of the changed file would vouch for content the store does not hold.
    """
    try:
        _ensure_filled(store, data)
    finally:
        _AHEAD.clear()  # (what was read ahead of other files, or of a store found full, is not kept)


def _ensure_filled(store: Store, data: Sequence[Path]) -> None:
    store.wait_for_fill()
    if not store.is_empty():
        if data:
            given = rdfio.expand(data)
            before = _fingerprint(given)
            if _loaded_mark(store) == before:
                log.info("%s already holds these %d file(s), validated: kept as it is", store.location, len(given))
                return
            log.info("replacing the content of %s with %d path(s)", store.location, len(data))
            for name in store.named_graphs():
                store.replace_graph(name, [])
            load(store, data, replace=True)
            if _unchanged(given, before):
                _mark_loaded(store, before)
        else:
            _warn_if_filled_from_another_dataset(store)
        return
    paths = list(data) or dataset.default_paths()
    given = rdfio.expand(paths)
    ahead = _AHEAD.get(tuple(given))
    before = ahead.fingerprint if ahead is not None and ahead.fingerprint is not None else _fingerprint(given)
    log.info("filling %s from %d file(s)", store.location, len(given))
    load(store, paths)
    if store.is_empty():
        log.warning("the %d file(s) hold no statements: the store is empty, and /ready says so", len(given))
    if not _unchanged(given, before):
        return
    mark = _dataset_mark(store.location)
    if mark is not None and not data:
        mark.write_text(before + "\n", encoding="utf-8")
    if data:
        _mark_loaded(store, before)


def _unchanged(files: Sequence[Path], before: str) -> bool:
    """Whether the files still hold the bytes fingerprinted ``before`` the load (a warning if not)."""
    if _fingerprint(files) == before:
        return True
    log.warning(
        "the data files changed while they were loaded: the store serves them as they were read, and the next start "
        "loads them again"
    )
    return False


def _mark_loaded(store: Store, fingerprint: str) -> None:
    """Beside an on-disk store: the fingerprint of the files it now holds exactly, with the store's version."""
    mark = beside(store.location, "loaded")
    if mark is not None:
        mark.write_text(f"{fingerprint} {store.version_token()}\n", encoding="utf-8")


def _loaded_mark(store: Store) -> str | None:
    """The fingerprint of the files an on-disk store holds exactly (None if it was written since, or never)."""
    mark = beside(store.location, "loaded")
    if mark is None or not mark.is_file():
        return None
    fingerprint, _, version = mark.read_text(encoding="utf-8").strip().partition(" ")
    return fingerprint if version == store.version_token() else None


def _dataset_mark(location: str) -> Path | None:
    """Beside an on-disk store: the fingerprint of the default dataset it was filled from."""
    return beside(location, "dataset")


def _fingerprint(paths: Sequence[Path], read: Mapping[Path, bytes] | None = None) -> str:
    """A digest of the files' names and bytes (as ``read`` already, where it has them)."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        text = read[path] if read is not None and path in read else path.read_bytes()
        digest.update(path.name.encode() + b"\0" + text + b"\0")
    return digest.hexdigest()


def _warn_if_filled_from_another_dataset(store: Store) -> None:
    """An on-disk store keeps what it was filled with; say so when the default dataset has changed since."""
    mark = _dataset_mark(store.location)
    if mark is None or not mark.is_file():
        return
    if mark.read_text(encoding="utf-8").strip() != _fingerprint(dataset.default_paths()):
        log.warning(
            "the store at %s was filled from an earlier version of the default dataset and keeps serving it "
            "(with the writes made since); to serve the current data, move the store folder away and start "
            "again, or replace its content with `careerkg load --replace --store %s` and the dataset's files",
            store.location,
            store.location,
        )
