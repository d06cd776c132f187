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
from collections.abc import Callable

from flask import request
from werkzeug.datastructures import ETags

from service.errors import PreconditionFailed
from service.graph import current_version, get_graph


def etag(*asked: str) -> str:
    """The ETag (unquoted) of an answer read from the current dataset, depending also on ``asked``."""
    variant = hashlib.sha256("|".join(asked).encode()).hexdigest()[:16]
    return f"{dataset()}-{variant}"


def dataset() -> str:
    """The current dataset's part of an ETag."""
    return f"{get_graph().instance}-{current_version()}"


def _stripped(tags: ETags, *, weak: bool) -> set[str]:
    # The compression layer labels an encoded answer's tag ("x:gzip"): the client may send either form.
    return {tag.split(":", 1)[0] for tag in tags.as_set(include_weak=weak)}


def not_modified(tag: str) -> bool:
    """Whether a GET or HEAD is answered 304: If-None-Match names this answer (compared weakly, RFC 9110: W/"x"
    matches "x"). ``*`` is not answered here: it matches only an answer that exists, which the view knows."""
    return tag in _stripped(request.if_none_match, weak=True)


def check_read(tag: str) -> None:
    """412 when a GET's If-Match is false (compared strongly: a weak tag never matches)."""
    if request.if_match and not request.if_match.star_tag and tag not in _stripped(request.if_match, weak=False):
        raise PreconditionFailed("If-Match names no ETag of the current answer: read it again")


def _read_from(current: str, tags: set[str]) -> bool:
    """Whether one of ``tags`` is an ETag of an answer read from the dataset ``current``, or that dataset's part
    alone (the ``dataset_version`` a REST write or /stats answers)."""
    return any(tag == current or tag.rsplit("-", 1)[0] == current for tag in tags)


def write_check(exists: Callable[[], bool]) -> Callable[[str], None] | None:
    """What a write checks under the write lock (None when the request has no condition), given the ETag part of
    the dataset version the change was computed against, which its commit is conditional on. ``exists`` says
    whether the target exists then."""
    if_match, if_none_match = request.if_match, request.if_none_match
    if not if_match and not if_none_match:
        return None
    given = _stripped(if_match, weak=False)
    refused = _stripped(if_none_match, weak=True)

    def check(current: str) -> None:
        if if_match.star_tag:
            if not exists():
                raise PreconditionFailed("If-Match: * asks that the target exist, and it does not")
        elif if_match and not _read_from(current, given):
            raise PreconditionFailed(
                "If-Match names no ETag of the current dataset: it changed since that was read (read again, then retry)"
                if given
                else "If-Match names no strong ETag (a weak one never matches)"
            )
        if if_none_match.star_tag:
            if exists():
                raise PreconditionFailed("If-None-Match: * asks that the target not exist, and it does")
        elif _read_from(current, refused):
            raise PreconditionFailed("If-None-Match names an ETag of the current dataset")

    return check
