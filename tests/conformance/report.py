"""An implementation report of the W3C SPARQL 1.1 query suites, per store behind CareerKG (pySHACL's report style).

Behind a remote store, queries are evaluated by that store's own engine: how much of the suite Virtuoso passes
is Virtuoso's conformance, measured here and printed, not a test CareerKG can fail. The embedded store and the
Oxigraph server run the same suite as tests (tests/conformance/test_w3c_query.py), where every failure counts.

    python -m tests.conformance.report --store virtuoso [--store embedded ...] [--output build/w3c-report.md]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from service import dataset
from tests.conformance.test_w3c_query import KNOWN_FAILURES, TESTS, check
from tests.support import (
    VIRTUOSO,
    WRITE_TOKEN,
    Server,
    start_oxigraph,
    start_server,
    start_virtuoso,
)

ENGINES = {
    "embedded": "pyoxigraph (embedded)",
    "remote": "Oxigraph server",
    "virtuoso": "Virtuoso 7 (Debian's virtuoso-opensource)",
}


def run(server: Server) -> tuple[list[str], dict[str, str]]:
    """Every test of the suites against one server: the passed ones, and the failed ones with why."""
    passed, failed = [], {}
    for test_id, test in TESTS.items():
        try:
            check(server, test)
        except AssertionError as exc:
            failed[test_id] = (str(exc).splitlines() or ["assertion failed"])[0][:160]
            server.w3c_data = None  # type: ignore[attr-defined]  # its data may be half loaded
        except Exception as exc:  # a store that errs on a test fails that test, the report goes on
            failed[test_id] = f"{type(exc).__name__}: {exc}"[:160]
            server.w3c_data = None  # type: ignore[attr-defined]
        else:
            passed.append(test_id)
    return passed, failed


def measure(kind: str, folder: Path) -> tuple[list[str], dict[str, str], float]:
    """Start the store and a CareerKG server in front of it, run the suites, stop both."""
    started = time.monotonic()
    stop = []
    if kind == "remote":
        remote = start_oxigraph(folder)
        stop.append(remote.stop)
        args = remote.store_args()
    elif kind == "virtuoso":
        if not VIRTUOSO:
            raise SystemExit("virtuoso-t is not installed (Debian's virtuoso-opensource); .ci/run installs it")
        (folder / "virtuoso").mkdir()
        virtuoso = start_virtuoso(folder / "virtuoso")
        stop.append(virtuoso.stop)
        args = virtuoso.store_args()
    else:
        args = ["--store", "memory"]
    ontology = str(dataset.ontology_path())  # the suites bring their own data: start with the ontology only
    server = start_server(
        folder, *args, "--data", ontology, env={"CAREERKG_WRITE_TOKEN": WRITE_TOKEN, "CAREERKG_QUERY_TIMEOUT": "10"}
    )
    try:
        passed, failed = run(server)
    finally:
        server.stop()
        for halt in stop:
            halt()
    return passed, failed, time.monotonic() - started


def table(results: dict[str, tuple[list[str], dict[str, str], float]]) -> str:
    total = len(TESTS)
    lines = [
        f"W3C SPARQL 1.1 query, syntax and result-format suites ({total} tests), through CareerKG's /sparql",
        "",
        "| store | engine | passed | failed | pass rate | minutes |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for kind, (passed, failed, seconds) in results.items():
        lines.append(
            f"| {kind} | {ENGINES[kind]} | {len(passed)} | {len(failed)} | {len(passed) / total:.1%} | "
            f"{seconds / 60:.1f} |"
        )
    for kind, (_, failed, _) in results.items():
        by_suite = Counter(test_id.split("/")[0] for test_id in failed)
        lines += ["", f"Failures on {kind}, by suite: " + ", ".join(f"{s} {n}" for s, n in by_suite.most_common())]
        unexpected = sorted(set(failed) - set(KNOWN_FAILURES))
        if kind in ("embedded", "remote") and unexpected:
            lines.append(f"Not among CareerKG's known engine failures: {', '.join(unexpected)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", choices=sorted(ENGINES), help="store kinds (default: all)")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="careerkg-w3c-report-") as tmp:
        for kind in args.store or list(ENGINES):
            folder = Path(tmp) / kind
            folder.mkdir()
            results[kind] = measure(kind, folder)
    report = table(results)
    sys.stdout.write(report)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
