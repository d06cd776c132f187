"""Writers, SPARQL readers and REST readers at once against one real server: is everything answered, does
/health stay quick, is any acknowledged write lost?

    python bench/load_mix.py [--duration 60] [--writers 8] [--sparql-readers 4] [--rest-readers 4]

Starts ``careerkg serve`` on the in-memory store (curated data), measures /health alone first (the peer: the same
server idle), then runs the mix for ``--duration`` seconds while a prober asks /health every 100 ms. Writers send
SPARQL ``INSERT DATA`` of a number each; afterwards every number acknowledged with 204 must be in the graph.
Writes bench/results/load-mix.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from tests.support import start_server  # noqa: E402

TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOOKUP = "/sparql?query=" + requests.utils.quote("SELECT ?s WHERE { ?s a <https://w3id.org/careerkg/ontology#Role> }")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rss_mib(pid: int) -> float:
    total = 0
    for p in [pid, *Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def health_alone(url: str) -> list[float]:
    """/health latencies of the idle server (the peer of the figures under load)."""
    idle = []
    for _ in range(200):
        started = time.perf_counter()
        requests.get(url + "/health", timeout=30)
        idle.append(time.perf_counter() - started)
    return idle


def stored_numbers(url: str) -> set[int]:
    """The numbers the writers' statements hold in the graph now."""
    stored = requests.post(
        url + "/sparql",
        data=b"SELECT ?n WHERE { <http://bench/w> <http://bench/n> ?n }",
        headers={"Content-Type": "application/sparql-query"},
        timeout=120,
    ).json()["results"]["bindings"]
    return {int(row["n"]["value"]) for row in stored}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the mix; what was answered, how /health fared, which writes were lost."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), "--store", "memory", env={"CAREERKG_WRITE_TOKEN": TOKEN})
        try:
            idle = health_alone(server.url)
            stop = time.monotonic() + args.duration
            lock = threading.Lock()
            statuses: dict[str, Counter[int]] = {k: Counter() for k in ("write", "sparql", "rest", "health")}
            errors: Counter[str] = Counter()
            health: list[float] = []
            acknowledged: list[int] = []

            def record(kind: str, call: object) -> requests.Response | None:
                try:
                    response = call()  # type: ignore[operator]
                except requests.RequestException as exc:
                    with lock:
                        errors[f"{kind}: {type(exc).__name__}"] += 1
                    return None
                with lock:
                    statuses[kind][response.status_code] += 1
                return response  # type: ignore[no-any-return]

            def writer(n: int) -> None:
                i = 0
                while time.monotonic() < stop:
                    number = n * 1_000_000 + i
                    body = f"INSERT DATA {{ <http://bench/w> <http://bench/n> {number} }}".encode()
                    response = record(
                        "write",
                        lambda body=body: requests.post(
                            server.url + "/sparql",
                            data=body,
                            headers={"Content-Type": "application/sparql-update", **AUTH},
                            timeout=60,
                        ),
                    )
                    if response is not None and response.status_code == 204:
                        with lock:
                            acknowledged.append(number)
                    i += 1

            def reader(kind: str, url: str) -> None:
                while time.monotonic() < stop:
                    record(kind, lambda: requests.get(url, timeout=60))

            def prober() -> None:
                while time.monotonic() < stop:
                    started = time.perf_counter()
                    if record("health", lambda: requests.get(server.url + "/health", timeout=60)) is not None:
                        with lock:
                            health.append(time.perf_counter() - started)
                    time.sleep(0.1)

            threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.writers)]
            threads += [
                threading.Thread(target=reader, args=("sparql", server.url + LOOKUP))
                for _ in range(args.sparql_readers)
            ]
            threads += [
                threading.Thread(target=reader, args=("rest", server.url + "/api/v1/roles/ai-engineer"))
                for _ in range(args.rest_readers)
            ]
            threads.append(threading.Thread(target=prober))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            found = stored_numbers(server.url)
            return {
                "statuses": statuses,
                "errors": errors,
                "health": health,
                "idle": idle,
                "acknowledged": acknowledged,
                "found": found,
                "lost": len(set(acknowledged) - found),
                "memory": rss_mib(server.proc.pid),
            }
        finally:
            server.stop()


def report(args: argparse.Namespace, m: dict[str, Any]) -> list[str]:
    """The report's lines."""
    statuses, errors, health, idle = m["statuses"], m["errors"], m["health"], m["idle"]
    acknowledged, found, lost, memory = m["acknowledged"], m["found"], m["lost"], m["memory"]

    lines = [
        "# Writers and readers together: every request answered, /health quick, no write lost",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/load_mix.py "
        f"--duration {args.duration} --writers {args.writers} --sparql-readers {args.sparql_readers} "
        f"--rest-readers {args.rest_readers}`, on {platform.machine()} with {os.cpu_count()} cores (the clients "
        "share the machine). One `careerkg serve` process on the in-memory store, curated data, default settings "
        "(8 request threads, 4 query workers).",
        "",
        "| requests | answered, by status | connection errors |",
        "|---|---|---|",
    ]
    for kind, counts in statuses.items():
        shown = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
        failed = sum(n for key, n in errors.items() if key.startswith(kind))
        lines.append(f"| {kind} | {shown} | {failed} |")
    lines += [
        "",
        f"- `/health` under the mix: p50 {statistics.median(health) * 1000:.1f} ms, p99 "
        f"{percentile(health, 0.99) * 1000:.1f} ms, max {max(health) * 1000:.1f} ms over {len(health)} probes; "
        f"idle, the same server: p50 {statistics.median(idle) * 1000:.1f} ms, p99 {percentile(idle, 0.99) * 1000:.1f}"
        f" ms (p99 ratio under load / idle: {percentile(health, 0.99) / percentile(idle, 0.99):.1f}x).",
        f"- Writes acknowledged (204): {len(acknowledged)}; found in the graph afterwards: "
        f"{len(set(acknowledged) & found)}; lost: {lost}.",
        f"- RSS of the server and its workers at the end: {memory:.0f} MiB.",
        "",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--sparql-readers", type=int, default=4)
    parser.add_argument("--rest-readers", type=int, default=4)
    args = parser.parse_args()
    measured = measure(args)
    lines = report(args, measured)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load-mix.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 1 if measured["lost"] or measured["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
