"""The ``careerkg`` command: validate, load, export, query, serve."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from service import dataset
from service.config import Settings
from service.errors import CareerKGError, InputError, ValidationFailed

if TYPE_CHECKING:  # the modules behind these load in the commands that use them (``serve``'s master stays small)
    from service.store import Store
    from service.validation import Report

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT = 0, 1, 2

RESULT_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS: dict[str, ox.RdfFormat] = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "xml": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
}
EXPORT_FORMATS: dict[str, ox.RdfFormat] = {
    "trig": ox.RdfFormat.TRIG,
    "nq": ox.RdfFormat.N_QUADS,
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog="careerkg",
        description="CareerKG: an open knowledge graph of AI and ML careers, served as SPARQL and REST.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def store_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--store",
            metavar="LOC",
            help="'memory', a folder for the on-disk store, or the http(s) URL of a SPARQL endpoint "
            "(default: CAREERKG_STORE, else a per-user data folder); filled from the default dataset when empty",
        )
        p.add_argument("--update-endpoint", metavar="URL", help="a remote store's SPARQL Update URL (default: --store)")
        p.add_argument("--store-auth", metavar="USER:PASSWORD", help="credentials the remote store asks for")
        p.add_argument(
            "--store-graph",
            metavar="IRI",
            help="keep CareerKG's default graph in this named graph of a remote store whose default graph is the "
            "union of all graphs (Virtuoso, GraphDB, Neptune)",
        )

    serve = commands.add_parser("serve", help="serve the graph over HTTP")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8080)")
    store_option(serve)
    serve.add_argument("--data", nargs="+", type=Path, metavar="PATH", help="serve exactly these files/folders")
    serve.add_argument("--threads", type=int, help="request threads per worker (default 8)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1; more need a remote store)")
    serve.add_argument(
        "--proxy-hops", type=int, help="reverse proxies in front whose X-Forwarded-* headers to trust (default 0)"
    )
    serve.set_defaults(run=cmd_serve)

    validate = commands.add_parser("validate", help="SHACL-validate files (default: ontology + data/)")
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    validate.add_argument("--format", choices=["text", "turtle", "json"], default="text")
    validate.set_defaults(run=cmd_validate)

    load = commands.add_parser("load", help="validate files, then load them into a store")
    load.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    store_option(load)
    load.add_argument("--graph", metavar="IRI", help="load into this named graph (default: the default graph)")
    load.add_argument("--replace", action="store_true", help="replace the graph's content instead of adding")
    load.add_argument("--format", choices=["text", "turtle", "json"], default="text", help="report format")
    load.set_defaults(run=cmd_load)

    export = commands.add_parser("export", help="dump the store")
    store_option(export)
    export.add_argument("--format", choices=sorted(EXPORT_FORMATS), default="trig")
    export.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")
    export.set_defaults(run=cmd_export)

    query = commands.add_parser("query", help="run one SPARQL query ('-' reads it from standard input)")
    query.add_argument("sparql", metavar="SPARQL")
    store_option(query)
    query.add_argument(
        "--format",
        choices=sorted({*RESULT_FORMATS, *GRAPH_FORMATS}),
        help="json|csv|tsv|xml for SELECT/ASK (default json); ttl|nt|xml|jsonld for CONSTRUCT/DESCRIBE (default ttl)",
    )
    query.set_defaults(run=cmd_query)

    stats = commands.add_parser("stats", help="the quality report: counts, alignment, provenance, languages, SHACL")
    store_option(stats)
    stats.add_argument("--format", choices=["text", "json"], default="text")
    stats.add_argument("--no-shacl", action="store_true", help="skip validating the whole graph")
    stats.set_defaults(run=cmd_stats)

    derive = commands.add_parser(
        "derive-transitions",
        help="derive career transitions from the roles' skill profiles, as TriG (see data/derived-transitions.trig)",
    )
    store_option(derive)
    derive.add_argument("--output", type=Path, help="write the Turtle to this file instead of standard output")
    derive.set_defaults(run=cmd_derive_transitions)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status. No traceback reaches the user."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command == "serve" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ValidationFailed as exc:
        from service.validation import Report

        report = exc.report
        if isinstance(report, Report):
            _write(_render(report, getattr(args, "format", "text")))
        print(f"careerkg {args.command}: nothing was written: {exc.message}", file=sys.stderr)
        return EXIT_VIOLATIONS
    except CareerKGError as exc:
        print(f"careerkg {args.command}: error: {exc.message}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the last line of defence: a message, never a traceback
        logging.getLogger("careerkg").debug("unexpected error", exc_info=True)
        print(f"careerkg {args.command}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 70


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    store = {name: getattr(args, name, None) for name in ("store", "update_endpoint", "store_auth", "store_graph")}
    return Settings.load({**store, **extra})


def _open(args: argparse.Namespace) -> Store:
    from service import loading

    store = _settings(args).open_store()
    loading.ensure_filled(store)
    return store


def _render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return report.to_json_text()
    if fmt == "turtle":
        return report.to_turtle()
    return report.to_text()


def _check_output(output: Path | None) -> None:
    """Refuse an output file whose folder does not exist before any work is done, not after it."""
    if output is not None and not output.resolve().parent.is_dir():
        raise InputError(f"no such folder: {output.resolve().parent}", file=output)


def _write(text: str | bytes, output: Path | None = None) -> None:
    data = text.encode() if isinstance(text, str) else text
    if output is not None:
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise InputError(exc.strerror or str(exc), file=output) from None
        return
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate files; 0 conforms, 1 violations, 2 unreadable input."""
    from service import loading

    checked = loading.check_files(args.paths or dataset.default_paths())
    _write(_render(checked.report, args.format))
    return EXIT_OK if checked.report.conforms else EXIT_VIOLATIONS


def cmd_load(args: argparse.Namespace) -> int:
    """Validate files merged with the store's content; write only if it conforms."""
    from service import loading

    graph = _graph_name(args.graph)
    store = _open(args)
    try:
        before = len(store)
        report = loading.load(store, args.paths, graph=graph, replace=args.replace)
        after = len(store)
    finally:
        store.close()
    if report.warnings:
        _write(_render(report, args.format))
    target = "the default graph" if isinstance(graph, ox.DefaultGraph) else f"<{graph.value}>"
    verb = "replaced" if args.replace else "loaded into"
    print(f"{verb} {target} of {store.location}: {before} -> {after} quads", file=sys.stderr)
    return EXIT_OK


def _graph_name(iri: str | None) -> ox.NamedNode | ox.DefaultGraph:
    if iri is None:
        return ox.DefaultGraph()
    try:
        return ox.NamedNode(iri)
    except ValueError:
        raise InputError(f"--graph {iri!r} is not a valid absolute IRI") from None


def cmd_export(args: argparse.Namespace) -> int:
    """Write the store's content in one syntax."""
    _check_output(args.output)
    store = _open(args)
    try:
        fmt = EXPORT_FORMATS[args.format]
        if not fmt.supports_datasets and store.named_graphs():
            print(
                f"careerkg export: {args.format} holds one graph: exporting the default graph only "
                "(use --format trig or nq for named graphs)",
                file=sys.stderr,
            )
        _write(store.dump(fmt), args.output)
    finally:
        store.close()
    return EXIT_OK


def cmd_query(args: argparse.Namespace) -> int:
    """Run one query and print its results."""
    sparql = sys.stdin.read() if args.sparql == "-" else args.sparql
    store = _open(args)
    try:
        result = store.query(sparql)
        if isinstance(result, ox.QuerySolutions | ox.QueryBoolean):
            name = args.format or "json"
            if name not in RESULT_FORMATS:
                raise InputError(f"--format {name} is for graphs; SELECT and ASK give json, csv, tsv or xml")
            out = result.serialize(format=RESULT_FORMATS[name]) or b""
            _write(out if out.endswith(b"\n") else out + b"\n")
        else:
            name = args.format or "ttl"
            if name not in GRAPH_FORMATS:
                raise InputError(
                    f"--format {name} is for solutions; CONSTRUCT and DESCRIBE give ttl, nt, xml or jsonld"
                )
            from service.namespaces import PREFIXES

            _write(ox.serialize(result, format=GRAPH_FORMATS[name], prefixes=PREFIXES) or b"")
    finally:
        store.close()
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    """Print the quality report of the store's graph."""
    import json

    from service.quality import measure

    store = _open(args)
    try:
        report = measure(store.quads(), check_shapes=not args.no_shacl)
    finally:
        store.close()
    _write(json.dumps(report.to_json(), indent=2) + "\n" if args.format == "json" else report.to_text())
    return EXIT_OK


def cmd_derive_transitions(args: argparse.Namespace) -> int:
    """Print (or write) the transitions derived from the store's skill profiles."""
    from service import loading
    from service.derive import derive, to_trig

    _check_output(args.output)
    store = _settings(args).open_store()
    try:
        # An in-memory store is filled without the previous output, which may name roles removed since and
        # would then fail validation before it could be regenerated.
        loading.ensure_filled(store, dataset.source_paths() if store.location == "memory" else ())
        transitions, labels, completions = derive(store)
    finally:
        store.close()
    _write(to_trig(transitions, labels, completions), args.output)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the app with granian (one worker for the embedded store, which belongs to one process)."""
    settings = _settings(
        args,
        host=args.host,
        port=args.port,
        threads=args.threads,
        workers=args.workers,
        proxy_hops=args.proxy_hops,
        data=tuple(args.data) if args.data else None,
    )
    if args.data:
        from service import rdfio

        rdfio.expand(args.data)  # a missing file is reported here, before any server starts
    from service.server import serve

    return serve(settings)
