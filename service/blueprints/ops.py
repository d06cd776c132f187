"""Operations: liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from service.graph import get_store
from service.metrics import get_metrics

bp = Blueprint("ops", __name__)


@bp.get("/health")
def health() -> ResponseReturnValue:
    """Liveness: the process answers."""
    return jsonify(status="ok")


@bp.get("/ready")
def ready() -> ResponseReturnValue:
    """Readiness: the store answers and holds data."""
    store = get_store()
    if store.is_empty():
        return jsonify(status="empty", store=store.location), 503
    return jsonify(status="ready", store=store.location, quads=len(store))


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Prometheus metrics."""
    return get_metrics(current_app).exposition()
