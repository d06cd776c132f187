"""Bearer tokens for writes: CAREERKG_WRITE_TOKEN; writes are disabled when it is unset."""

from __future__ import annotations

import hmac

from flask import Request

from service.errors import CareerKGError


class Unauthorized(CareerKGError):
    """No usable credentials."""

    status = 401
    title = "Unauthorized"


class WritesForbidden(CareerKGError):
    """Credentials were given but do not allow writing, or writes are disabled."""

    status = 403
    title = "Forbidden"


def require_writer(request: Request, token: str | None) -> str:
    """The name of the writer, or an error: 403 when writes are disabled or the token is wrong, 401 without one."""
    if not token:
        raise WritesForbidden("writes are disabled on this server (set CAREERKG_WRITE_TOKEN to enable them)")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("this operation needs 'Authorization: Bearer <token>'")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise WritesForbidden("the bearer token is not valid for writes")
    return "token"
