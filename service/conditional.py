"""Conditional requests (RFC 9110 section 13) on answers whose ETag names the dataset version: the REST answers and
the Graph Store's graphs.

Such an ETag is ``{instance}-{version}-{variant}``: the dataset the answer was read from, and a hash of whatever
else the answer depends on (its URL, Accept, ...). A read compares the whole tag (If-None-Match: 304; If-Match:
412). A write compares the dataset part with the version its change is computed against, under the write lock (and
its commit is conditional on that version), so that nothing can be written between the check and the write:
``If-Match`` with the tag of anything read since the last write lets the write go ahead, a tag read before it is 412,
and so two clients editing the same data cannot overwrite each other's change unseen. A tag may also be the
``dataset_version`` a REST write or ``/stats`` answers, to chain writes without reading in between. ``If-Match: *``
asks that the target exist, ``If-None-Match: *`` that it not (create, never replace). The version is the whole
dataset's: a write anywhere makes every tag read before it stale (the client reads again and retries).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import request

from service.errors import BadRequest, PreconditionFailed
from service.graph import current_version, get_graph

_OPAQUE = re.compile(r"[\x21\x23-\x7e\x80-\xff]*")  # etagc (RFC 9110 section 8.8.3), between the quotes
_OWS = " \t"


@dataclass(frozen=True)
class _Tags:
    """An If-Match or If-None-Match field: ``*``, or the tags it lists as the client holds them (each with the
    encoding label it got, "x:gzip", as the compression layer labels an encoded answer's tag), strong or weak."""

    star: bool
    held: tuple[tuple[str, bool], ...]  # (opaque tag, weak)

    def any_of(self, tag: str, *, weak: bool) -> str | None:
        """The form the client holds of ``tag`` (whatever its encoding label), if listed; weak ones only if ``weak``."""
        return next(
            (held for held, is_weak in self.held if held.split(":", 1)[0] == tag and (weak or not is_weak)), None
        )

    def names(self, *, weak: bool) -> set[str]:
        return {held.split(":", 1)[0] for held, is_weak in self.held if weak or not is_weak}


def _field(name: str, *, strict: bool) -> _Tags | None:
    """The request's ``name`` field, None when absent. Malformed: 400 when ``strict`` (a condition a client asked for
    is never dropped: a write would go ahead unconditionally), else taken as absent."""
    value = request.headers.get(name)
    if value is None:
        return None
    if value.strip(_OWS) == "*":
        return _Tags(star=True, held=())
    held = _entity_tags(value)
    if held is None:
        if strict:
            raise BadRequest(
                f'{name} must be * or a comma-separated list of entity tags ("tag" or W/"tag"), got {value[:200]!r}'
            )
        return None
    return _Tags(star=False, held=held)


def _entity_tags(value: str) -> tuple[tuple[str, bool], ...] | None:
    """The (opaque tag, weak) pairs of a list of entity tags (RFC 9110 sections 5.6.1 and 8.8.3: ``[W/]"etagc*"``
    separated by commas, empty elements allowed), None if it is not one. One pass, no backtracking."""
    tags: list[tuple[str, bool]] = []
    at, end = 0, len(value)
    while True:
        while at < end and value[at] in _OWS:
            at += 1
        if at == end:
            return tuple(tags)
        if value[at] == ",":
            at += 1
            continue
        weak = value.startswith("W/", at)
        at += 2 if weak else 0
        close = value.find('"', at + 1) if value.startswith('"', at) else -1
        if close < 0 or not _OPAQUE.fullmatch(value, at + 1, close):
            return None
        tags.append((value[at + 1 : close], weak))
        at = close + 1
        while at < end and value[at] in _OWS:
            at += 1
        if at < end and value[at] != ",":
            return None


def etag(*asked: str) -> str:
    """The ETag (unquoted) of an answer read from the current dataset, depending also on ``asked``."""
    variant = hashlib.sha256("|".join(asked).encode()).hexdigest()[:16]
    return f"{dataset()}-{variant}"


def dataset() -> str:
    """The current dataset's part of an ETag."""
    return f"{get_graph().instance}-{current_version()}"


def not_modified(tag: str) -> str | None:
    """When a GET or HEAD is answered 304, the ETag the 304 carries: If-None-Match names this answer (compared weakly,
    RFC 9110: W/"x" matches "x"), and the 304 names it as the client holds it (with its encoding label, as the 200
    would have). ``*`` is not answered here: it matches only an answer that exists, which the view knows."""
    held = _field("If-None-Match", strict=False)
    return None if held is None else held.any_of(tag, weak=True)


def star_none_match() -> bool:
    """Whether If-None-Match is ``*``: a GET or HEAD of an answer that exists is then 304 (the view knows it does)."""
    held = _field("If-None-Match", strict=False)
    return held is not None and held.star


def check_read(tag: str) -> None:
    """412 when the If-Match of a GET that would be answered 200 is false (compared strongly: a weak tag never
    matches); only then (RFC 9110 section 13.2.1: not before a 404 or a 400)."""
    held = _field("If-Match", strict=True)
    if held is not None and not held.star and held.any_of(tag, weak=False) is None:
        raise PreconditionFailed("If-Match names no ETag of the current answer: read it again")


def _read_from(current: str, tags: set[str]) -> bool:
    """Whether one of ``tags`` is an ETag of an answer read from the dataset ``current``, or that dataset's part
    alone (the ``dataset_version`` a REST write or /stats answers)."""
    return any(tag == current or tag.rsplit("-", 1)[0] == current for tag in tags)


def write_check(exists: Callable[[], bool]) -> Callable[[str], None] | None:
    """What a write checks under the write lock (None when the request has no condition), given the ETag part of
    the dataset version the change was computed against, which its commit is conditional on. ``exists`` says
    whether the target exists then. A malformed condition is 400 here, before anything is read."""
    if_match, if_none_match = _field("If-Match", strict=True), _field("If-None-Match", strict=True)
    if if_match is None and if_none_match is None:
        return None

    def check(current: str) -> None:
        if if_match is not None:
            if if_match.star:
                if not exists():
                    raise PreconditionFailed("If-Match: * asks that the target exist, and it does not")
            elif not _read_from(current, if_match.names(weak=False)):
                raise PreconditionFailed(
                    "If-Match names no ETag of the current dataset: it changed since that was read (read again, then "
                    "retry)"
                    if if_match.names(weak=False)
                    else "If-Match names no strong ETag (a weak one never matches)"
                )
        if if_none_match is not None:
            if if_none_match.star:
                if exists():
                    raise PreconditionFailed("If-None-Match: * asks that the target not exist, and it does")
            elif _read_from(current, if_none_match.names(weak=True)):
                raise PreconditionFailed("If-None-Match names an ETag of the current dataset")

    return check
