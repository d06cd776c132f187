"""REST latency at 16 concurrent clients on a large generated graph, beside the server's own /health.

    python bench/rest_latency.py [--triples 1000000] [--duration 10] [--connections 16]

Needs Debian's ``wrk``. Serves the ontology plus generated data (bench/generate.py) from a real
``careerkg serve`` process, warms the label index, then measures a role detail, a comparison of two
roles, and /health (the floor of the HTTP stack) with wrk, reporting p50/p90/p99.
Writes bench/results/rest-latency.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"


def percentiles(output: str) -> dict[str, float]:
    found = {}
    for name in ("50%", "90%", "99%"):
        match = re.search(rf"^\s+{re.escape(name)}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if match is None:
            raise RuntimeError(output)
        value, unit = float(match.group(1)), match.group(2)
        found[name] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    found["rps"] = float(rate.group(1)) if rate else 0.0
    if "Non-2xx" in output:
        raise RuntimeError(output)
    return found


def wrk(url: str, connections: int, duration: int) -> dict[str, float]:
    """Latency percentiles and throughput of one URL under wrk (the URL must answer 200 first)."""
    assert requests.get(url, timeout=60).status_code == 200, url
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return percentiles(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ckg-rest-"))
    data = work / "generated.nt"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), "--triples", str(args.triples), "--out", str(data)],
        check=True,
    )
    port = 18123
    started = time.monotonic()
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [
            str(BIN / "careerkg"),
            "serve",
            "--store",
            "memory",
            "--port",
            str(port),
            "--data",
            str(ROOT / "ontology" / "careerkg.ttl"),
            str(data),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError((work / "server.log").read_text()[-2000:])
            try:
                if requests.get(base + "/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        ready = time.monotonic() - started
        started = time.monotonic()
        roles = requests.get(base + "/api/v1/roles?limit=1", timeout=600).json()["total"]
        index = time.monotonic() - started
        targets = {
            "role detail": f"{base}/api/v1/roles/generated-{roles // 2}",
            "compare two roles": f"{base}/api/v1/compare?roles=generated-{roles // 3},generated-{roles // 3 + 1}",
            "/health (floor)": f"{base}/health",
        }
        results = {}
        for name, url in targets.items():
            results[name] = wrk(url, args.connections, args.duration)
            print(name, results[name], file=sys.stderr)
        # wrk repeats one URL, which the answer cache then serves: the first answer for each role costs more.
        firsts = []
        for n in range(1, min(roles, 300)):
            started = time.perf_counter()
            requests.get(f"{base}/api/v1/roles/generated-{n}", timeout=60).raise_for_status()
            firsts.append((time.perf_counter() - started) * 1000)
        firsts.sort()
    finally:
        server.terminate()
        server.wait(timeout=30)
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [
        "# REST latency on a large generated graph",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/rest_latency.py --triples {args.triples} "
        f"--duration {args.duration} --connections {args.connections}`, on {platform.machine()} with {os.cpu_count()} cores "
        "(wrk on the same machine). One `careerkg serve` process, in-memory store.",
        f"Start-up with {args.triples} generated triples (load and full validation): {ready:.0f} s; "
        f"first REST request (builds the label index): {index:.1f} s; {roles} roles.",
        "",
        "| route | p50 (ms) | p90 (ms) | p99 (ms) | req/s | p99 / floor p99 |",
        "|---|---|---|---|---|---|",
    ]
    floor = results["/health (floor)"]["99%"]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['50%']:.1f} | {r['90%']:.1f} | {r['99%']:.1f} | {r['rps']:.0f} | {r['99%'] / floor:.1f}x |"
        )
    lines += [
        "",
        "wrk asks for one URL again and again, so after the first request the encoded-answer cache serves it. The "
        f"first answer for a role is computed: over {len(firsts)} different roles asked one after the other, "
        f"p50 {firsts[len(firsts) // 2]:.1f} ms, p99 {firsts[int(0.99 * (len(firsts) - 1))]:.1f} ms.",
    ]
    (RESULTS / "rest-latency.md").write_text("\n".join(lines) + "\n")
    print((RESULTS / "rest-latency.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
