"""The application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from service import graph, problems
from service.config import Settings


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the CareerKG app: settings, store, blueprints, error handler."""
    settings = config if isinstance(config, Settings) else Settings.load(config)
    app = Flask(__name__)
    app.config["CAREERKG"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    graph.init_app(app, settings)
    problems.init_app(app)

    from service.blueprints import ops, sparql

    app.register_blueprint(ops.bp)
    app.register_blueprint(sparql.bp)
    return app
