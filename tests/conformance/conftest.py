"""The conformance tier: the W3C SPARQL 1.1 suites over HTTP against real servers.

Each module runs on the embedded store and on a remote Oxigraph server of its own (plain mode: CareerKG's
default graph is the server's); a module may add Virtuoso (``STORES_HERE``). Virtuoso's own query engine is
measured by ``tests/conformance/report.py``, not here: its answers are Virtuoso's, not CareerKG's.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service import dataset
from tests.support import WRITE_TOKEN, Oxigraph, Server, start_oxigraph, start_server

DEFAULT_KINDS = [pytest.param("embedded"), pytest.param("remote", marks=pytest.mark.remote)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "writable_server" in metafunc.fixturenames:
        kinds = getattr(metafunc.module, "STORES_HERE", DEFAULT_KINDS)
        metafunc.parametrize("writable_server", kinds, indirect=True, scope="module")


@pytest.fixture(scope="module")
def writable_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per module and store kind: default dataset, writes allowed with WRITE_TOKEN.

    ``remote``: CareerKG in front of an Oxigraph server of the module's own, filled when CareerKG starts.
    ``virtuoso``: the same on a fresh dataset graph of the session's Virtuoso server.
    """
    kind: str = request.param
    tmp = tmp_path_factory.mktemp(f"server-{kind}")
    remote: Oxigraph | None = None
    if kind == "remote":
        remote = start_oxigraph(tmp)
        store = remote.store_args()
    elif kind == "virtuoso":
        store = request.getfixturevalue("virtuoso").store_args()
    else:
        store = ["--store", "memory"]
    # The suites bring their own data (each test empties the store first): the server starts with the ontology only.
    ontology = str(dataset.ontology_path())
    server = start_server(
        tmp, *store, "--data", ontology, env={"CAREERKG_WRITE_TOKEN": WRITE_TOKEN, "CAREERKG_QUERY_TIMEOUT": "10"}
    )
    server.store_kind = kind
    yield server
    server.stop()
    if remote is not None:
        remote.stop()
