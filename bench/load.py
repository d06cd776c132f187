"""`careerkg load` of a large file into an on-disk store that already holds the shipped dataset, beside
`oxigraph load` of the same file into an Oxigraph store holding the same quads.

    python bench/load.py [--sizes 100000 1000000]

Needs the ``oxigraph`` CLI (test extra). For each size: generated data (bench/generate.py); a CareerKG store
created and filled with the shipped dataset (``careerkg query 'ASK {}' --store DIR``, not timed), and an Oxigraph
store given the same quads (CareerKG's export, ``oxigraph load``, not timed). Then, timed, one process each: CareerKG
reads the file, validates the graph it gives with what the store holds (the whole, with the shapes) and adds it;
Oxigraph's bulk loader adds it (no validation). Wall seconds and the peak memory of the process tree (summed PSS,
sampled); both stores' quad counts after, which must agree. Writes bench/results/load.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))

from scale import fresh_cache, generated, pss_mib, write_report  # noqa: E402


def timed(command: list[str]) -> tuple[float, float]:
    """Run a command; its wall seconds and the peak memory of its process tree (summed PSS, read every 0.25 s: a
    validation child's memory counts too)."""
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=fresh_cache())
    peak = 0.0
    while proc.poll() is None:
        with contextlib.suppress(RuntimeError):  # the tree changed under the reading: the next read counts
            peak = max(peak, pss_mib(proc.pid))
        time.sleep(0.25)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return seconds, peak


def quads_in(store: Path) -> int:
    opened = ox.Store(str(store))
    try:
        return len(opened)
    finally:
        del opened


def measure(size: int, folder: Path) -> dict[str, dict[str, float]]:
    data = generated(size, folder)
    ours, theirs = folder / f"careerkg-{size}", folder / f"oxigraph-{size}"
    subprocess.run([str(BIN / "careerkg"), "query", "ASK {}", "--store", str(ours)], check=True, capture_output=True)
    shipped = folder / "shipped.nq"
    with shipped.open("wb") as out:
        export = [str(BIN / "careerkg"), "export", "--store", str(ours), "--format", "nq"]
        subprocess.run(export, check=True, stdout=out)
    oxigraph = [str(BIN / "oxigraph"), "load", "--location", str(theirs), "--file"]
    subprocess.run([*oxigraph, str(shipped)], check=True, capture_output=True)
    before = quads_in(ours)
    assert quads_in(theirs) == before, "the two stores do not start from the same quads"
    results = {}
    for system, command, store in (
        ("CareerKG", [str(BIN / "careerkg"), "load", str(data), "--store", str(ours)], ours),
        ("Oxigraph", [*oxigraph, str(data)], theirs),
    ):
        seconds, peak = timed(command)
        results[system] = {"seconds": seconds, "peak_mib": peak, "quads_before": before, "quads_after": quads_in(store)}
        print(size, system, results[system], file=sys.stderr)
    assert results["CareerKG"]["quads_after"] == results["Oxigraph"]["quads_after"], "the stores differ after"
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    results: dict[str, dict[int, dict[str, float]]] = {"CareerKG": {}, "Oxigraph": {}}
    with tempfile.TemporaryDirectory(prefix="ckg-load-") as tmp:
        for size in args.sizes:
            for system, figures in measure(size, Path(tmp)).items():
                results[system][size] = figures
    lines = [
        "# `careerkg load` into a store that holds data",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/load.py --sizes "
        f"{' '.join(map(str, args.sizes))}`, on {platform.machine()} with {os.cpu_count()} cores. Both stores on "
        "disk (RocksDB), each holding the shipped dataset first (the same quads); one process at a time. CareerKG: "
        "`careerkg load FILE --store DIR` (parse, validation of the whole graph the load gives, with the shapes, "
        "then RocksDB's bulk loader behind an undo file); Oxigraph: `oxigraph load --location DIR --file FILE` "
        "(its bulk loader, no validation). Peak memory: the most the process tree held at once (summed PSS, read "
        "every 0.25 s; CareerKG's validation child included).",
        "",
        "| triples loaded | system | seconds | peak memory (MiB) | quads before | quads after |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for size in args.sizes:
        for system, by_size in results.items():
            r = by_size[size]
            lines.append(
                f"| {size:,} | {system} | {r['seconds']:.1f} | {r['peak_mib']:.0f} | {r['quads_before']:,} "
                f"| {r['quads_after']:,} |"
            )
    lines += ["", "Ratios, CareerKG to Oxigraph (time against time, peak memory against peak memory):", ""]
    for size in args.sizes:
        ours, theirs = results["CareerKG"][size], results["Oxigraph"][size]
        lines.append(
            f"- {size:,} triples: time {ours['seconds'] / theirs['seconds']:.1f}x, "
            f"peak memory {ours['peak_mib'] / theirs['peak_mib']:.1f}x"
        )
    lines.append("")
    write_report("load", lines, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
