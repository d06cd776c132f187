"""Fixtures shared by every tier, and the tiers themselves: a test's folder under tests/ is its marker.

``pytest`` alone runs unit, app and contract tests on the embedded store (pyproject's ``addopts``);
``pytest -m ''`` runs every tier. See the README's Development section.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service import dataset
from service.loading import ensure_filled
from service.store import EmbeddedStore, Store
from tests.support import (
    VIRTUOSO,
    VIRTUOSO_INI,
    W3C,
    Oxigraph,
    Server,
    Virtuoso,
    start_oxigraph,
    start_server,
    start_virtuoso,
)

TIERS = ("unit", "app", "contract", "conformance", "server", "browser", "remote", "virtuoso")
HERE = Path(__file__).resolve().parent

if not (W3C / "manifest-all.ttl").exists():
    raise pytest.UsageError(f"the W3C SPARQL 1.1 test suites are not at {W3C}; set CAREERKG_W3C_SUITES")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier, the folder it lives in (tests/unit/... is ``unit``)."""
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(HERE).parts
        if len(parts) < 2 or parts[0] not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: every test lives in a tier folder ({', '.join(TIERS)})")
        item.add_marker(parts[0])


_CACHE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Never touch the user's own cache: the verdicts of fills (service.loading) go to a folder of this process's
    own, set before any fixture fills a store, and inherited by the servers and commands the tests start."""
    os.environ["XDG_CACHE_HOME"] = config.stash[_CACHE] = tempfile.mkdtemp(prefix="careerkg-test-cache-")
    _refuse_pytest_without_groups(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _CACHE in config.stash:
        shutil.rmtree(config.stash[_CACHE], ignore_errors=True)


def _refuse_pytest_without_groups(config: pytest.Config) -> None:
    """Refuse to run where --dist loadgroup cannot group (pytest-dev/pytest-xdist#1386: from pytest 9.2 xdist's
    group is dropped without a word): tests that share a costly computation per process (a full pySHACL validation,
    a fill) would each pay for it, and the fast tier would take far longer."""
    if config.getoption("dist", "no") == "loadgroup" and pytest.version_tuple >= (9, 2):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} drops pytest-xdist's xdist_group marks (pytest-dev/pytest-xdist#1386):"
            " install the pytest version pyproject.toml names"
        )


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's own store: the default store lives in a temporary folder."""
    monkeypatch.setenv("CAREERKG_STORE", str(tmp_path_factory.mktemp("default-store") / "store"))


@pytest.fixture(scope="session")
def filled_store() -> Store:
    """An in-memory store holding the default dataset (read-only use)."""
    store = EmbeddedStore()
    ensure_filled(store)
    return store


@pytest.fixture
def store_copy(filled_store: Store) -> Callable[[], EmbeddedStore]:
    """Make in-memory copies of the filled store (to write to, or to serve from a new app)."""

    def copy() -> EmbeddedStore:
        store = EmbeddedStore()
        store.add(filled_store.quads())
        return store

    return copy


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of ontology/ and data/ (for tests that break the data)."""
    target = tmp_path / "dataset"
    shutil.copytree(dataset.data_dir(), target / "data")
    shutil.copytree(dataset.ontology_path().parent, target / "ontology")
    return target


# --- real processes (server, remote, virtuoso, browser and conformance tiers) --------------------------------


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start real ``careerkg serve`` processes; all are stopped after the test."""
    started: list[Server] = []

    def factory(*args: str, env: dict[str, str] | None = None, wait: bool = True) -> Server:
        server = start_server(tmp_path, *args, env=env, wait=wait)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Oxigraph]:
    """One Oxigraph server for the session; each use takes a dataset of its own on it (``dataset_args``)."""
    server = start_oxigraph(tmp_path_factory.mktemp("oxigraph"))
    yield server
    server.stop()


@pytest.fixture
def oxigraph_factory(tmp_path: Path) -> Iterator[Callable[[], Oxigraph]]:
    """Start Oxigraph servers of the test's own (to stop, restart or fill from empty); stopped after the test."""
    started: list[Oxigraph] = []

    def factory() -> Oxigraph:
        server = start_oxigraph(tmp_path)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """One Virtuoso server for the session; every use takes a fresh dataset graph on it."""
    if not VIRTUOSO or not VIRTUOSO_INI.exists():
        pytest.skip("Virtuoso: not run, the Debian package virtuoso-opensource is not installed (.ci/run installs it)")
    server = start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    yield server
    server.stop()
