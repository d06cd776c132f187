"""Helpers for the tiers that run real processes: CareerKG servers, the CLI, Oxigraph and Virtuoso servers.

Fixtures live in the conftest files; this module holds what they and the tests share.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from service.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent
WRITE_TOKEN = "test-write-token"
# The W3C SPARQL 1.1 suites: ../shared/w3c/sparql11 beside the checkout (as CI lays it out), or elsewhere.
W3C = Path(os.environ.get("CAREERKG_W3C_SUITES", ROOT.parent / "shared" / "w3c" / "sparql11"))


@dataclass
class Completed:
    """What a CLI run gave back."""

    code: int
    out: str
    err: str


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> Completed:
    """Run ``python -m service ARGS`` as a real process (in ``cwd``: a copy of the checkout, say)."""
    proc = subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        check=False,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        cwd=cwd or ROOT,
        timeout=timeout,
    )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def dump(http: requests.Session, url: str) -> set[str]:
    """Every statement of a server's dataset, as N-Triples lines, through its SPARQL endpoint."""
    response = http.post(
        url + "/sparql",
        data=b"CONSTRUCT { ?s ?p ?o } WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
        headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"},
        timeout=60,
    )
    assert response.status_code == 200, response.text[:300]
    return set(response.text.splitlines())


def strict_xfails(ids: Iterable[str], known: Mapping[str, str], **xfail: Any) -> list[Any]:
    """Test ids as parameters, the known failures among them as strict xfails with their reasons."""
    return [
        pytest.param(i, marks=pytest.mark.xfail(reason=known[i], strict=True, **xfail)) if i in known else i
        for i in ids
    ]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A real ``careerkg serve`` process."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    store_kind: str = "embedded"
    http: requests.Session = field(default_factory=requests.Session)

    def stop(self, sig: int = 15) -> None:
        """Stop the process (TERM by default, 9 for a crash), and then whatever is left of the server: a worker process
        outlives its main one killed by 9, and CI found one orphaned after a stop (the server runs in a session of its
        own, so the group is all of it)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def start_server(tmp: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True) -> Server:
    """Start ``careerkg serve`` on a free port and wait until /ready answers 200. Its temporary files go in a folder
    of the test's own: a server a test kills with SIGKILL cannot remove its state folder, which would stay in /tmp."""
    port = free_port()
    log = tmp / f"server-{port}.log"
    own = tmp / f"server-{port}-tmp"
    own.mkdir()
    with log.open("wb") as out:  # the child keeps its own handle
        proc = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TMPDIR": str(own), **(env or {})},
            cwd=ROOT,
            start_new_session=True,  # its own process group: stop() ends its workers too
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    if wait:
        deadline = time.monotonic() + 180  # a bound on a hang: a fill into Virtuoso took over 60 s on a busy host
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if requests.get(server.url + "/ready", timeout=2).status_code == 200:
                    return server
            except requests.RequestException:
                pass
            time.sleep(0.2)
        server.stop()
        raise RuntimeError(f"server did not become ready:\n{log.read_text()}")
    return server


@dataclass
class Oxigraph:
    """A real Oxigraph server process (the ``oxigraph`` package from PyPI), a remote store for CareerKG."""

    proc: subprocess.Popen[bytes]
    port: int
    location: Path

    @property
    def query_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/query"

    @property
    def update_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/update"

    def store_args(self) -> list[str]:
        """The ``careerkg`` options that use this server's default graph as the store."""
        return ["--store", self.query_url, "--update-endpoint", self.update_url]

    def dataset_args(self) -> list[str]:
        """The ``careerkg`` options for a fresh, empty CareerKG dataset of its own on this server (a shared server)."""
        return [*self.store_args(), "--store-graph", fresh_graph()]

    def open(self) -> Store:
        """A store for a fresh, empty CareerKG dataset of its own on this server."""
        return open_store(self.query_url, update_endpoint=self.update_url, graph=fresh_graph())

    def stop(self, sig: int = 15) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)

    def start(self) -> None:
        """(Re)start the server on the same port and folder, and wait until it answers."""
        self.proc = _spawn_oxigraph(self.location, self.port)
        _wait_for(f"http://127.0.0.1:{self.port}/query?query=ASK%7B%7D", self.proc)


def _spawn_oxigraph(location: Path, port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    with (location.parent / f"oxigraph-{port}.log").open("ab") as log:  # the child keeps its own handle
        return subprocess.Popen(
            [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"], stdout=log, stderr=log
        )


def _wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"oxigraph exited with {proc.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("oxigraph did not start")


def start_oxigraph(tmp: Path) -> Oxigraph:
    """A fresh, empty Oxigraph server on a free port."""
    port = free_port()
    server = Oxigraph(proc=None, port=port, location=tmp / f"oxigraph-{port}")  # type: ignore[arg-type]
    server.start()
    return server


VIRTUOSO = shutil.which("virtuoso-t")
VIRTUOSO_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")  # Debian's, the template of each test server's


@dataclass
class Virtuoso:
    """A real Virtuoso server process (Debian's virtuoso-opensource): a store whose default graph is the union
    of all its graphs, so CareerKG uses it in dataset-graph mode, one fresh dataset graph per use."""

    proc: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sparql-auth"  # queries and updates; digest authentication

    AUTH = "dba:dba"  # a fresh database's administrator

    def store_args(self) -> list[str]:
        """The ``careerkg`` options for a fresh, empty CareerKG dataset on this server."""
        return ["--store", self.url, "--store-auth", self.AUTH, "--store-graph", fresh_graph()]

    def open(self) -> Store:
        """A store for a fresh, empty CareerKG dataset on this server."""
        return open_store(self.url, auth=self.AUTH, graph=fresh_graph())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)


def fresh_graph() -> str:
    """A new dataset graph IRI: each use of a shared store server gets its own graphs."""
    return f"https://w3id.org/careerkg/test/{uuid.uuid4().hex}"


def start_virtuoso(folder: Path) -> Virtuoso:
    """A fresh Virtuoso server: Debian's configuration with its files in ``folder`` and free ports."""
    port, sql_port = free_port(), free_port()
    config = VIRTUOSO_INI.read_text().replace("/var/lib/virtuoso-opensource-7/db/", f"{folder}/")
    config = re.sub(r"(?m)^(ServerPort\s*=\s*)1111\b", rf"\g<1>{sql_port}", config)
    config = re.sub(r"(?m)^(ServerPort\s*=\s*)8890\b", rf"\g<1>{port}", config)
    config = config.replace("localhost:8890", f"localhost:{port}")
    # Debian caps results at 10,000 rows, silently: raise the cap the way docs/deployment.md advises.
    config = re.sub(r"(?m)^(ResultSetMaxRows\s*=\s*)\d+", r"\g<1>1000000", config)
    # Virtuoso rejects a query whose *estimated* time exceeds 400 s (Debian's setting); right after a large load its
    # statistics are stale and the label-index query was once estimated at 401 s and refused (error 42000). Raise
    # the limit the way docs/deployment.md advises: CareerKG's own query timeout bounds the real running time.
    config = re.sub(r"(?m)^(MaxQueryCostEstimationTime\s*=\s*)\d+", r"\g<1>36000", config)
    (folder / "virtuoso.ini").write_text(config)
    with (folder / "virtuoso.out").open("ab") as log:
        proc = subprocess.Popen(
            [str(VIRTUOSO), "+foreground", "+configfile", str(folder / "virtuoso.ini")],
            cwd=folder,
            stdout=log,
            stderr=log,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"virtuoso exited with {proc.returncode}: {(folder / 'virtuoso.out').read_text()}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/sparql", params={"query": "ASK {}"}, timeout=2).ok:
                return Virtuoso(proc, port)
        except requests.RequestException:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("virtuoso did not start")


class Listener:
    """A local TCP listener that records every connection attempt (the target of SERVICE/LOAD tricks)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join()
        self.sock.close()


# The store kinds a test can run on: the embedded store (default tiers), a dataset of its own on the session's
# Oxigraph server (remote tier) and on the session's Virtuoso server (virtuoso tier).
STORE_KINDS = [
    pytest.param("embedded"),
    pytest.param("remote", marks=pytest.mark.remote),
    pytest.param("virtuoso", marks=pytest.mark.virtuoso),
]


def store_args(kind: str, request: pytest.FixtureRequest) -> list[str]:
    """The ``careerkg`` store options for a store kind: in memory, or a fresh dataset on a shared remote server."""
    if kind == "remote":
        oxigraph: Oxigraph = request.getfixturevalue("oxigraph")
        return oxigraph.dataset_args()
    if kind == "virtuoso":
        virtuoso: Virtuoso = request.getfixturevalue("virtuoso")
        return virtuoso.store_args()
    return ["--store", "memory"]


def children(pid: int | str) -> set[int]:
    """A process's children, whichever of its threads forked them (from /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            found |= {int(c) for c in (task / "children").read_text().split()}
    return found
