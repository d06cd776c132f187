"""The application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_cors import CORS

from service import graph, metrics, problems
from service.config import Settings


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the CareerKG app: settings, store, blueprints, error handler."""
    settings = config if isinstance(config, Settings) else Settings.load(config)
    app = Flask(__name__)
    app.config["CAREERKG"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    graph.init_app(app, settings)
    problems.init_app(app)
    pool = app.extensions["careerkg.graph"].pool
    metrics.init_app(app, lambda: pool.timeouts if pool is not None else 0)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()] or "*"
    CORS(
        app,
        origins=origins,
        expose_headers=["ETag", "Location", "Content-Length", "Link"],
        allow_headers=["Authorization", "Content-Type", "Accept", "If-None-Match", "If-Match"],
        max_age=86400,
    )

    from service.blueprints import graph_store, ops, sparql

    app.register_blueprint(ops.bp)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(graph_store.bp)
    return app
