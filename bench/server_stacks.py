"""The same CareerKG app under granian (what `careerkg serve` runs) and under gunicorn (gthread), side by side.

    python bench/server_stacks.py [--duration 8] [--connections 16]

Needs ``pip install -e '.[bench]'`` (gunicorn) and Debian's ``wrk``. Both serve the curated data from an
in-memory store, one worker process with 8 request threads, the app built by ``service.create_app()``; each
route is measured on one server, then the other. Writes bench/results/server-stacks.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "bench"))

from rest_latency import wrk  # noqa: E402

LOOKUP = (
    "SELECT ?skill WHERE { <https://w3id.org/careerkg/id/role/ai-engineer> "
    "<https://w3id.org/careerkg/ontology#essentialSkill> ?skill }"
)
ROUTES = {
    "/health": "/health",
    "REST role detail": "/api/v1/roles/ai-engineer",
    "/sparql lookup": "/sparql?query=" + urllib.parse.quote(LOOKUP),
}


def stack(name: str, port: int) -> list[str]:
    if name == "granian":
        return [str(BIN / "careerkg"), "serve", "--store", "memory", "--port", str(port), "--threads", "8"]
    return [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--threads",
        "8",
        "--workers",
        "1",
        "--no-control-socket",  # several servers on one machine would share it
        "service:create_app()",
    ]


def serve(name: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CAREERKG_STORE": "memory"}
    with log.open("wb") as out:
        proc = subprocess.Popen(stack(name, port), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        try:
            if requests.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{name} did not become ready")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for port, name in ((18411, "granian"), (18412, "gunicorn")):
            proc = serve(name, port, Path(tmp) / f"{name}.log")
            try:
                results[name] = {
                    route: wrk(f"http://127.0.0.1:{port}{path}", args.connections, args.duration)
                    for route, path in ROUTES.items()
                }
                print(name, results[name], file=sys.stderr)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    lines = [
        "# The same app under granian and gunicorn",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/server_stacks.py "
        f"--duration {args.duration} --connections {args.connections}`, on {platform.machine()} with "
        f"{os.cpu_count()} cores (wrk -t2 on the same machine). One worker process with 8 request threads each, "
        "in-memory store, curated data, one server at a time.",
        "",
        "| route | granian req/s | gunicorn req/s | ratio | granian p99 (ms) | gunicorn p99 (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for route in ROUTES:
        g, u = results["granian"][route], results["gunicorn"][route]
        lines.append(
            f"| {route} | {g['rps']:.0f} | {u['rps']:.0f} | {g['rps'] / u['rps']:.2f}x | {g['99%']:.1f} | "
            f"{u['99%']:.1f} |"
        )
    lines.append("")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "server-stacks.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
