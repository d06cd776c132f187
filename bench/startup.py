"""Start-up on the curated data: `careerkg serve --store memory` beside an in-memory Oxigraph server given the same
quads, like against like.

    python bench/startup.py [--rounds 5]

Needs ``pip install -e '.[bench]'`` (the ``oxigraph`` server). Each round starts one server at a time on 127.0.0.1
and times, from the start of its process: when it first answers (CareerKG: `/health`, while it fills; Oxigraph: a
query, before its fill) and when it serves the data (CareerKG: `/ready`, the data filled and validated; Oxigraph: the
same quads, exported by `careerkg export --format nq`, posted to it and answered). CareerKG starts twice a round: first
with an empty cache folder (it validates the data), then again with the verdict that start kept (unchanged files are
not validated again). Writes bench/results/startup.md and .json with the median of the rounds and every round. The
SPEC's bar: the curated data served within 3 s.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "bench"))

from scale import oxigraph_server, wait  # noqa: E402

POLL_S = 0.02  # both servers are polled this often: the times are known to about this much


def careerkg(port: int, home: Path, cache: Path) -> dict[str, float]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / "careerkg"), "serve", "--store", "memory", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "XDG_DATA_HOME": str(home), "XDG_CACHE_HOME": str(cache)},
    )
    try:
        wait(f"http://127.0.0.1:{port}/health", proc, every=POLL_S)
        answering = time.monotonic() - started
        wait(f"http://127.0.0.1:{port}/ready", proc, every=POLL_S)
        return {"answering_s": answering, "ready_s": time.monotonic() - started}
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def oxigraph(port: int, quads: Path) -> dict[str, float]:
    with oxigraph_server(port, every=POLL_S) as (_, started, answering):
        with quads.open("rb") as body:
            requests.post(
                f"http://127.0.0.1:{port}/store",
                data=body,
                headers={"Content-Type": "application/n-quads"},
                timeout=600,
            ).raise_for_status()
        return {"answering_s": answering, "ready_s": time.monotonic() - started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ckg-startup-"))
    quads = work / "curated.nq"
    subprocess.run(
        [str(BIN / "careerkg"), "export", "--store", "memory", "--format", "nq", "--output", str(quads)],
        check=True,
        env={**os.environ, "XDG_DATA_HOME": str(work / "home"), "XDG_CACHE_HOME": str(work / "export-cache")},
    )
    count = sum(1 for line in quads.read_bytes().splitlines() if line.strip())
    rounds: dict[str, list[dict[str, float]]] = {"careerkg": [], "careerkg_again": [], "oxigraph": []}
    for number in range(args.rounds):  # interleaved: a busy minute falls on each
        cache = work / f"cache-{number}"  # empty: the first start validates, and keeps its verdict here
        rounds["careerkg"].append(careerkg(18131, work / "home", cache))
        rounds["careerkg_again"].append(careerkg(18131, work / "home", cache))
        rounds["oxigraph"].append(oxigraph(18132, quads))
    median = {
        name: {key: statistics.median(r[key] for r in runs) for key in ("answering_s", "ready_s")}
        for name, runs in rounds.items()
    }
    write_report(args, count, median, rounds)
    print((RESULTS / "startup.md").read_text(encoding="utf-8"))
    return 0


def write_report(
    args: argparse.Namespace,
    count: int,
    median: dict[str, dict[str, float]],
    rounds: dict[str, list[dict[str, float]]],
) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    ours, again, theirs = median["careerkg"], median["careerkg_again"], median["oxigraph"]
    lines = [
        "# Start-up on the curated data: CareerKG beside the Oxigraph server",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/startup.py --rounds "
        f"{args.rounds}`, on {platform.machine()} with {os.cpu_count()} cores; one server at a time, the rounds "
        f"interleaved. Both in memory, with the same {count} quads (the curated dataset as CareerKG serves it, "
        "exported as N-Quads). CareerKG fills and validates the data as a whole before it serves it "
        "(pyshacl-turbo deciding), on its first start; started again on the same files it reads the verdict that "
        "start kept in its cache folder and does not validate again. The Oxigraph server validates nothing.",
        "",
        "Answering is when a server first answers at all (CareerKG: `/health`, while it fills; Oxigraph: a query, "
        "before its fill); ready is when it serves the data (CareerKG: `/ready`; Oxigraph: the quads posted and "
        f"answered; each polled every {POLL_S * 1000:.0f} ms). Medians of the rounds, in seconds:",
        "",
        "| system | answering (s) | ready (s) |",
        "|---|---:|---:|",
        f"| CareerKG (`careerkg serve --store memory`), first start | {ours['answering_s']:.2f} | "
        f"{ours['ready_s']:.2f} |",
        f"| CareerKG, started again (verdict kept) | {again['answering_s']:.2f} | {again['ready_s']:.2f} |",
        f"| Oxigraph server (`oxigraph serve`, in memory) | {theirs['answering_s']:.2f} | {theirs['ready_s']:.2f} |",
        "",
        f"CareerKG is ready {ours['ready_s'] / theirs['ready_s']:.1f}x as late as the Oxigraph server on its first "
        f"start, {again['ready_s'] / theirs['ready_s']:.1f}x started again. The SPEC's bar for the curated data is 3 s: "
        f"first start {'met' if ours['ready_s'] < 3 else 'not met'} ({ours['ready_s']:.2f} s), started again "
        f"{'met' if again['ready_s'] < 3 else 'not met'} ({again['ready_s']:.2f} s).",
        "",
        "Every round, ready (s): CareerKG first start "
        + ", ".join(f"{r['ready_s']:.2f}" for r in rounds["careerkg"])
        + "; started again "
        + ", ".join(f"{r['ready_s']:.2f}" for r in rounds["careerkg_again"])
        + "; Oxigraph server "
        + ", ".join(f"{r['ready_s']:.2f}" for r in rounds["oxigraph"])
        + ".",
        "",
    ]
    (RESULTS / "startup.md").write_text("\n".join(lines), encoding="utf-8")
    (RESULTS / "startup.json").write_text(
        json.dumps({"quads": count, "median": median, "rounds": rounds}, indent=1) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    sys.exit(main())
