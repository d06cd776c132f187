"""JSON request bodies, read with a bound on nesting: deep input is a 400, never a crash or a 500."""

from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

from service.errors import BadRequest

MAX_DEPTH = 64  # arrays and objects inside each other; no REST body needs more than a few


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, refusing documents nested deeper than MAX_DEPTH (400)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:  # CPython's decoder stops itself before the C stack runs out
            raise BadRequest(f"the JSON body nests arrays and objects more than {MAX_DEPTH} deep") from None
        if depth(value) > MAX_DEPTH:
            raise BadRequest(f"the JSON body nests arrays and objects more than {MAX_DEPTH} deep")
        return value


def depth(value: Any) -> int:
    """How deep arrays and objects nest in a decoded JSON value (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest
