"""Latency of one validated write beside full validation, on generated graphs of growing size.

    python bench/write_latency.py [--sizes 10000 100000 1000000] [--writes 20] [--full-up-to 100000]

For each size, the generated data (bench/generate.py) and the ontology are loaded straight into an
in-memory store, then a single-resource write (a REST-style PUT of a new tool, linked to an existing
skill) goes through the real write path (delta, incremental validation, commit, change log) ``--writes``
times; the median and p95 are reported. Full validation of the same graph (pyshacl over everything, as
`careerkg validate` does) is timed once per size up to ``--full-up-to`` triples. The write's cost
should not grow with the graph. Writes bench/results/write-latency.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generate import generate  # noqa: E402

from service import dataset  # noqa: E402
from service.api import editing  # noqa: E402
from service.api.schemas import ResourceWrite  # noqa: E402
from service.config import Settings  # noqa: E402
from service.core import ServedGraph  # noqa: E402
from service.store import EmbeddedStore  # noqa: E402
from service.validation import validate_whole  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def build(size: int) -> EmbeddedStore:
    store = EmbeddedStore()
    store.add(ox.parse(path=str(dataset.ontology_path())))
    store.add(ox.Quad(t.subject, t.predicate, t.object) for t in generate(size))
    return store


def one_write(served: ServedGraph, i: int) -> float:
    body = ResourceWrite(
        label={"en": f"Benchmark tool {i}"},
        description={"en": "A tool written by the write benchmark."},
        sources=["careerkg-benchmark-generator"],
        links={"categories": ["generated-library"], "skills": ["generated-0-1"]},
    )
    started = time.perf_counter()
    report = served.edit(lambda store: editing.put_delta(store, "tool", f"benchmark-{i}", body), "bench", "bench")
    elapsed = time.perf_counter() - started
    if not report.conforms:
        raise RuntimeError(report.to_text())
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--full-up-to", type=int, default=100_000, help="largest size to time full validation on")
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        started = time.perf_counter()
        store = build(size)
        load_seconds = time.perf_counter() - started
        served = ServedGraph(store, Settings.load({"store": "memory"}))  # the service's own write path
        one_write(served, 0)  # warm-up: shapes parsed, caches filled
        times = [one_write(served, i) for i in range(1, args.writes + 1)]
        full = None
        if size <= args.full_up_to:
            started = time.perf_counter()
            report = validate_whole(store.quads())
            full = time.perf_counter() - started
            if not report.conforms:
                raise RuntimeError(report.summary())
        row = {
            "triples": len(store),
            "load_seconds": round(load_seconds, 2),
            "write_median_ms": round(statistics.median(times) * 1000, 1),
            "write_p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))] * 1000, 1),
            "full_validation_seconds": round(full, 2) if full is not None else None,
        }
        rows.append(row)
        print(row, file=sys.stderr)
        served.close()
        del store

    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Validated writes: one resource beside full validation",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/write_latency.py "
        f"--sizes {' '.join(map(str, args.sizes))} --writes {args.writes} --full-up-to {args.full_up_to}`, "
        f"on {platform.machine()} with {os.cpu_count()} cores, in one process (no HTTP).",
        "A write is a REST-style PUT of a new tool linked to an existing skill, through the real write path: "
        "delta, validation of the touched nodes and their neighbourhood, commit, change log.",
        "",
        "| triples | load (s) | write median (ms) | write p95 (ms) | full validation (s) | full / write |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        full = row["full_validation_seconds"]
        ratio = f"{full * 1000 / row['write_median_ms']:.0f}x" if full else "not run"
        lines.append(
            f"| {row['triples']} | {row['load_seconds']} | {row['write_median_ms']} | {row['write_p95_ms']} | "
            f"{full if full is not None else 'not run'} | {ratio} |"
        )
    (RESULTS / "write-latency.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "write-latency.json").write_text(json.dumps(rows, indent=2))
    print((RESULTS / "write-latency.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
