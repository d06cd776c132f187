"""SPARQL throughput of CareerKG's /sparql beside the Oxigraph server and rdflib-endpoint, like against like.

    python bench/sparql_throughput.py [--duration 8] [--connections 8] [--generated 10000]

Needs ``pip install -e '.[bench]'`` (oxigraph, rdflib-endpoint) and Debian's ``wrk``. All three servers
serve the same data (the curated dataset plus generated data) on 127.0.0.1: CareerKG and the Oxigraph server
in memory (with rdflib-endpoint, in memory too), then both on disk. Each query is checked to give the same
number of rows everywhere before it is timed. Writes bench/results/sparql-throughput.md, .json and .png (requests
per second and latency percentiles per system; the plot needs matplotlib, in the bench extra).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "bench"))

from rest_latency import percentiles  # noqa: E402

QUERIES = {
    "lookup": """PREFIX ckg: <https://w3id.org/careerkg/ontology#>
SELECT ?skill WHERE { <https://w3id.org/careerkg/id/role/ai-engineer> ckg:essentialSkill ?skill }""",
    "join": """PREFIX ckg: <https://w3id.org/careerkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?roleLabel ?skillLabel WHERE {
  ?role a ckg:Role ; rdfs:label ?roleLabel ; ckg:essentialSkill ?skill .
  ?skill rdfs:label ?skillLabel .
  FILTER (lang(?roleLabel) = "en")
} ORDER BY ?roleLabel ?skillLabel""",
    "aggregate": """PREFIX ckg: <https://w3id.org/careerkg/ontology#>
SELECT ?industry (COUNT(DISTINCT ?role) AS ?roles) WHERE {
  ?role ckg:inIndustry ?industry ; ckg:essentialSkill ?skill .
} GROUP BY ?industry ORDER BY DESC(?roles) ?industry""",
}


# name -> (path of the SPARQL endpoint, description)
SYSTEMS = {
    "careerkg-memory": ("/sparql", "CareerKG, in-memory store"),
    "oxigraph-memory": ("/query", "Oxigraph server, in memory"),
    "rdflib-endpoint": ("/", "rdflib-endpoint (in memory)"),
    "careerkg-disk": ("/sparql", "CareerKG, on-disk store"),
    "oxigraph-disk": ("/query", "Oxigraph server, on disk"),
}
# Servers measured side by side: like against like.
PAIRINGS = [("careerkg-memory", "oxigraph-memory", "rdflib-endpoint"), ("careerkg-disk", "oxigraph-disk")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(cmd: list[str], ready_url: str, log: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited:\n{log.read_text()[-2000:]}")
            try:
                if requests.get(ready_url, timeout=2).status_code < 500:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"{cmd[0]} did not start:\n{log.read_text()[-2000:]}")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def rows(url: str, query: str) -> int:
    response = requests.get(
        url, params={"query": query}, headers={"Accept": "application/sparql-results+json"}, timeout=60
    )
    response.raise_for_status()
    return len(response.json()["results"]["bindings"])


def wrk(url: str, query: str, duration: int, connections: int) -> dict[str, float]:
    """Requests per second ("rps") and latency percentiles in ms ("50%", "90%", "99%") of one query under wrk."""
    target = f"{url}?{urllib.parse.urlencode({'query': query})}" if query else url
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",  # wrk's own 2 s would drop rdflib-endpoint's joins from the latencies (it counted none)
            "60s",
            "-H",
            "Accept: application/sparql-results+json",
            target,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed requests\n{out}")
    timeouts = re.search(r"timeout (\d+)", out)
    if timeouts and int(timeouts.group(1)):
        raise RuntimeError(f"{url}: {timeouts.group(1)} requests got no answer within wrk's timeout\n{out}")
    return percentiles(out)


def _rate(rps: float) -> str:
    """Requests per second as a table shows them: whole numbers, with a decimal below 10 (0.5 is not 0)."""
    return f"{rps:.0f}" if rps >= 10 else f"{rps:.1f}"


def write_report(
    args: argparse.Namespace,
    triples: int,
    counts: dict[str, int],
    results: dict[str, dict[str, dict[str, float]]],
    ceilings: dict[str, dict[str, float]],
) -> None:
    """bench/results/sparql-throughput.md, .json and .png."""
    RESULTS.mkdir(parents=True, exist_ok=True)

    def rps(qname: str, name: str) -> float:
        return results[qname][name]["rps"]

    lines = [
        "# SPARQL throughput: CareerKG /sparql beside the Oxigraph server and rdflib-endpoint",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/sparql_throughput.py "
        f"--duration {args.duration} --connections {args.connections} --generated {args.generated}`, "
        f"on {platform.machine()} with {os.cpu_count()} cores (load generator included: wrk, 2 threads, "
        f"{args.connections} connections, GET with Accept: application/sparql-results+json).",
        f"Same data everywhere: {triples} triples (curated dataset + generated). Figures are requests per second "
        "and latency percentiles; the machine is shared and noisy, so compare the ratios, measured in the same run.",
        "",
        "In memory, each of the three holding the data in RAM (CareerKG `--store memory`, `oxigraph serve` without "
        "a location, rdflib-endpoint):",
        "",
        "| query | rows | CareerKG | Oxigraph server | rdflib-endpoint | CareerKG / Oxigraph | CareerKG / rdflib-endpoint |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for qname in results:
        ours, oxi, rdfl = (rps(qname, n) for n in ("careerkg-memory", "oxigraph-memory", "rdflib-endpoint"))
        lines.append(
            f"| {qname} | {counts[qname]} | {_rate(ours)} | {_rate(oxi)} | {_rate(rdfl)} | {ours / oxi:.2f}x "
            f"| {ours / rdfl:.1f}x |"
        )
    lines += [
        "",
        "On disk (CareerKG `--store DIR`, `oxigraph serve-read-only --location DIR`, both RocksDB):",
        "",
        "| query | CareerKG | Oxigraph server | CareerKG / Oxigraph |",
        "|---|---:|---:|---:|",
    ]
    for qname in results:
        ours, oxi = rps(qname, "careerkg-disk"), rps(qname, "oxigraph-disk")
        lines.append(f"| {qname} | {ours:.0f} | {oxi:.0f} | {ours / oxi:.2f}x |")
    lines += [
        "",
        "Latency under the same load, p50 / p99 in ms:",
        "",
        "| query | " + " | ".join(SYSTEMS[name][1] for name in SYSTEMS) + " |",
        "|---|" + "---:|" * len(SYSTEMS),
    ]
    for qname, by_server in results.items():
        cells = [f"{by_server[name]['50%']:.1f} / {by_server[name]['99%']:.1f}" for name in SYSTEMS]
        lines.append(f"| {qname} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "![requests per second and latency per system](sparql-throughput.png)",
        "",
        f"For context, in the same run CareerKG answered `/health` (granian + Flask, no store) at "
        f"{ceilings['careerkg-memory']['rps']:.0f} req/s (in memory) and {ceilings['careerkg-disk']['rps']:.0f} "
        "req/s (on disk): for tiny queries the Python HTTP stack, not the query engine, sets the pace, and that "
        f"stack alone answers at {ceilings['careerkg-memory']['rps'] / rps('lookup', 'oxigraph-memory'):.2f}x the "
        "Oxigraph server's lookups. CareerKG evaluates each query in a killable worker process (so a runaway "
        "query's CPU can be freed at the timeout), which costs a fraction of a millisecond per query.",
        "",
        "Queries:",
        "",
    ]
    for qname, query in QUERIES.items():
        lines += [f"- **{qname}**", "", "```sparql", query, "```", ""]
    (RESULTS / "sparql-throughput.md").write_text("\n".join(lines))
    summary = {"triples": triples, "rows": counts, "wrk": results, "health": ceilings}
    (RESULTS / "sparql-throughput.json").write_text(json.dumps(summary, indent=2))
    plot(results, RESULTS / "sparql-throughput.png")
    print((RESULTS / "sparql-throughput.md").read_text())


def plot(results: dict[str, dict[str, dict[str, float]]], out: Path) -> None:
    """Requests per second, and p50 and p99 latency, per query and system (log scales)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    queries = list(results)
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    width = 0.8 / len(SYSTEMS)
    for axis, (key, title) in zip(
        axes, [("rps", "requests/s"), ("50%", "p50 latency (ms)"), ("99%", "p99 latency (ms)")], strict=True
    ):
        for i, (name, (_, label)) in enumerate(SYSTEMS.items()):
            axis.bar(
                [q + i * width for q in range(len(queries))],
                [results[qname][name][key] for qname in queries],
                width,
                label=label,
            )
        axis.set_xticks([q + 0.4 - width / 2 for q in range(len(queries))], queries)
        axis.set_yscale("log")
        axis.set_title(title)
        axis.grid(True, axis="y", which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle("SPARQL over HTTP: CareerKG beside the Oxigraph server and rdflib-endpoint, same data and load")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--generated", type=int, default=10000, help="generated triples added to the curated data")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="ckg-bench-"))
    generated = work / "generated.nt"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "generate.py"),
            "--triples",
            str(args.generated),
            "--out",
            str(generated),
        ],
        check=True,
    )
    curated = work / "curated.nt"
    subprocess.run(
        [str(BIN / "careerkg"), "export", "--store", "memory", "--format", "nt", "-o", str(curated)], check=True
    )
    everything = work / "all.nt"
    everything.write_bytes(curated.read_bytes() + generated.read_bytes())
    triples = sum(1 for _ in everything.open("rb"))

    subprocess.run(
        [str(BIN / "oxigraph"), "load", "--location", str(work / "oxigraph"), "--file", str(everything)],
        check=True,
        capture_output=True,
    )
    ports = {name: free_port() for name in SYSTEMS}
    endpoints = {name: f"http://127.0.0.1:{ports[name]}{path}" for name, (path, _) in SYSTEMS.items()}
    data = str(everything)
    commands = {
        "careerkg-memory": [str(BIN / "careerkg"), "serve", "--store", "memory", "--data", data],
        "oxigraph-memory": [str(BIN / "oxigraph"), "serve"],  # no location: in memory; filled over HTTP below
        "rdflib-endpoint": [str(BIN / "rdflib-endpoint"), "serve", data, "--host", "127.0.0.1"],
        "careerkg-disk": [str(BIN / "careerkg"), "serve", "--store", str(work / "careerkg-store"), "--data", data],
        "oxigraph-disk": [str(BIN / "oxigraph"), "serve-read-only", "--location", str(work / "oxigraph")],
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    counts: dict[str, int] = {}
    ceilings: dict[str, dict[str, float]] = {}
    for pairing in PAIRINGS:
        with ExitStack() as running:
            for name in pairing:
                port = ports[name]
                cmd = [*commands[name], *(("--port", str(port)) if name.startswith(("careerkg", "rdflib")) else ())]
                if name.startswith("oxigraph"):
                    cmd += ["--bind", f"127.0.0.1:{port}"]
                ready = endpoints[name] + ("" if name.startswith("careerkg") else "?query=ASK%7B%7D")
                ready = ready.replace("/sparql", "/ready") if name.startswith("careerkg") else ready
                running.enter_context(process(cmd, ready, work / f"{name}.log"))
                if name == "oxigraph-memory":
                    fill = requests.post(
                        f"http://127.0.0.1:{port}/store?default",
                        data=everything.read_bytes(),
                        headers={"Content-Type": "application/n-triples"},
                        timeout=600,
                    )
                    fill.raise_for_status()
                if name.startswith("careerkg"):  # the Python HTTP stack alone (granian + Flask), for context
                    ceilings[name] = wrk(f"http://127.0.0.1:{port}/health", "", args.duration, args.connections)
            for qname, query in QUERIES.items():
                seen = {name: rows(endpoints[name], query) for name in pairing}
                if len(set(seen.values())) != 1:
                    raise RuntimeError(f"{qname}: the servers disagree on the number of rows: {seen}")
                counts[qname] = next(iter(seen.values()))
                for name in pairing:
                    results.setdefault(qname, {})[name] = wrk(endpoints[name], query, args.duration, args.connections)
                    print(f"{qname:10} {name:16} {results[qname][name]['rps']:10.1f} req/s", file=sys.stderr)

    write_report(args, triples, counts, results, ceilings)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
