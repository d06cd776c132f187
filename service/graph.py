"""The served graph on a Flask app: one ``ServedGraph`` per app, and the dataset version read once per request."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request

from service.config import Settings
from service.core import Filling, ServedGraph, open_served
from service.store import Store

_EXTENSION = "careerkg.graph"
# What answers while the store is filled in the background: liveness, readiness, metrics.
_WHILE_FILLING = {"ops.health", "ops.ready", "ops.metrics"}


def init_app(
    app: Flask,
    settings: Settings,
    store: Store | None = None,
    *,
    in_background: bool = False,
) -> ServedGraph:
    """Open (or take) the store, fill it if empty (or leave that to ``ServedGraph.fill_in_background``: see
    ``open_served``), and keep the served graph on the app."""
    served = open_served(settings, store, in_background=in_background)
    app.extensions[_EXTENSION] = served

    @app.before_request
    def _not_while_filling() -> None:
        if served.filling.is_set() and request.endpoint not in _WHILE_FILLING:
            raise Filling()

    return served


def get_graph() -> ServedGraph:
    """The served graph of the current app."""
    served: ServedGraph = current_app.extensions[_EXTENSION]
    return served


def current_version() -> str:
    """The dataset version, read from the store at most once per request (a remote store is asked over HTTP)."""
    served = get_graph()
    if not has_request_context():
        return served.version()
    cached: str | None = g.get("careerkg_version")
    if cached is None:
        cached = g.careerkg_version = served.version()
    return cached


def forget_version() -> None:
    """After a write in this request: the next read sees the new version."""
    if has_request_context():
        g.pop("careerkg_version", None)
