"""Typed domain errors; the HTTP layer turns them into problem documents, the CLI into messages."""

from __future__ import annotations

from pathlib import Path


class CareerKGError(Exception):
    """Base class: a failure with a message fit to show a user."""

    status = 500
    title = "Internal error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(CareerKGError):
    """Input that cannot be read: a missing file, a syntax error. Names file, line and column."""

    status = 400
    title = "Unreadable input"

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.column = column
        where = self.file or "input"
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")
        self.reason = message


class QuerySyntaxError(CareerKGError):
    """A SPARQL query or update that does not parse."""

    status = 400
    title = "SPARQL syntax error"


class UpdateFailed(CareerKGError):
    """A well-formed update that cannot be applied to the dataset as it is (DROP of a graph that does not exist,
    CREATE of one that does): nothing was written."""

    status = 409
    title = "Update failed"


class BadRequest(CareerKGError):
    """A malformed request: a bad parameter, a conflict in what was asked."""

    status = 400
    title = "Bad Request"


class Forbidden(CareerKGError):
    """The request asks for something this server does not allow."""

    status = 403
    title = "Forbidden"


class UnsupportedMediaType(BadRequest):
    """A request body in a media type this route does not read."""

    status = 415
    title = "Unsupported Media Type"


class PayloadTooLarge(CareerKGError):
    """A request body, or a value in it, larger than this server accepts."""

    status = 413
    title = "Content Too Large"


class NotFound(CareerKGError):
    """No resource with this identifier."""

    status = 404
    title = "Not found"


class PreconditionFailed(CareerKGError):
    """An If-Match or If-None-Match condition of the request is false: nothing was done (RFC 9110 section 13)."""

    status = 412
    title = "Precondition Failed"


class StoreError(CareerKGError):
    """The store cannot be opened or used (locked, unreachable, corrupt)."""

    status = 503
    title = "Store unavailable"


class ValidationFailed(CareerKGError):
    """A change would leave the graph violating the shapes; nothing was written."""

    status = 422
    title = "Validation failed"

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report
