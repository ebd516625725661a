"""Errors that are the caller's to fix. The web layer turns them into 4xx JSON answers."""

from __future__ import annotations


class InputError(Exception):
    """Input we refuse, with a stable machine-readable `code` and a sentence for a person."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(InputError):
    status = 404


class Unauthorized(InputError):
    status = 401


class Forbidden(InputError):
    status = 403


class UnsupportedMediaType(InputError):
    status = 415


class Conflict(InputError):
    """The request is well formed but the thing is not in a state that allows it."""

    status = 409


class Busy(InputError):
    """Too much of this is already running, or too often; try again after `retry_after`
    seconds (sent as the Retry-After header)."""

    status = 429

    def __init__(self, code: str, message: str, retry_after: int = 1) -> None:
        super().__init__(code, message)
        self.retry_after = max(1, retry_after)
