"""The browser tier: Debian's chromium against a real server process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import WRITE_TOKEN, Server, start_server


@pytest.fixture(scope="module")
def writable_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per module on the in-memory store, writes allowed with WRITE_TOKEN."""
    started = start_server(
        tmp_path_factory.mktemp("server"), "--store", "memory", env={"CAREERKG_WRITE_TOKEN": WRITE_TOKEN}
    )
    yield started
    started.stop()
