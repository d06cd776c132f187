"""What a remote store costs: the same routes on the embedded store and in front of an Oxigraph server.

    python bench/remote_store.py [--duration 8] [--connections 8]

Needs Debian's ``wrk`` and the ``oxigraph`` server (test extra). Starts, on the curated data, one
``careerkg serve`` on the embedded in-memory store, an Oxigraph server, and ``careerkg serve`` in front
of it with one and with two server worker processes; measures a REST role detail, a SPARQL lookup and
/health on each with wrk, and the Oxigraph server's own answer to the same SPARQL lookup.
Writes bench/results/remote-store.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from rest_latency import wrk as measure
from scale import wait

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
LOOKUP = (
    "SELECT ?label WHERE { <https://w3id.org/careerkg/id/role/data-scientist> "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?label }"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ckg-remote-"))
    procs: list[subprocess.Popen[bytes]] = []

    def start(cmd: list[str], name: str) -> subprocess.Popen[bytes]:
        with (work / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        procs.append(proc)
        return proc

    query = "query=" + urllib.parse.quote(LOOKUP)
    results: dict[str, dict[str, float]] = {}
    try:
        ox = start([str(BIN / "oxigraph"), "serve", "--location", str(work / "ox"), "--bind", "127.0.0.1:18301"], "ox")
        wait("http://127.0.0.1:18301/query?query=ASK%7B%7D", ox)
        remote = ["--store", "http://127.0.0.1:18301/query", "--update-endpoint", "http://127.0.0.1:18301/update"]
        setups = {
            "embedded": (18302, ["--store", "memory"]),
            "remote, 1 worker": (18303, remote),
            "remote, 2 workers": (18304, [*remote, "--workers", "2"]),
        }
        for name, (port, store) in setups.items():
            proc = start([str(BIN / "careerkg"), "serve", "--port", str(port), *store], name.replace(" ", ""))
            wait(f"http://127.0.0.1:{port}/ready", proc)
            base = f"http://127.0.0.1:{port}"
            results[f"{name}: role detail"] = measure(
                base + "/api/v1/roles/data-scientist", args.connections, args.duration
            )
            results[f"{name}: SPARQL lookup"] = measure(f"{base}/sparql?{query}", args.connections, args.duration)
            results[f"{name}: /health"] = measure(base + "/health", args.connections, args.duration)
            print(name, {k: v for k, v in results.items() if k.startswith(name)}, file=sys.stderr)
        results["Oxigraph server itself: SPARQL lookup"] = measure(
            f"http://127.0.0.1:18301/query?{query}", args.connections, args.duration
        )
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)
    RESULTS.mkdir(parents=True, exist_ok=True)
    embedded = {k.split(": ", 1)[1]: v["rps"] for k, v in results.items() if k.startswith("embedded")}
    lines = [
        "# The embedded store and a remote Oxigraph server, same routes",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/remote_store.py "
        f"--duration {args.duration} --connections {args.connections}`, on {platform.machine()} with "
        f"{os.cpu_count()} cores; wrk, the servers and Oxigraph share the machine. Curated data.",
        "",
        "| setup: route | p50 (ms) | p99 (ms) | req/s | req/s vs embedded |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        route = name.split(": ", 1)[1]
        ratio = f"{r['rps'] / embedded[route]:.2f}x" if route in embedded else ""
        lines.append(f"| {name} | {r['50%']:.1f} | {r['99%']:.1f} | {r['rps']:.0f} | {ratio} |")
    (RESULTS / "remote-store.md").write_text("\n".join(lines) + "\n")
    print((RESULTS / "remote-store.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
