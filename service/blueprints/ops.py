"""Operations: liveness and readiness."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from flask.typing import ResponseReturnValue

from service.errors import CareerKGError
from service.graph import get_graph
from service.metrics import get_metrics
from service.problems import problem, public

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


@bp.after_request
def _never_stored(response: Response) -> Response:
    """What these answer is the state of the moment: no cache keeps it."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/health")
def health() -> ResponseReturnValue:
    """Liveness: the process answers."""
    return jsonify(status="ok")


@bp.get("/ready")
def ready() -> ResponseReturnValue:
    """Readiness: the store answers and holds data. It names no path or URL: the log says which store it is."""
    served = get_graph()
    try:
        ready, status = served.ready()
    except CareerKGError as exc:
        log.warning("not ready: %s", exc.message)
        return problem(503, "Not ready", public(exc.message))
    if not ready:
        return jsonify(status=status), 503
    return jsonify(status=status, quads=served.size())


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Prometheus metrics."""
    return get_metrics(current_app).exposition()
