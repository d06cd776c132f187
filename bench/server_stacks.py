"""The same CareerKG app under `careerkg serve` (granian, ASGI), under granian's WSGI interface and under gunicorn
(gthread), side by side.

    python bench/server_stacks.py [--duration 8] [--connections 16] [--rounds 2]

Needs ``pip install -e '.[bench]'`` (gunicorn) and Debian's ``wrk``. Each serves the curated data from an
in-memory store, one worker process with 8 request threads, the app built by ``service.create_app()``; each
round measures every route on one server, then the next. Writes bench/results/server-stacks.md.
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


STACKS = ("careerkg serve", "granian WSGI", "gunicorn")


def stack(name: str, port: int) -> list[str]:
    if name == "careerkg serve":
        return [str(BIN / "careerkg"), "serve", "--store", "memory", "--port", str(port), "--threads", "8"]
    if name == "granian WSGI":
        return [
            str(BIN / "granian"),
            "--interface",
            "wsgi",
            "--factory",
            "--blocking-threads",
            "8",
            "--port",
            str(port),
            "--access-log",  # as `careerkg serve` logs each request
            "service:create_app",
        ]
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
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rounds: list[dict[str, dict[str, dict[str, float]]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            results: dict[str, dict[str, dict[str, float]]] = {}
            for port, name in enumerate(STACKS, start=18411):
                proc = serve(name, port, Path(tmp) / f"{port}.log")
                try:
                    results[name] = {
                        route: wrk(f"http://127.0.0.1:{port}{path}", args.connections, args.duration)
                        for route, path in ROUTES.items()
                    }
                    print(name, results[name], file=sys.stderr)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
            rounds.append(results)
    lines = [
        "# The same app under `careerkg serve` (granian, ASGI), granian's WSGI interface and gunicorn",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/server_stacks.py "
        f"--duration {args.duration} --connections {args.connections} --rounds {args.rounds}`, on "
        f"{platform.machine()} with {os.cpu_count()} cores (wrk -t2 on the same machine). One worker process with "
        "8 request threads each, in-memory store, curated data, one server at a time; each round measures every "
        "server. `careerkg serve` reads request bodies on granian's event loop (service/asgi.py): a stalled body "
        "holds no request thread, which under granian's WSGI interface it does. The ratio is each stack's "
        "requests per second over `careerkg serve`'s in the same round.",
        "",
        "| round | route | "
        + " | ".join(f"{n} req/s" for n in STACKS)
        + " | "
        + " | ".join(f"{n} / careerkg serve" for n in STACKS[1:])
        + " | "
        + " | ".join(f"{n} p99 (ms)" for n in STACKS)
        + " |",
        "|---|---|" + "---:|" * (3 * len(STACKS) - 1),
    ]
    for number, results in enumerate(rounds, start=1):
        for route in ROUTES:
            ours = results[STACKS[0]][route]["rps"]
            lines.append(
                f"| {number} | {route} | "
                + " | ".join(f"{results[n][route]['rps']:.0f}" for n in STACKS)
                + " | "
                + " | ".join(f"{results[n][route]['rps'] / ours:.2f}x" for n in STACKS[1:])
                + " | "
                + " | ".join(f"{results[n][route]['99%']:.1f}" for n in STACKS)
                + " |"
            )
    lines.append("")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "server-stacks.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
