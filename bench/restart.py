"""A restart over an already filled on-disk store, CareerKG beside the Oxigraph server, both on disk (RocksDB).

    python bench/restart.py [--sizes 100000 1000000] [--restarts 3]

Needs the ``oxigraph`` server (test extra). For each size the same generated data (bench/generate.py, plus the
ontology) fills an empty on-disk store once: CareerKG by ``careerkg serve --store DIR --data`` (parsed, validated
as a whole, loaded; timed to ``/ready``), the Oxigraph server by ``oxigraph load --location DIR`` (no validation).
Then each server is stopped and started again over its filled store, ``--restarts`` times: the seconds from start
to serving the data (CareerKG: ``/ready`` answers 200, which it does only once it knows the store holds the data it
was given; Oxigraph: a query answers), the summed PSS of its process tree then, and the size of the store on disk
(as left, and compacted). Writes bench/results/restart.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))

from scale import fresh_cache, generated, pss_mib, wait, write_report  # noqa: E402

ONTOLOGY = ROOT / "ontology" / "careerkg.ttl"


def disk_mib(path: Path) -> float:
    """Bytes the files under ``path`` take, in MiB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _serve(command: list[str], ready: str, then: str | None = None) -> tuple[float, float, float]:
    """Start a server, wait until ``ready`` answers 200; seconds taken, memory then, and memory once ``then`` has
    answered too (CareerKG's first REST answer, which waits for the index it builds after /ready). The server is
    stopped."""
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=fresh_cache())
    try:
        wait(ready, proc)
        seconds, memory = time.monotonic() - started, pss_mib(proc.pid)
        if then is not None:
            wait(then, proc)
        return seconds, memory, pss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def careerkg(data: Path, store: Path, port: int, restarts: int) -> dict[str, float]:
    command = [str(BIN / "careerkg"), "serve", "--store", str(store), "--port", str(port)]
    command += ["--data", str(ONTOLOGY), str(data)]
    ready = f"http://127.0.0.1:{port}/ready"
    fill, _, _ = _serve(command, ready)
    runs = [_serve(command, ready, f"http://127.0.0.1:{port}/api/v1/roles?limit=1") for _ in range(restarts)]
    return _summary(fill, runs, store)


def oxigraph(data: Path, store: Path, port: int, restarts: int) -> dict[str, float]:
    started = time.monotonic()
    subprocess.run(
        [str(BIN / "oxigraph"), "load", "--location", str(store), "--file", str(ONTOLOGY), str(data)],
        check=True,
        capture_output=True,
    )
    fill = time.monotonic() - started
    command = [str(BIN / "oxigraph"), "serve", "--location", str(store), "--bind", f"127.0.0.1:{port}"]
    runs = [_serve(command, f"http://127.0.0.1:{port}/query?query=ASK%7B%7D") for _ in range(restarts)]
    return _summary(fill, runs, store)


def _summary(fill: float, runs: list[tuple[float, float, float]], store: Path) -> dict[str, float]:
    return {
        "fill_seconds": fill,
        "restart_seconds": statistics.median(seconds for seconds, _, _ in runs),
        "restart_seconds_max": max(seconds for seconds, _, _ in runs),
        "pss_mib": statistics.median(mib for _, mib, _ in runs),
        "pss_warm_mib": statistics.median(mib for _, _, mib in runs),
        "disk_mib": disk_mib(store),
        "disk_compacted_mib": compacted_mib(store),
    }


def compacted_mib(store: Path) -> float:
    """The store's size once RocksDB has compacted it (pyoxigraph's ``optimize``, the server stopped). A bulk load
    writes files that a compaction rewrites to another size, and a server that runs a while compacts in the
    background while one that stops at once does not: sizes as left partly measure how long each ran."""

    import pyoxigraph as ox

    opened = ox.Store(str(store))
    opened.optimize()
    del opened
    return disk_mib(store)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--restarts", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict[int, dict[str, float]]] = {"CareerKG": {}, "Oxigraph server": {}}
    with tempfile.TemporaryDirectory(prefix="ckg-restart-") as tmp:
        for size in args.sizes:
            data = generated(size, Path(tmp))
            results["CareerKG"][size] = careerkg(data, Path(tmp) / f"careerkg-{size}", 18521, args.restarts)
            results["Oxigraph server"][size] = oxigraph(data, Path(tmp) / f"oxigraph-{size}", 18522, args.restarts)
            print(size, {k: v[size] for k, v in results.items()}, file=sys.stderr)
    lines = [
        "# A restart over an already filled on-disk store",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/restart.py --sizes "
        f"{' '.join(map(str, args.sizes))} --restarts {args.restarts}`, on {platform.machine()} with "
        f"{os.cpu_count()} cores. Both on disk (RocksDB), the same generated data plus the ontology; one server at a "
        "time. The first fill: CareerKG `careerkg serve --store DIR --data …` until `/ready` (parse, validation of the "
        "whole, load); the Oxigraph server `oxigraph load --location DIR` (no validation). A restart: the same "
        "command again over the filled store, until CareerKG's `/ready` or the Oxigraph server's first query "
        f"answers; median of {args.restarts} restarts (and the slowest). Memory: summed PSS of the process tree "
        "at that moment, and once CareerKG has given its first REST answer (which waits for the REST index it "
        "builds right after `/ready`; the Oxigraph server has no such step: the same figure twice). Disk: the "
        "store's files as the last restart left them, and once compacted (pyoxigraph's `optimize`, servers "
        "stopped): a bulk load writes files that a compaction rewrites to another size, and a server that runs a while "
        "compacts in the background, so sizes as left depend on how long each ran.",
        "",
        "| triples | system | first fill (s) | restart, ready (s) | slowest restart (s) | memory at ready (MiB) "
        "| memory, index built (MiB) | disk as left (MiB) | disk compacted (MiB) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in args.sizes:
        for system, by_size in results.items():
            r = by_size[size]
            lines.append(
                f"| {size:,} | {system} | {r['fill_seconds']:.1f} | {r['restart_seconds']:.2f} | "
                f"{r['restart_seconds_max']:.2f} | {r['pss_mib']:.0f} | {r['pss_warm_mib']:.0f} | {r['disk_mib']:.0f} "
                f"| {r['disk_compacted_mib']:.0f} |"
            )
    ours, theirs = results["CareerKG"], results["Oxigraph server"]
    lines += ["", "Ratios, CareerKG to the Oxigraph server (restart against restart, disk against disk):", ""]
    for size in args.sizes:
        lines.append(
            f"- {size:,} triples: restart {ours[size]['restart_seconds'] / theirs[size]['restart_seconds']:.1f}x, "
            f"memory at ready {ours[size]['pss_mib'] / theirs[size]['pss_mib']:.1f}x (index built: "
            f"{ours[size]['pss_warm_mib'] / theirs[size]['pss_warm_mib']:.1f}x), disk as left "
            f"{ours[size]['disk_mib'] / theirs[size]['disk_mib']:.1f}x, compacted "
            f"{ours[size]['disk_compacted_mib'] / theirs[size]['disk_compacted_mib']:.1f}x"
        )
    lines.append("")
    write_report("restart", lines, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
