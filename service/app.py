"""The application factory."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, request
from flask_compress import Compress
from flask_cors import CORS
from flask_openapi3.models.info import Info
from flask_openapi3.openapi import OpenAPI
from werkzeug.middleware.proxy_fix import ProxyFix

from service import conditional, graph, metrics, problems
from service.api import openapi
from service.config import Settings
from service.errors import CareerKGError
from service.jsonbody import BoundedJSONProvider
from service.limits import BodyLimit
from service.store import Store

__version__ = "0.1.0"
# What is compressed when the client accepts it (whole answers only).
COMPRESSED = [
    "application/json",
    "application/problem+json",
    "application/ld+json",
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "application/n-triples",
    "application/rdf+xml",
    "application/trig",
    "application/n-quads",
    "text/turtle",
    "text/csv",
    "text/tab-separated-values",
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
]


# The request headers werkzeug's make_conditional answers (304 or 412); without any of them it changes nothing.
_CONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE")
_ENCODING_LABEL = re.compile(r':(?:br|gzip|zstd|deflate)"')
SYNC_CACHE_MOST = 512  # functions whose coroutine check is remembered (a callable made per request is not kept)


def _unencoded_tags(environ: dict[str, Any]) -> dict[str, Any]:
    """The request with its entity tags naming the unencoded answer: a client that got a compressed answer holds
    "tag:gzip" (flask-compress labels the encodings), and compares it here, before compression, with "tag"."""
    tags = ("HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH")
    return {**environ, **{key: _ENCODING_LABEL.sub('"', environ[key]) for key in tags if key in environ}}


class _OpenAPI(OpenAPI):
    """flask-openapi3's app, its document finished for client generators (service.api.openapi.polish)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's, remembered: it asks of each hook and view, at each request, whether it is a coroutine function
        (eleven times a request to /health, a tenth of its time)."""
        try:
            sync = self._sync.get(func)
        except TypeError:  # a callable that cannot be a key
            return super().ensure_sync(func)
        if sync is None:
            sync = super().ensure_sync(func)
            if len(self._sync) < SYNC_CACHE_MOST:
                self._sync[func] = sync
        return sync

    def generate_spec_json(self) -> None:
        for blueprint in list(self.blueprints.values()):
            if isinstance(blueprint, openapi.DeferredBlueprint):
                blueprint.document_into(self)
        super().generate_spec_json()  # type: ignore[no-untyped-call]
        self.spec_json = openapi.polish(self.spec_json)


def create_app(
    config: Settings | Mapping[str, Any] | None = None,
    *,
    store: Store | None = None,
    fill_failed: Callable[[CareerKGError], None] | None = None,
) -> OpenAPI:
    """Build the CareerKG app: settings, store, blueprints, error handler.

    ``store`` serves an already opened store instead of the configured one (tests swap in their own). With
    ``fill_failed`` an empty store is filled in the background (the server answers /health meanwhile, /ready when
    the data is in) and ``fill_failed`` is called if it cannot be.
    """
    settings = config if isinstance(config, Settings) else Settings.load(config)
    app = _OpenAPI(
        __name__,
        info=Info(
            title="CareerKG API",
            version=__version__,
            description="The open knowledge graph of AI and ML careers, for frontends: roles, skills, tools, "
            "industries, applications and credentials; search and autocomplete; compare, gap, match and paths. "
            "Errors are RFC 9457 problem documents. SPARQL 1.1 is at /sparql.",
        ),
        security_schemes={
            "bearer": {"type": "http", "scheme": "bearer", "description": "CAREERKG_WRITE_TOKEN, for writes"}
        },
        doc_prefix="/docs",
        doc_url="/openapi.json",
        validation_error_status=400,
        validation_error_callback=problems.validation_error,
    )
    app.json = BoundedJSONProvider(app)
    app.config["CAREERKG"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.wsgi_app = BodyLimit(app.wsgi_app, settings.max_body)  # type: ignore[method-assign]
    if settings.proxy_hops:  # links in answers name the host, scheme and prefix the client used, behind the proxy
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    problems.init_app(app)  # (first: a request's own form is checked before it waits for the fill)
    served = graph.init_app(app, settings, store, in_background=fill_failed is not None)
    metrics.init_app(app, lambda: served.pool.timeouts)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()] or "*"
    # gzip/br/zstd for whole answers a client accepts them for; streamed SPARQL answers stay as they are, so a
    # timeout can still cut one off visibly (see service.sparql.pool).
    app.config.update(
        COMPRESS_MIMETYPES=COMPRESSED,
        COMPRESS_STREAMS=False,
        COMPRESS_MIN_SIZE=1024,
        COMPRESS_ALGORITHM=["br", "gzip", "zstd", "deflate"],
    )
    Compress(app)

    @app.after_request
    def _no_sniffing(response: Response) -> Response:
        """Browsers take each answer as the Content-Type it names (a JSON or Turtle answer is never run as a page)."""
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.after_request
    def _validators(response: Response) -> Response:
        """Every whole 200 answer to a GET without an ETag of its own (pages, /id, the service description, the
        OpenAPI document) gets one from its bytes, and answers If-None-Match (304) and If-Match (412) by it; not one
        never to be stored (/health, /ready, /metrics). Registered after compression, so it runs before it: the tag
        is the unencoded answer's."""
        if (
            request.method in ("GET", "HEAD")
            and response.status_code == 200
            and not response.is_streamed
            and not response.direct_passthrough
            and "ETag" not in response.headers
            and "no-store" not in response.headers.get("Cache-Control", "")
        ):
            response.add_etag()
            response.headers.setdefault("Cache-Control", "no-cache")
            if any(header in request.environ for header in _CONDITIONS):
                response.make_conditional(_unencoded_tags(request.environ))
                if response.status_code == 304:
                    del response.headers["Content-Type"]
                    tag = response.get_etag()[0]
                    if tag is not None:  # named as the client holds it (with the encoding label its 200 had)
                        response.set_etag(conditional.not_modified(tag) or tag)
        return response

    CORS(
        app,
        origins=origins,
        expose_headers=["ETag", "Location", "Content-Length", "Link"],
        allow_headers=["Authorization", "Content-Type", "Accept", "If-None-Match", "If-Match"],
        max_age=86400,
    )

    from service.blueprints import api, docs, graph_store, linked_data, ops, sparql, validate, web

    app.register_blueprint(ops.bp)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(graph_store.bp)
    app.register_blueprint(linked_data.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(web.bp)
    app.register_blueprint(validate.bp)
    app.register_api(api.bp)
    docs.one_address(app)
    if fill_failed is not None and served.filling.is_set():
        served.fill_in_background(fill_failed, warm=lambda: api.warm(app))
    return app
