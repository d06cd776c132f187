"""The app tier: the app built by ``create_app`` in this process, reached through Flask's test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.app import create_app
from service.store import EmbeddedStore
from tests.inprocess import Completed, Site, run_cli_here
from tests.support import WRITE_TOKEN


@pytest.fixture(scope="session")
def site(filled_store: Any) -> Iterator[Site]:
    """One app for the session on an in-memory copy of the default dataset, writes allowed with WRITE_TOKEN.

    Tests that write put things back (or write only what no other test looks at).
    """
    store = EmbeddedStore()
    store.add(filled_store.quads())
    built = Site(create_app({"store": "memory", "write_token": WRITE_TOKEN, "query_timeout": 10}, store=store))
    yield built
    built.close()


@pytest.fixture
def site_factory(store_copy: Callable[[], EmbeddedStore]) -> Iterator[Callable[..., Site]]:
    """Build apps with settings of the test's own, each on a fresh copy of the default dataset."""
    built: list[Site] = []

    def factory(**settings: Any) -> Site:
        config = {"store": "memory", **settings}
        one = Site(create_app(config, store=store_copy()))
        built.append(one)
        return one

    yield factory
    for one in built:
        one.close()


@pytest.fixture
def cli() -> Callable[..., Completed]:
    """The ``careerkg`` command, run in this process."""
    return run_cli_here
