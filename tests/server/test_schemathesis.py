"""Property-based testing of the OpenAPI document against a real server (schemathesis)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import WRITE_TOKEN, Server


def schemathesis(server: Server, *options: str, config: Path | None = None) -> str:
    """Run schemathesis on the server's OpenAPI document with every check; its output, failing if it found any."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            *(["--config-file", str(config)] if config else []),
            "run",
            server.url + "/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "25",
            "--workers",
            "1",  # hypothesis' lambda-source cache is not thread-safe on CPython 3.11
            "--seed",
            "20261128",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    tail = "\n".join(line[:300] for line in done.stdout.splitlines()[-40:])
    assert done.returncode == 0, tail
    return done.stdout


def test_schemathesis_finds_nothing(server: Server) -> None:
    """Property-based run of the OpenAPI document: no 5xx, no response breaking its schema."""
    assert " passed" in schemathesis(server)


def test_schemathesis_with_the_write_token_finds_nothing(server: Server) -> None:
    """The curator writes (PUT, PATCH, DELETE of every kind) with the token: every body the per-kind schemas allow
    is written, or refused by the shapes with 422 (tests/server/schemathesis-writes.toml says why that counts)."""
    writes = ["--include-method", "PUT", "--include-method", "PATCH", "--include-method", "DELETE"]
    output = schemathesis(
        server,
        "--header",
        f"Authorization: Bearer {WRITE_TOKEN}",
        *writes,
        config=Path(__file__).with_name("schemathesis-writes.toml"),
    )
    assert "18 passed" in output  # every write operation was reached
