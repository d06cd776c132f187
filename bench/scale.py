"""Start time, memory and a SPARQL lookup as the data grows, CareerKG beside the Oxigraph server, both in memory.

    python bench/scale.py [--sizes 10000 100000 1000000] [--duration 6] [--connections 8]

Needs the ``oxigraph`` server (test extra), matplotlib (bench extra) and Debian's ``wrk``. For each size the same
generated data (bench/generate.py, plus the ontology) is served by ``careerkg serve --store memory --data`` (parsed,
validated as a whole, loaded) and by ``oxigraph serve`` without a location (in memory, filled by one Graph Store
POST), one after the other. Measured: seconds from start to the first answer (CareerKG: ``/health``, answered
while it fills) and to serving the data (CareerKG: ``/ready``; Oxigraph: the fill answered); the memory of each
server's whole process tree then and again after the lookups (summed PSS: pages the processes share are counted
once); a 17-row SPARQL lookup under wrk (req/s, p50, p99). Writes bench/results/scale.md and scale.png.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "bench"))

from rest_latency import wrk  # noqa: E402

LOOKUP = "SELECT ?o WHERE { <https://w3id.org/careerkg/id/role/generated-1> ?p ?o }"


def tree(pid: int) -> list[int]:
    """A process and all its descendants (server workers and their query workers are grandchildren), from every
    process's parent in /proc (a thread's ``children`` file misses the children of threads that have ended)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += parents.get(current, [])
    return found


def pss_mib(pid: int) -> float:
    """Proportional set size of a process tree: each shared page (a forked worker's copy-on-write memory) is
    counted once over the processes sharing it, not once per process as summed RSS would.

    Read again until no process of the tree ended or started while it was read: query workers retire after a burst
    of queries, and a process that ends between two reads takes with it its share of the pages it shared with the
    ones read before it (a run counted 384 MiB after the lookups at 1M, 645 MiB when ready)."""
    for _ in range(100):
        members = tree(pid)
        total = 0
        for member in members:
            try:
                text = Path(f"/proc/{member}/smaps_rollup").read_text()
            except OSError:  # the process ended meanwhile
                break
            sizes = [int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")]
            if not sizes:  # a process that has ended and not yet been reaped
                break
            total += sizes[0]
        else:
            if sorted(tree(pid)) == sorted(members):
                return total / 1024
        time.sleep(0.1)
    raise RuntimeError(f"the process tree of {pid} kept changing while its memory was read")


def fresh_cache() -> dict[str, str]:
    """The environment of a CareerKG process with an empty cache folder: it keeps no verdict from an earlier run, so
    a fill that is timed validates (service.loading)."""
    return {**os.environ, "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="ckg-bench-cache-")}


def wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 1800, every: float = 0.25) -> None:
    """Poll ``url`` every ``every`` seconds until it answers 200 (what is timed is known to that resolution)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(every)
    raise RuntimeError(f"{url} did not answer")


def careerkg(data: Path, port: int, args: argparse.Namespace) -> dict[str, float]:
    started = time.monotonic()
    ontology = str(ROOT / "ontology" / "careerkg.ttl")
    proc = subprocess.Popen(
        [str(BIN / "careerkg"), "serve", "--store", "memory", "--port", str(port), "--data", ontology, str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=fresh_cache(),
    )
    try:
        wait(f"http://127.0.0.1:{port}/health", proc)
        answering = time.monotonic() - started
        wait(f"http://127.0.0.1:{port}/ready", proc)
        result = {
            "start_seconds": time.monotonic() - started,
            "pss_mib": pss_mib(proc.pid),
            "health_seconds": answering,
        }
        url = f"http://127.0.0.1:{port}/sparql?query={urllib.parse.quote(LOOKUP)}"
        result.update(_lookup(url, args))
        result["pss_after_mib"] = pss_mib(proc.pid)
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@contextmanager
def oxigraph_server(port: int, every: float = 0.25) -> Iterator[tuple[subprocess.Popen[bytes], float, float]]:
    """An empty in-memory Oxigraph server on 127.0.0.1:``port``, once it answers: its process, when it was started
    (time.monotonic) and how long it took to answer a query. Stopped at the end."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / "oxigraph"), "serve", "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", proc, every=every)
        yield proc, started, time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def oxigraph(data: Path, port: int, args: argparse.Namespace) -> dict[str, float]:
    with oxigraph_server(port) as (proc, started, answering):
        for path, media_type in ((ROOT / "ontology" / "careerkg.ttl", "text/turtle"), (data, "application/n-triples")):
            with path.open("rb") as body:
                requests.post(
                    f"http://127.0.0.1:{port}/store?default",
                    data=body,
                    headers={"Content-Type": media_type},
                    timeout=1800,
                ).raise_for_status()
        result = {
            "start_seconds": time.monotonic() - started,
            "pss_mib": pss_mib(proc.pid),
            "health_seconds": answering,
        }
        result.update(_lookup(f"http://127.0.0.1:{port}/query?query={urllib.parse.quote(LOOKUP)}", args))
        result["pss_after_mib"] = pss_mib(proc.pid)
        return result


def _lookup(url: str, args: argparse.Namespace) -> dict[str, float]:
    measured = wrk(url, args.connections, args.duration)
    return {"lookup_rps": measured["rps"], "lookup_p50_ms": measured["50%"], "lookup_p99_ms": measured["99%"]}


def plot(sizes: list[int], results: dict[str, dict[int, dict[str, float]]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("start_seconds", "seconds to answer"),
        ("pss_after_mib", "memory after the lookups (PSS, MiB)"),
        ("lookup_rps", "SPARQL lookup, requests/s"),
        ("lookup_p99_ms", "SPARQL lookup, p99 (ms)"),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(16, 4))
    for axis, (key, title) in zip(axes, panels, strict=True):
        for system, by_size in results.items():
            axis.plot(sizes, [by_size[n][key] for n in sizes], marker="o", label=system)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("generated triples")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    figure.suptitle("CareerKG beside the Oxigraph server, both in memory, as the data grows")
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    results: dict[str, dict[int, dict[str, float]]] = {"CareerKG": {}, "Oxigraph server": {}}
    with tempfile.TemporaryDirectory(prefix="ckg-scale-") as tmp:
        for size in args.sizes:
            data = generated(size, Path(tmp))
            results["CareerKG"][size] = careerkg(data, 18511, args)
            results["Oxigraph server"][size] = oxigraph(data, 18512, args)
            print(size, {k: v[size] for k, v in results.items()}, file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(args.sizes, results, RESULTS / "scale.png")
    lines = [
        "# As the data grows: start, memory, a SPARQL lookup",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by `python bench/scale.py --sizes "
        f"{' '.join(map(str, args.sizes))} --duration {args.duration} --connections {args.connections}`, on "
        f"{platform.machine()} with {os.cpu_count()} cores (wrk -t2 on the same machine). Both in memory, the same "
        "generated data plus the ontology; one server at a time. CareerKG validates the data as a whole before it "
        "serves it (pyshacl-turbo deciding); the Oxigraph server validates nothing.",
        "",
        "Memory is the summed PSS of the server's whole process tree (pages shared between forked processes "
        "counted once), when it first answers and again after the lookups.",
        "",
        "Answering (s) is when the server first answers at all (CareerKG: `/health`, while it fills; Oxigraph: a "
        "query, before its fill); ready (s) is when it serves the data (CareerKG: `/ready`; Oxigraph: its fill "
        "answered).",
        "",
        "| triples | system | answering (s) | ready (s) | memory at start (MiB) | memory after lookups (MiB) "
        "| lookup req/s | lookup p50 (ms) | lookup p99 (ms) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in args.sizes:
        for system, by_size in results.items():
            r = by_size[size]
            lines.append(
                f"| {size:,} | {system} | {r['health_seconds']:.1f} | {r['start_seconds']:.1f} | {r['pss_mib']:.0f} | {r['pss_after_mib']:.0f} | "
                f"{r['lookup_rps']:.0f} | "
                f"{r['lookup_p50_ms']:.1f} | {r['lookup_p99_ms']:.1f} |"
            )
    ours, theirs = results["CareerKG"], results["Oxigraph server"]
    lines += ["", "Ratios, CareerKG to the Oxigraph server:", ""]
    for size in args.sizes:
        lines.append(
            f"- {size:,} triples: start {ours[size]['start_seconds'] / theirs[size]['start_seconds']:.1f}x, memory "
            f"{ours[size]['pss_after_mib'] / theirs[size]['pss_after_mib']:.1f}x, lookup throughput "
            f"{ours[size]['lookup_rps'] / theirs[size]['lookup_rps']:.2f}x"
        )
    lines += ["", "![start, memory and lookups as the data grows](scale.png)", ""]
    write_report("scale", lines, results)
    return 0


def generated(size: int, folder: Path) -> Path:
    """A file of ``size`` generated triples (bench/generate.py) in ``folder``."""
    data = folder / f"generated-{size}.nt"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), "--triples", str(size), "--out", str(data)],
        check=True,
        capture_output=True,
    )
    return data


def write_report(name: str, lines: list[str], results: dict[str, dict[int, dict[str, float]]]) -> None:
    """bench/results/{name}.md from the lines, {name}.json from the results; the report printed too."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text("\n".join(lines), encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
