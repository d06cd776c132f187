"""The embedded store: pyoxigraph, in memory or on disk (RocksDB), with its change log.

One process owns it (the folder is locked), so its version is a counter: the number of recorded changes + 1.
An on-disk store keeps its change log beside it (``STORE.changes.jsonl``, fsync'ed after each commit).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from service.errors import QuerySyntaxError, StoreError, UpdateFailed
from service.store.base import Binding, GraphName, QueryResult, Store

log = logging.getLogger(__name__)
UNDO_HEADER = "# careerkg bulk load "  # the first line of an undo file, before its JSON header


def beside(location: str, suffix: str) -> Path | None:
    """A file beside an on-disk store (``STORE.suffix``); None for memory and remote stores."""
    if location == "memory" or location.startswith(("http://", "https://")):
        return None
    path = Path(location).expanduser()
    return path.parent / f"{path.name}.{suffix}"


class EmbeddedStore(Store):
    """A pyoxigraph store; ``path=None`` keeps everything in memory."""

    adds_in_bulk = True

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.location = str(path) if path else "memory"
        try:
            self._store = ox.Store(str(path)) if path else ox.Store()
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"the store at {path} is in use by another process "
                    "(is `careerkg serve` running? query it over HTTP, or use --store memory)"
                ) from None
            raise StoreError(f"cannot open the store at {path}: {exc}") from None
        self._log = ChangeLog(beside(self.location, "changes.jsonl"))
        if path is not None:
            self._finish_what_a_dead_process_began()

    def _finish_what_a_dead_process_began(self) -> None:
        """Undo a bulk write a process began and did not end (killed, power lost): a fill empties the store again,
        an addition removes what it had added."""
        undo = self._undo_file()
        _part(undo).unlink(missing_ok=True)  # an undo file still being written: the addition had not begun
        dead = self._filling_mark().exists() or undo.exists()
        if self._filling_mark().exists():
            log.warning("%s holds part of a bulk fill that never ended: emptied, to be filled again", self.path)
            self._store.clear()
            self._store.flush()
            self._filling_mark().unlink()
        if undo.exists():
            self._undo_addition(at_open=True)
        if dead and self.path is not None:
            for orphan in self.path.glob("bulk-*.sst"):  # the dead loader's files RocksDB had not taken in (yet)
                orphan.unlink()

    def _filling_mark(self) -> Path:
        mark = beside(self.location, "filling")
        assert mark is not None  # on disk
        return mark

    def _undo_file(self) -> Path:
        undo = beside(self.location, "adding.nq")
        assert undo is not None  # on disk
        return undo

    def query(
        self,
        sparql: str,
        *,
        bindings: Mapping[str, Binding] | None = None,
        default_graph: Sequence[GraphName] | None = None,
        named_graphs: Sequence[ox.NamedNode | ox.BlankNode] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        substitutions: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
            ox.Variable(name): value for name, value in (bindings or {}).items()
        }
        try:
            return self._store.query(
                sparql,
                base_iri=base_iri,
                default_graph=list(default_graph) if default_graph is not None else None,
                named_graphs=list(named_graphs) if named_graphs is not None else None,
                substitutions=substitutions or None,
            )
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from None

    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        try:
            self._store.update(sparql, base_iri=base_iri)
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from None
        except RuntimeError as exc:  # evaluation: a graph that does not exist, or already does
            raise UpdateFailed(str(exc)) from None

    def add(self, quads: Iterable[ox.Quad]) -> None:
        self._store.extend(quads)  # atomic

    def apply(self, added: Iterable[ox.Quad], removed: Iterable[ox.Quad]) -> None:
        self._write(list(added), list(removed), {})

    def replace_graph(self, graph: GraphName, quads: Iterable[ox.Quad]) -> None:
        self._write([], [], {graph: list(quads)})

    def _write(
        self, added: list[ox.Quad], removed: list[ox.Quad], replaces: Mapping[GraphName, Sequence[ox.Quad]]
    ) -> None:
        """One transaction: ``extend`` when only adding, else one SPARQL update (every term written by the library,
        never pasted text). SPARQL cannot name a stored blank node, so a graph in which the change touches blank
        nodes is rewritten whole in that update (its blank nodes keep their structure, under new labels)."""
        if not removed and not replaces:
            self._store.extend(added)  # blank nodes keep their identity
            return
        replaces = dict(replaces)
        gone = set(removed)
        for graph in {q.graph_name for q in [*added, *removed] if _has_blank(q)} - set(replaces):
            kept = [q for q in self.quads(graph) if q not in gone]
            replaces[graph] = kept + [q for q in added if q.graph_name == graph]
        operations = []
        for graph, content in replaces.items():
            target = "DEFAULT" if isinstance(graph, ox.DefaultGraph) else f"GRAPH {graph}"
            operations.append(f"CLEAR SILENT {target}")
            if content:
                placed = (ox.Quad(q.subject, q.predicate, q.object, graph) for q in content)
                operations.append(f"INSERT DATA {{ {_quad_data(placed)} }}")
        kept_removed = [q for q in removed if q.graph_name not in replaces]
        kept_added = [q for q in added if q.graph_name not in replaces]
        if kept_removed:
            operations.append(f"DELETE DATA {{ {_quad_data(kept_removed)} }}")
        if kept_added:
            operations.append(f"INSERT DATA {{ {_quad_data(kept_added)} }}")
        if operations:
            self._store.update(" ;\n".join(operations))

    def quads(self, graph: GraphName | None = None) -> Iterator[ox.Quad]:
        return iter(self._store.quads_for_pattern(None, None, None, graph))

    def quads_of(
        self,
        subject: ox.NamedNode | ox.BlankNode | None = None,
        obj: ox.NamedNode | ox.BlankNode | None = None,
        predicate: ox.NamedNode | None = None,
    ) -> Iterator[ox.Quad]:
        return iter(self._store.quads_for_pattern(subject, predicate, obj, None))

    def contains(self, quad: ox.Quad) -> bool:
        return (
            next(iter(self._store.quads_for_pattern(quad.subject, quad.predicate, quad.object, quad.graph_name)), None)
            is not None
        )

    def named_graphs(self) -> list[ox.NamedNode | ox.BlankNode]:
        return [g for g in self._store.named_graphs() if next(self.quads(g), None) is not None]

    def __len__(self) -> int:
        return len(self._store)

    # --- versions and the change log ---------------------------------------------------------------

    def version_token(self) -> str:
        return str(len(self._log) + 1)

    def commit(
        self,
        added: Iterable[ox.Quad],
        removed: Iterable[ox.Quad],
        *,
        expected: str | None,
        entry: Mapping[str, Any],
        replaces: Mapping[GraphName, Sequence[ox.Quad]] | None = None,
    ) -> str:
        # One process writes this store, under the caller's write lock: the version cannot have moved.
        self._write(list(added), list(removed), replaces or {})
        self._log.record(entry)
        return self.version_token()

    def fill(self, data: ox.Store, *, entry: Mapping[str, Any], expected: str | None) -> str:
        # One process writes this store, under the caller's write lock: ``expected`` cannot have moved.
        if self.path is None:
            if self.is_empty():
                self._store = data  # a store in memory takes the filled one over: a million triples are not copied
            else:
                self._store.extend(data)  # one transaction
        elif not self.is_empty():
            return self._add_in_bulk(data, entry)
        else:
            # RocksDB's bulk loader: 8 s for a million quads where one transaction takes 34 s. It is not
            # transactional: if it fails the store is emptied again, and if the process dies meanwhile the mark
            # left beside the store has the next open empty it (see __init__).
            mark = self._filling_mark()
            mark.write_text("a bulk fill began and has not ended\n", encoding="utf-8")
            try:
                self._store.bulk_extend(data)
                self._store.flush()
            except BaseException:
                self._store.clear()
                raise
            mark.unlink()
        self._log.record(entry)
        return self.version_token()

    def _add_in_bulk(self, data: ox.Store, entry: Mapping[str, Any]) -> str:
        """Add quads this store does not hold with RocksDB's bulk loader (a million in 9 s, where one transaction
        takes 34 s), all or nothing, with its log entry: the quads are first written to an undo file beside the
        store (with the number of log entries before and the named graphs the addition creates), synced, and
        renamed into place; the undo file goes once the entry is recorded. If the process dies between, the next
        open removes the quads and the new graphs again, unless the entry was recorded (then the addition is whole).
        """
        undo = self._undo_file()
        if undo.exists():
            raise StoreError(f"{undo} is left from an addition that could not be undone: open the store again first")
        new_graphs = [g.value for g in data.named_graphs() if not self._store.contains_named_graph(g)]
        header = {"entries_before": len(self._log), "new_graphs": new_graphs}
        part = _part(undo)
        with part.open("wb") as out:
            out.write(f"{UNDO_HEADER}{json.dumps(header)}\n".encode())
            ox.serialize(data, output=out, format=ox.RdfFormat.N_QUADS)
            out.flush()
            os.fsync(out.fileno())
        part.replace(undo)  # the addition begins once the whole undo file is there
        _sync_folder(undo.parent)
        try:
            self._store.bulk_extend(data)
            self._store.flush()
        except BaseException:
            self._undo_addition()
            raise
        self._log.record(entry)  # the addition is whole from here (fsync'ed)
        undo.unlink()
        _sync_folder(undo.parent)
        return self.version_token()

    def _undo_addition(self, *, at_open: bool = False) -> None:
        """Remove what the addition in the undo file added (its quads, the named graphs it created), unless its log
        entry was recorded; then drop the undo file."""
        undo = self._undo_file()
        try:
            with undo.open("rb") as lines:
                first = lines.readline().decode()
            if not first.startswith(UNDO_HEADER):
                raise ValueError("no header")
            header = json.loads(first[len(UNDO_HEADER) :])
            if len(self._log) > header["entries_before"]:
                log.info("%s: the last bulk load had ended, its undo file is dropped", self.path)
            else:
                if at_open:
                    log.warning("%s holds part of a bulk load that never ended: what it added is removed", self.path)
                for quad in ox.parse(path=str(undo), format=ox.RdfFormat.N_QUADS):  # blank nodes keep their labels
                    self._store.remove(quad)
                for graph in header["new_graphs"]:
                    self._store.remove_graph(ox.NamedNode(graph))
                self._store.flush()
        except (OSError, ValueError, SyntaxError, KeyError, TypeError) as exc:
            raise StoreError(f"cannot undo the unfinished bulk load recorded in {undo}: {exc}") from None
        undo.unlink()
        _sync_folder(undo.parent)

    def change_entries(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        return self._log.page(offset, limit)

    def close(self) -> None:
        if self.path is not None:
            self._store.flush()
        del self._store


def _part(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place."""
    return path.with_name(path.name + ".part")


def _sync_folder(folder: Path) -> None:
    """Make a rename or removal in ``folder`` durable."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


class ChangeLog:
    """Who changed what, when: a JSON-lines file beside an on-disk store (fsync'ed), or a list in memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        if path is not None and path.exists():
            good = 0  # bytes up to the end of the last whole entry
            with path.open("rb") as lines:
                for line in lines:
                    try:
                        if line.strip():
                            self._entries.append(json.loads(line))
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        break  # a torn last line after a crash: the entries before it are what counts
                    if not line.endswith(b"\n"):
                        break
                    good += len(line)
            if good < path.stat().st_size:  # cut the torn end, so the next entry starts on a line of its own
                with path.open("r+b") as out:
                    out.truncate(good)

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, entry: Mapping[str, Any]) -> None:
        """Append one entry (numbered, timed) and make it durable."""
        with self._lock:
            full = {"id": len(self._entries) + 1, "at": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(full) + "\n")
                    out.flush()
                    os.fsync(out.fileno())
            self._entries.append(full)

    def page(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Entries newest first."""
        with self._lock:
            newest = list(reversed(self._entries))
        return newest[offset : offset + limit], len(newest)


def _has_blank(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


def _quad_data(quads: Iterable[ox.Quad]) -> str:
    """Quads as SPARQL QuadData, each term written by pyoxigraph: a named-graph quad becomes GRAPH <g> { s p o }."""
    parts = []
    for quad in quads:
        triple = f"{quad.subject} {quad.predicate} {quad.object} ."
        parts.append(
            triple if isinstance(quad.graph_name, ox.DefaultGraph) else f"GRAPH {quad.graph_name} {{ {triple} }}"
        )
    return "\n".join(parts)
