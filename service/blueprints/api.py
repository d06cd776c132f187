"""REST routes for frontends under /api/v1; documented by the OpenAPI document generated from the schemas."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Flask, Response, current_app, g, json, request, url_for
from flask_openapi3.models.tag import Tag
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from service import auth, conditional
from service.api import editing
from service.api import schemas as s
from service.api.catalog import COLLECTIONS, Catalog, Entry, Index, iri, served_language
from service.api.jsonld import with_graph_literals
from service.api.openapi import DeferredBlueprint
from service.errors import CareerKGError, NotFound, UnsupportedMediaType
from service.graph import current_version, forget_version, get_graph
from service.namespaces import CKG, CREDENTIAL_KINDS
from service.problems import invalid_params, no_body
from service.store import Store
from service.writes import Delta


def _problem(description: str) -> dict[str, Any]:
    schema = s.Problem.model_json_schema(by_alias=True)
    return {"description": description, "content": {"application/problem+json": {"schema": schema}}}


bp = DeferredBlueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    abp_responses={
        "400": _problem("A parameter is missing, unknown or malformed; invalid-params names each."),
        "404": _problem("No resource with that id."),
    },
)
RESOURCES = Tag(name="resources", description="Roles, skills, tools, industries, applications, credentials.")
NAVIGATION = Tag(name="navigation", description="From a resource to the resources that point at it.")
DISCOVERY = Tag(name="search", description="Ranked search and autocomplete.")
ANALYTICS = Tag(name="analytics", description="Compare roles, find skill gaps, match a profile, find career paths.")
_EXTENSION = "careerkg.catalog"
_ANSWERS = "careerkg.answers"
_CKG = CKG
JSONLD = "application/ld+json"


# --- plumbing: one catalog per app, ETags from the dataset version, JSON or JSON-LD -------------


def catalog() -> tuple[Catalog, Index]:
    served = get_graph()
    found: Catalog | None = current_app.extensions.get(_EXTENSION)
    if found is None:
        found = current_app.extensions[_EXTENSION] = Catalog(served.store)
    return found, found.index(current_version())


def warm(app: Flask) -> None:
    """Build the catalog's index for the current dataset version (after a background fill: the first request
    would otherwise wait for it, about 12 s at a million triples)."""
    with app.app_context():
        catalog()


def _etag() -> str:
    # What the answer depends on besides the data: the URL (its host too: links in answers are absolute), Accept,
    # and (the change log) who asks.
    return conditional.etag(
        request.host,
        request.full_path,
        request.headers.get("Accept", ""),
        request.headers.get("Accept-Language", ""),
        request.headers.get("Authorization", ""),
    )


class Answers:
    """Encoded REST answers by ETag (the ETag names the dataset version, the URL, Accept and the credentials):
    a GET answered before is sent again as the same bytes, with no view, schema or catalog work. Bounded in
    entries and in bytes: every variation of a header makes an entry of its own, so a client varying Accept grew
    the server by about 230 KB a request while the bound was in entries alone. The least recently used go first;
    a new dataset version makes the old entries unreachable, and they age out."""

    def __init__(self, size: int = 4096, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[bytes, str, str, str]] = OrderedDict()

    def get(self, etag: str) -> tuple[bytes, str, str, str] | None:
        with self._lock:
            found = self._entries.get(etag)
            if found is not None:
                self._entries.move_to_end(etag)
            return found

    def put(self, etag: str, body: bytes, mimetype: str, links: str, served: str) -> None:
        if len(body) > self.max_bytes // 16:  # one answer never takes more than a sixteenth of the room
            return
        with self._lock:
            old = self._entries.pop(etag, None)
            if old is not None:
                self.bytes -= len(old[0])
            self._entries[etag] = (body, mimetype, links, served)
            self.bytes += len(body)
            while len(self._entries) > self._size or self.bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self.bytes -= len(dropped[0])

    def __len__(self) -> int:
        return len(self._entries)


def _answers() -> Answers:
    found: Answers | None = current_app.extensions.get(_ANSWERS)
    if found is None:
        found = current_app.extensions[_ANSWERS] = Answers()
    return found


def _finish(response: Response, etag: str, links: str = "", served: str | None = None) -> Response:
    if request.method == "GET" and conditional.star_none_match():  # there is an answer, and the client has one
        response = no_body(304)
    if links:
        response.headers["Link"] = links
    if served:
        response.headers["Content-Language"] = served
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, no-cache"
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


@bp.before_request
def _not_modified() -> Response | None:
    """Answer 304 before doing any work when the client's copy is current, or the same bytes as before (412 when
    If-Match is false)."""
    if request.method not in ("GET", "HEAD"):
        return None
    etag = _etag()
    held = conditional.not_modified(etag)  # (the client holds it: the answer exists)
    if held is not None:
        conditional.check_read(etag)
        return _finish(no_body(304), held)  # with the headers the 200 has, and the tag as the client holds it
    cached = _answers().get(etag)
    if cached is not None:
        conditional.check_read(etag)
        return _finish(Response(cached[0], mimetype=cached[1]), etag, cached[2], cached[3])
    return None


@bp.before_request
def _writers_first() -> None:
    """A write without a valid token is 401/403 before its body is looked at (no 400 to someone not allowed)."""
    if request.method in ("PUT", "PATCH", "DELETE", "POST") and request.endpoint != "api.match":
        auth.require_writer(request, current_app.config["CAREERKG"])


@bp.before_request
def _one_value_each() -> Response | None:
    """A query parameter given twice is 400 naming it: no REST parameter takes several values (lists are
    comma-separated), and silently answering for the first of two would hide the client's mistake."""
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        return invalid_params([{"name": name, "reason": "given more than once; give it once"} for name in repeated])
    return None


@bp.before_request
def _json_bodies() -> None:
    """A body sent to a REST route is JSON: another Content-Type is 415, named, before the body is read."""
    if request.method in ("PUT", "PATCH", "POST") and not (
        request.mimetype == "application/json" or request.mimetype.endswith("+json")
    ):
        given = f"Content-Type {request.mimetype!r}" if request.mimetype else "no Content-Type"
        raise UnsupportedMediaType(f"this route reads a JSON body (application/json); the request has {given}")


def language(query: Any) -> str:
    """The language of an answer: ``?lang=`` if given, else the best of Accept-Language the data has, else English."""
    _, index = catalog()
    offered = [lang for lang in index.languages if lang]
    if getattr(query, "lang", None):
        chosen = str(query.lang)
    else:
        chosen = (request.accept_languages.best_match(offered) if offered else None) or "en"
    # Content-Language says what is served: the language asked for, its primary language, or the English fallback.
    g.careerkg_language = served_language(chosen, offered)
    return chosen


def reply(body: dict[str, Any]) -> Response:
    """JSON (or JSON-LD when asked for) with an ETag tied to the dataset version."""
    accept = parse_accept_header(request.headers.get("Accept", ""), MIMEAccept)
    mimetype = "application/json"
    if accept and accept.best_match(["application/json", JSONLD]) == JSONLD:
        cat, _ = catalog()
        body = {
            "@context": url_for("linked_data.context", _external=True),
            **with_graph_literals(body, cat.statements_about),
        }
        mimetype = JSONLD
    encoded = json.dumps(body).encode()
    etag = _etag()
    if request.method in ("GET", "HEAD"):
        conditional.check_read(etag)  # here, once the answer is known to be a 200 (not a 404 or a 400)
    links = ", ".join(f'<{body[rel]}>; rel="{rel}"' for rel in _LINK_RELATIONS if body.get(rel))
    served = g.get("careerkg_language", "")
    if request.method == "GET":
        _answers().put(etag, encoded, mimetype, links, served)
    return _finish(Response(encoded, mimetype=mimetype), etag, links, served)


def envelope(window: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    """The paging envelope around one page of items: the total, and the URLs of the next, previous, first and last
    pages (null where there is none); ``reply`` repeats them as an RFC 8288 ``Link`` header."""

    def at(start: int) -> str:
        args = request.args.to_dict(flat=True)
        args.update(offset=str(start), limit=str(limit))
        return f"{request.base_url}?{urlencode(args)}"

    last = max(0, (total - 1) // limit * limit)
    return {
        "items": window,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next": at(offset + limit) if offset + limit < total else None,
        "prev": at(max(0, offset - limit)) if offset > 0 else None,
        "first": at(0),
        "last": at(last),
    }


_LINK_RELATIONS = ("next", "prev", "first", "last")


def page(items: Sequence[dict[str, Any]], limit: int, offset: int) -> dict[str, Any]:
    """One page of a list of items."""
    return envelope(list(items[offset : offset + limit]), len(items), limit, offset)


def entries_page(entries: Sequence[Entry], query: s.PageQuery) -> dict[str, Any]:
    """One page of index entries, turned into items only for that page."""
    window = [e.item(language(query)) for e in entries[query.offset : query.offset + query.limit]]
    return envelope(window, len(entries), query.limit, query.offset)


# --- lists and details ---------------------------------------------------------------------


@bp.get(
    "/roles",
    tags=[RESOURCES],
    responses={200: s.Page},
    summary="List roles",
    description="Filter by skill, tool, industry or credential; search labels with q.",
)
def list_roles(query: s.RoleListQuery) -> Response:
    cat, index = catalog()
    filters = cat.role_filters(query.skill, query.tool, query.industry, query.credential)
    return reply(entries_page(cat.entries(index, "role", language(query), query.q, filters), query))


@bp.get(
    "/skills",
    tags=[RESOURCES],
    responses={200: s.Page},
    summary="List skills",
    description="Filter by skill category (any depth below it).",
)
def list_skills(query: s.SkillListQuery) -> Response:
    cat, index = catalog()
    filters = {"category": cat.skills_under(query.category) if query.category else None}
    return reply(entries_page(cat.entries(index, "skill", language(query), query.q, filters), query))


@bp.get(
    "/tools",
    tags=[RESOURCES],
    responses={200: s.Page},
    summary="List tools",
    description="Filter by tool category (framework, library, platform, programming-language, …) or supported skill.",
)
def list_tools(query: s.ToolListQuery) -> Response:
    cat, index = catalog()
    filters: dict[str, set[str] | None] = {}
    if query.category:
        filters["category"] = cat.linked_subjects(f"{_CKG}toolCategory", iri("tool-category", query.category))
    if query.skill:
        filters["skill"] = cat.linked_subjects(f"{_CKG}supportsSkill", iri("skill", query.skill))
    return reply(entries_page(cat.entries(index, "tool", language(query), query.q, filters), query))


@bp.get("/industries", tags=[RESOURCES], responses={200: s.Page}, summary="List industries")
def list_industries(query: s.PageQuery) -> Response:
    cat, index = catalog()
    return reply(entries_page(cat.entries(index, "industry", language(query), query.q, {}), query))


@bp.get(
    "/applications",
    tags=[RESOURCES],
    responses={200: s.Page},
    summary="List applications",
    description="Filter by industry.",
)
def list_applications(query: s.ApplicationListQuery) -> Response:
    cat, index = catalog()
    filters = {
        "industry": cat.linked_subjects(f"{_CKG}inIndustry", iri("industry", query.industry))
        if query.industry
        else None
    }
    return reply(entries_page(cat.entries(index, "application", language(query), query.q, filters), query))


@bp.get(
    "/credentials",
    tags=[RESOURCES],
    responses={200: s.Page},
    summary="List credentials",
    description="Filter by kind: degree, certification, course or apprenticeship.",
)
def list_credentials(query: s.CredentialListQuery) -> Response:
    cat, index = catalog()
    filters = {"kind": cat.typed(CREDENTIAL_KINDS[query.kind]) if query.kind else None}
    return reply(entries_page(cat.entries(index, "credential", language(query), query.q, filters), query))


def _detail(kind: str) -> Callable[[s.IdPath, s.LangQuery], Response]:
    def view(path: s.IdPath, query: s.LangQuery) -> Response:
        cat, index = catalog()
        return reply(cat.detail(index, kind, path.id, language(query)))

    view.__name__ = f"get_{kind}"
    return view


_DETAILS: list[tuple[str, str, type[s.Detail]]] = [
    ("roles", "role", s.RoleDetail),
    ("skills", "skill", s.SkillDetail),
    ("tools", "tool", s.ToolDetail),
    ("industries", "industry", s.IndustryDetail),
    ("applications", "application", s.ApplicationDetail),
    ("credentials", "credential", s.CredentialDetail),
]
for _collection, _kind, _model in _DETAILS:
    bp.get(
        f"/{_collection}/<id>",
        tags=[RESOURCES],
        responses={200: _model},
        summary=f"One {_kind}, with everything the graph knows of it",
        operation_id=f"get_{_kind}",
    )(_detail(_kind))


# --- reverse navigation ----------------------------------------------------------------------


def _reverse(
    kind: str, links: Sequence[tuple[str, str | None]], result_kind: str
) -> Callable[[s.IdPath, s.PageQuery], Response]:
    def view(path: s.IdPath, query: s.PageQuery) -> Response:
        cat, index = catalog()
        target = cat.entry(index, kind, path.id)
        found: dict[str, str | None] = {}
        for predicate, importance in links:
            for subject in cat.linked_subjects(_CKG + predicate, target.iri):
                found.setdefault(subject, importance)
        entries = [e for e in cat.entries(index, result_kind, language(query), query.q, {}) if e.iri in found]
        items = [e.item(language(query), **({"importance": found[e.iri]} if found[e.iri] else {})) for e in entries]
        return reply(page(items, query.limit, query.offset))

    view.__name__ = f"{kind}_{result_kind}s"
    return view


_REVERSE: list[tuple[str, str, str, Sequence[tuple[str, str | None]], str]] = [
    ("skills", "skill", "roles", [("essentialSkill", "essential"), ("optionalSkill", "optional")], "role"),
    ("skills", "skill", "tools", [("supportsSkill", None)], "tool"),
    ("tools", "tool", "roles", [("usesTool", None)], "role"),
    ("industries", "industry", "roles", [("inIndustry", None)], "role"),
    ("industries", "industry", "applications", [("inIndustry", None)], "application"),
    ("applications", "application", "roles", [("worksOnApplication", None)], "role"),
    ("credentials", "credential", "roles", [("requiredCredential", None), ("recommendedCredential", None)], "role"),
]
for _collection, _kind, _target, _links, _result in _REVERSE:
    bp.get(
        f"/{_collection}/<id>/{_target}",
        tags=[NAVIGATION],
        responses={200: s.RolePage if _result == "role" else s.Page},
        summary=f"The {_target} of a {_kind}",
        operation_id=f"{_kind}_{_target}",
    )(_reverse(_kind, _links, _result))


# --- writes for curators (bearer token) -----------------------------------------------------

EDITING = Tag(
    name="editing",
    description="Curator writes: validated against the shapes before they commit (422 otherwise). With If-Match "
    "and an ETag read before, a write goes ahead only if nothing was written since (412 otherwise); If-None-Match: *"
    " creates, never replaces.",
)
SECURED: list[dict[str, list[str]]] = [{"bearer": []}]


def _write_view(kind: str, method: str) -> Callable[..., Response]:
    if method == "DELETE":

        def delete(path: s.IdPath) -> Response:
            return _write(kind, method, path, None)

        delete.__name__ = f"delete_{kind}"
        return delete

    def view(path: s.IdPath, body: s.ResourceWrite) -> Response:
        return _write(kind, method, path, editing.as_write(body))

    view.__name__ = f"{method.lower()}_{kind}"
    # The kind's own body (its link and text fields; for PUT what the shapes require), as the docs show it.
    put, patch = editing.write_models(kind)
    view.__annotations__ = {"path": s.IdPath, "body": put if method == "PUT" else patch, "return": Response}
    return view


def _write(kind: str, method: str, path: s.IdPath, body: s.ResourceWrite | None) -> Response:
    """One REST write, through the one write path."""
    user = auth.require_writer(request, current_app.config["CAREERKG"])
    served = get_graph()
    subject = ox.NamedNode(iri(kind, path.id))
    existed = False

    def exists() -> bool:
        return next(served.store.quads_of(subject=subject), None) is not None

    def build(store: Store) -> Delta:
        nonlocal existed
        existed = exists()
        if method != "PUT" and not existed:
            raise NotFound(f"no {kind} with id {path.id!r}" + ("; create it with PUT" if method == "PATCH" else ""))
        if method == "DELETE":
            return editing.delete_delta(store, kind, path.id)
        assert body is not None
        change = editing.patch_delta if method == "PATCH" else editing.put_delta
        return change(store, kind, path.id, body)

    delta: Delta | None = None

    def recorded(store: Store) -> Delta:
        nonlocal delta
        delta = build(store)
        return delta

    report = served.edit(recorded, user, f"rest {method} {kind}/{path.id}", conditional.write_check(exists))
    forget_version()
    assert delta is not None
    result = {
        "id": path.id,
        "iri": subject.value,
        "dataset_version": f"{served.instance}-{current_version()}",
        "added": len(delta.added),
        "removed": len(delta.removed),
        "warnings": [w.to_json() for w in report.warnings],
    }
    status = 201 if method == "PUT" and not existed else 200
    return Response(json.dumps(result), status=status, mimetype="application/json")


_WRITE_RESPONSES: dict[str | int, Any] = {
    "401": _problem("No bearer token."),
    "403": _problem("Writes are off, or the token is not valid."),
    "412": _problem(
        "If-Match names no ETag read since the last write (or If-None-Match: * and the resource exists, or If-Match: *"
        " and it does not); nothing was written. Read again and retry."
    ),
    "422": _problem("The change would break the shapes; nothing was written. results lists each SHACL result."),
}
for _collection, _kind in COLLECTIONS.items():
    fields = ", ".join(sorted(editing.LINKS[_kind])) or "none"
    texts = ", ".join(sorted([*editing.TEXTS[_kind], *editing.PLAIN.get(_kind, {})])) or "none"
    bp.put(
        f"/{_collection}/<id>",
        tags=[EDITING],
        security=SECURED,
        responses={200: s.WriteResult, 201: s.WriteResult, **_WRITE_RESPONSES},
        summary=f"Create or replace a {_kind}",
        description=f"links fields: {fields}. values fields: {texts}.",
    )(_write_view(_kind, "PUT"))
    bp.patch(
        f"/{_collection}/<id>",
        tags=[EDITING],
        security=SECURED,
        responses={200: s.WriteResult, **_WRITE_RESPONSES},
        summary=f"Change some fields of a {_kind}",
        description=f"Only the fields given are replaced. links fields: {fields}. values fields: {texts}.",
    )(_write_view(_kind, "PATCH"))

    bp.delete(
        f"/{_collection}/<id>",
        tags=[EDITING],
        security=SECURED,
        responses={200: s.WriteResult, **_WRITE_RESPONSES},
        summary=f"Delete a {_kind} and every statement pointing at it",
    )(_write_view(_kind, "DELETE"))


@bp.get("/changes", tags=[EDITING], responses={200: s.ChangePage}, summary="The change log, newest first")
def changes(query: s.ChangesQuery) -> Response:
    """Who wrote is shown to writers only (the request carries a write token); others see what changed."""
    entries, total = get_graph().changes(query.offset, query.limit)
    try:
        auth.require_writer(request, current_app.config["CAREERKG"])
    except CareerKGError:
        entries = [{**entry, "who": None} for entry in entries]
    return reply(envelope(entries, total, query.limit, query.offset))


# --- search -------------------------------------------------------------------------------------


@bp.get(
    "/search",
    tags=[DISCOVERY],
    responses={200: s.Page},
    summary="Ranked search",
    description="Exact label first, then label prefix, label words, alternative labels, description words.",
)
def search(query: s.SearchQuery) -> Response:
    cat, index = catalog()
    found = cat.search(index, query.q, query.type, language(query))
    return reply(page([e.item(language(query)) for e in found], query.limit, query.offset))


@bp.get(
    "/suggest",
    tags=[DISCOVERY],
    responses={200: s.SuggestPage},
    summary="Autocomplete",
    description="Prefix matches on labels and alternative labels, in the requested language; fast.",
)
def suggest(query: s.SuggestQuery) -> Response:
    cat, index = catalog()
    items = cat.suggest(index, query.q, query.type, language(query), query.limit)
    return reply({"items": items, "total": len(items), "limit": query.limit, "offset": 0, "next": None})


# --- analytics ------------------------------------------------------------------------------------


@bp.get(
    "/compare",
    tags=[ANALYTICS],
    responses={200: s.Comparison},
    summary="Compare two or three roles",
    description=s.Comparison.model_fields["similarity"].description or "",
)
def compare(query: s.CompareQuery) -> Response:
    cat, index = catalog()
    return reply(cat.compare(index, query.roles.split(","), language(query)))


@bp.get(
    "/roles/<id>/gap",
    tags=[ANALYTICS],
    responses={200: s.Gap},
    summary="What is missing to move into a role",
    description="Give the role you have (from=) and/or the skills and tools you have (none: from scratch); "
    "missing essential skills come first.",
)
def gap(path: s.IdPath, query: s.GapQuery) -> Response:
    cat, index = catalog()
    skills = query.skills.split(",") if query.skills else []
    tools = query.tools.split(",") if query.tools else []
    return reply(cat.gap(index, path.id, start=query.from_, skills=skills, tools=tools, lang=language(query)))


@bp.post(
    "/match",
    tags=[ANALYTICS],
    responses={200: s.Matches},
    summary="Roles ranked by fit to a profile",
    description=s.RoleMatch.model_fields["score"].description or "",
)
def match(body: s.MatchBody, query: s.MatchQuery) -> Response:
    cat, index = catalog()
    return reply(cat.match(index, body.skills, body.tools, body.limit, language(query)))


@bp.get(
    "/roles/<id>/paths",
    tags=[ANALYTICS],
    responses={200: s.Paths},
    summary="Career paths between two roles",
    description="Sequences of career transitions, shortest first.",
)
def paths(path: s.IdPath, query: s.PathsQuery) -> Response:
    cat, index = catalog()
    return reply(
        cat.paths(index, path.id, query.to, max_steps=query.max_steps, limit=query.limit, lang=language(query))
    )


@bp.get("/stats", tags=[ANALYTICS], responses={200: s.Stats}, summary="Counts per kind, triples, dataset version")
def stats(query: s.LangQuery) -> Response:
    cat, index = catalog()
    served = get_graph()
    return reply(cat.stats(index, served.size(), f"{served.instance}-{current_version()}"))
