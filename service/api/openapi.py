"""The OpenAPI document as client generators take it: one Problem component for every error, operationIds in
listRoles/getRole style, a schema per answer.

flask-openapi3 generates the document from the routes and their pydantic models; ``polish`` finishes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.openapi import OpenAPI
from flask_openapi3.utils import parse_parameters

from service.api import editing, examples

SINGULAR = {
    "roles": "Role",
    "skills": "Skill",
    "tools": "Tool",
    "industries": "Industry",
    "applications": "Application",
    "credentials": "Credential",
}
PLURAL = {name: name.capitalize() for name in SINGULAR}
VERBS = {"get": "get", "put": "put", "patch": "patch", "delete": "delete", "post": "post"}
# Routes whose name says more than their path.
NAMED = {
    ("get", "search"): "search",
    ("get", "suggest"): "suggest",
    ("get", "compare"): "compareRoles",
    ("post", "match"): "matchRoles",
    ("get", "stats"): "getStats",
    ("get", "changes"): "listChanges",
}
PROBLEM = "#/components/schemas/Problem"


class DeferredBlueprint(APIBlueprint):
    """An APIBlueprint that documents its routes when the OpenAPI document is first asked for, not as they are
    declared: building their JSON schemas took 0.3 s of every worker's start. Routing and request validation
    take the same models either way (flask-openapi3's ``parse_parameters``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._undocumented: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []
        self._documenting = threading.Lock()

    def _collect_openapi_info(self, rule: str, func: Callable[..., Any], **kwargs: Any) -> Any:
        if self.doc_ui is True and kwargs.get("doc_ui", True) is True:
            self._undocumented.append((rule, func, kwargs))
        return parse_parameters(func, doc_ui=False)

    def document_into(self, app: OpenAPI) -> None:
        """Document the routes declared so far, into the blueprint and the app (as ``register_api`` does)."""
        with self._documenting:
            undocumented, self._undocumented = self._undocumented, []
            for rule, func, kwargs in undocumented:
                super()._collect_openapi_info(rule, func, **kwargs)
            for tag in self.tags:
                if tag.name not in app.tag_names:
                    app.tags.append(tag)
                    app.tag_names.append(tag.name)
            app.paths.update(**self.paths)
            app.components_schemas.update(**self.components_schemas)


def operation_id(method: str, path: str) -> str:
    """``listRoles``, ``getRole``, ``putTool``, ``listSkillRoles``, ``getRoleGap``… from a route's method and path."""
    parts = [p for p in path.removeprefix("/api/v1/").split("/") if p]
    if (method, parts[0]) in NAMED and len(parts) == 1:
        return NAMED[(method, parts[0])]
    collection = parts[0]
    if len(parts) == 1:
        return f"list{PLURAL.get(collection, collection.capitalize())}"
    owner = SINGULAR.get(collection, collection.capitalize())
    if len(parts) == 2:
        return f"{VERBS[method]}{owner}"
    tail = parts[2]
    if tail in PLURAL:
        return f"list{owner}{PLURAL[tail]}"
    return f"{VERBS[method]}{owner}{tail.capitalize()}"


def problem_schema() -> dict[str, Any]:
    """RFC 9457 problem details, with the members CareerKG adds where they apply."""
    return {
        "title": "Problem",
        "description": "RFC 9457 problem details: every error CareerKG answers is one.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "default": "about:blank"},
            "title": {"type": "string", "description": "A short name of the kind of problem."},
            "status": {"type": "integer", "description": "The HTTP status code."},
            "detail": {"type": "string", "description": "What was wrong, for a person to read."},
            "instance": {"type": "string", "description": "The path the problem occurred at."},
            "invalid-params": {
                "type": "array",
                "description": "400: each parameter that was wrong, and why.",
                "items": {
                    "type": "object",
                    "required": ["name", "reason"],
                    "properties": {"name": {"type": "string"}, "reason": {"type": "string"}},
                },
            },
            "conforms": {"type": "boolean", "description": "422: false; the change would break the shapes."},
            "results": {
                "type": "array",
                "description": "422: the SHACL results (focus node, path, value, message, severity, shape).",
                "items": {"type": "object", "additionalProperties": True},
            },
            "offered": {
                "type": "array",
                "description": "406: the media types this answer is offered in.",
                "items": {"type": "string"},
            },
        },
    }


def polish(document: dict[str, Any]) -> dict[str, Any]:
    """The generated document with one Problem component referred to by every error and named operations."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = problem_schema()
    _write_schemas(components)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in VERBS:
                continue
            if path.startswith("/api/v1/"):
                operation["operationId"] = operation_id(method, path)
                _exemplify(operation, examples.load().get(operation["operationId"]))
                if "requestBody" in operation:  # a body that is not JSON (api._json_bodies)
                    operation["responses"].setdefault(
                        "415",
                        {
                            "description": "The body is not JSON (Content-Type application/json).",
                            "content": {"application/problem+json": {"schema": {"$ref": PROBLEM}}},
                        },
                    )
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if "application/problem+json" in content:
                    content["application/problem+json"] = {"schema": {"$ref": PROBLEM}}
    return document


def _exemplify(operation: dict[str, Any], example: dict[str, Any] | None) -> None:
    """Put an operation's example (``service.api.examples``) where generators and the docs page show it: on its
    parameters, its request body and its answer."""
    if example is None:
        return
    values = {**example.get("query", {}), **({"id": example["id"]} if "id" in example else {})}
    for parameter in operation.get("parameters", []):
        if parameter["name"] in values:
            parameter["example"] = values[parameter["name"]]
    if "body" in example and "requestBody" in operation:
        for content in operation["requestBody"].get("content", {}).values():
            content["example"] = example["body"]
    answered = operation.get("responses", {}).get(str(example["status"]), {})
    if "application/json" in answered.get("content", {}):
        answered["content"]["application/json"]["example"] = example["answer"]


def _write_schemas(components: dict[str, Any]) -> None:
    """The write bodies as pydantic states them. flask-openapi3's copy drops ``patternProperties`` and
    ``propertyNames``, which would leave a language map saying it takes no key at all."""
    for kind in editing.LINKS:
        for model in editing.write_models(kind):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(schema.pop("$defs", {}))
            components[model.__name__] = schema
