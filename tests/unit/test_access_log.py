"""The access log's handler: request threads queue their line and go on, even when stdout is stuck."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from service import server


class StuckStream:
    """A stream whose writes wait until it is let go (a log collector that stopped reading)."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.go.wait(10)
        self.lines.append(text)

    def flush(self) -> None:
        pass


def test_lines_queue_up_to_the_backlog_and_requests_never_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "ACCESS_LOG_BACKLOG", 5)
    stream = StuckStream()
    handler = server.access_handler(stream)
    logger = logging.Logger("access-test")
    logger.addHandler(handler)
    started = time.monotonic()
    for n in range(50):
        logger.info("GET /line-%d", n)
    assert time.monotonic() - started < 2  # no request thread waited for the stuck stream
    stream.go.set()
    deadline = time.monotonic() + 10
    while len(stream.lines) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    written = [line for line in "".join(stream.lines).splitlines() if line]
    assert written[0] == "GET /line-0"
    assert 5 <= len(written) <= 6  # the backlog (and the line being written when the stream stuck); the rest dropped
    assert written == [f"GET /line-{n}" for n in range(len(written))]  # in order
