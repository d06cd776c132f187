"""The explorer page at /: a way into the graph for people."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("web", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    """The explorer: search, roles, compare, and links to the API docs and the SPARQL editor."""
    return render_template("home.html")
