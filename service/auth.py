"""Bearer tokens for writes: CAREERKG_WRITE_TOKEN and a tokens file with names; writes are off without either."""

from __future__ import annotations

import hmac
from functools import cache
from pathlib import Path

from flask import Request

from service.config import Settings
from service.errors import CareerKGError


class Unauthorized(CareerKGError):
    """No usable credentials."""

    status = 401
    title = "Unauthorized"


class WritesForbidden(CareerKGError):
    """Credentials were given but do not allow writing, or writes are disabled."""

    status = 403
    title = "Forbidden"


@cache
def _tokens_file(path: Path, mtime: float) -> dict[str, str]:
    """token -> name, from lines of ``name token`` ('#' starts a comment); read again when the file changes."""
    tokens: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = raw.split("#", 1)[0].split()
        if not parts:
            continue
        if len(parts) != 2:
            raise CareerKGError(f"{path}:{number}: expected 'name token'")
        name, token = parts
        tokens[token] = name
    return tokens


def writers(settings: Settings) -> dict[str, str]:
    """Every token that may write, with the name recorded in the change log."""
    tokens: dict[str, str] = {}
    if settings.tokens_file is not None:
        path = Path(settings.tokens_file)
        try:
            tokens.update(_tokens_file(path, path.stat().st_mtime))
        except OSError as exc:
            raise CareerKGError(f"cannot read the tokens file {path}: {exc.strerror}") from None
    if settings.write_token:
        tokens[settings.write_token] = "token"
    return tokens


def require_writer(request: Request, settings: Settings) -> str:
    """The writer's name, or an error: 403 when writes are off or the token is wrong, 401 without a token."""
    tokens = writers(settings)
    if not tokens:
        raise WritesForbidden(
            "writes are disabled on this server (set CAREERKG_WRITE_TOKEN or CAREERKG_TOKENS_FILE to enable them)"
        )
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        raise Unauthorized("this operation needs 'Authorization: Bearer <token>'")
    for token, name in tokens.items():
        if hmac.compare_digest(given.encode(), token.encode()):
            return name
    raise WritesForbidden("the bearer token is not valid for writes")
