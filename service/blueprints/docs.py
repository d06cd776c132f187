"""The OpenAPI document at /openapi.json and the interactive docs at /docs (Swagger UI, assets served here)."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template_string
from flask.typing import ResponseReturnValue
from flask_openapi3_swagger.templates import swagger_html_string

bp = Blueprint("docs", __name__)

# flask-openapi3-swagger serves Swagger UI's files under /docs/swagger/; its page links them relatively.
_PAGE = swagger_html_string.replace('href="swagger/', 'href="/docs/swagger/').replace(
    'src="swagger/', 'src="/docs/swagger/'
)


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 document, generated from the REST routes and their schemas."""
    return jsonify(current_app.api_doc)  # type: ignore[attr-defined]


@bp.get("/docs")
def docs() -> ResponseReturnValue:
    """Swagger UI over /openapi.json."""
    return render_template_string(_PAGE, doc_url="/openapi.json", swagger_config=None, oauth_config=None)


def one_address(app: Flask) -> None:
    """One OpenAPI URL and one docs page: flask-openapi3's own copies send their clients there (308)."""
    app.view_functions["openapi.doc_url"] = lambda: redirect("/openapi.json", 308)
    app.view_functions["openapi.openapi"] = lambda: redirect("/docs", 308)
    app.view_functions["swagger.swagger"] = lambda: redirect("/docs", 308)
