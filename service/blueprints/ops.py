"""Operations: liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from service.errors import CareerKGError
from service.graph import get_graph
from service.metrics import get_metrics
from service.problems import problem

bp = Blueprint("ops", __name__)


@bp.get("/health")
def health() -> ResponseReturnValue:
    """Liveness: the process answers."""
    return jsonify(status="ok")


@bp.get("/ready")
def ready() -> ResponseReturnValue:
    """Readiness: the store answers and holds data."""
    graph = get_graph()
    store = graph.store
    try:
        ready, status = graph.ready()
    except CareerKGError as exc:
        return problem(503, "Not ready", f"{exc.message}", store=store.location)
    if not ready:
        return jsonify(status=status, store=store.location), 503
    return jsonify(status=status, store=store.location, quads=len(store))


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Prometheus metrics."""
    return get_metrics(current_app).exposition()
