"""The app and the CLI in this process: Flask's test client behind the ``requests`` API, and ``cli.main``.

Tests written against ``site.http`` (a ``requests.Session``) and ``site.url`` run unchanged against the app
built by ``create_app`` here (the app tier) or against a real ``careerkg serve`` process (the server tier).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.test import EnvironBuilder

from service import cli
from tests.support import Completed

SITE_URL = "http://careerkg.test"


class WSGIAdapter(BaseAdapter):
    """A ``requests`` transport that hands each request to a WSGI app through Flask's test client."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, **_: Any
    ) -> requests.Response:
        url = urlsplit(request.url or "/")
        body = request.body
        if body is not None and not isinstance(body, bytes | str):
            body = b"".join(body)  # a generator body (chunked upload), read whole
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in ("content-length", "host")]
        answer = self.app.test_client().open(
            url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method or "GET",
            headers=headers,
            data=body,
            buffered=False,
        )
        try:
            content = _decoded(answer.get_data(), answer.headers.get("Content-Encoding", ""))
        finally:
            answer.close()  # runs the app's call_on_close hooks, as a server does when the body is sent
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.status.split(" ", 1)[1] if " " in answer.status else ""
        merged: dict[str, str] = {}
        for name, value in answer.headers.items():
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        response.headers = CaseInsensitiveDict(merged)
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = content
        response._content_consumed = True
        response.raw = io.BytesIO(content)
        response.url = request.url or ""
        response.request = request
        response.connection = self
        response.elapsed = timedelta(0)
        return response

    def close(self) -> None:
        """Nothing is held open."""


def _decoded(body: bytes, encoding: str) -> bytes:
    """The body as requests gives it: decoded from the Content-Encoding the answer was sent in (urllib3 does it)."""
    import zlib

    if encoding == "gzip":
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli

        return bytes(brotli.decompress(body))
    if encoding == "zstd":
        from backports import zstd

        return bytes(zstd.decompress(body))
    return body


@dataclass
class Site:
    """The app of this process, reached like a server: ``site.http.get(site.url + "/health")``."""

    app: Flask
    url: str = SITE_URL
    store_kind: str = "embedded"
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.http.mount(self.url + "/", WSGIAdapter(self.app))

    @property
    def core(self) -> Any:
        """The app's graph (store, workers, write path)."""
        return self.app.extensions["careerkg.graph"]

    def close(self) -> None:
        """Stop the app's query workers and release its store."""
        self.core.close()


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_cli_here(
    *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None, cwd: Path | None = None
) -> Completed:
    """Run ``careerkg ARGS`` in this process (``cli.main``), with its own stdin, stdout, stderr and environment."""
    out, err = io.BytesIO(), io.BytesIO()
    streams = (
        io.TextIOWrapper(io.BytesIO((stdin or "").encode()), encoding="utf-8"),
        io.TextIOWrapper(out, encoding="utf-8", write_through=True),
        io.TextIOWrapper(err, encoding="utf-8", write_through=True),
    )
    saved = sys.stdin, sys.stdout, sys.stderr
    previous = Path.cwd()
    sys.stdin, sys.stdout, sys.stderr = streams
    # What the command logs reaches its stderr, as it does in a process of its own (cli.main's basicConfig does
    # nothing here: pytest's log capture already holds the root logger).
    handler = logging.StreamHandler(streams[2])
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)
    try:
        with _environment(env or {}):
            if cwd is not None:
                os.chdir(cwd)
            try:
                code = cli.main(list(args))
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        logging.getLogger().removeHandler(handler)
        sys.stdin, sys.stdout, sys.stderr = saved
        os.chdir(previous)
    return Completed(code, out.getvalue().decode(), err.getvalue().decode())


def call(site: Site, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    """Call the app's WSGI entry with an environ as given: its status, headers and body."""
    got: list[tuple[str, list[tuple[str, str]]]] = []
    body = b"".join(site.app(environ, lambda status, headers, *_: got.append((status, headers))))  # type: ignore[arg-type]
    return got[0][0], dict(got[0][1]), body


def raw_call(site: Site, method: str, target: str) -> tuple[str, dict[str, str], bytes]:
    """Call the app with a method and request target as they came off the wire (the test client would mend them)."""
    environ = EnvironBuilder(path="/health").get_environ()
    environ["REQUEST_METHOD"], environ["PATH_INFO"] = method, target
    return call(site, environ)
