"""Domain exceptions; the API maps each to an HTTP status once (api/errors.py)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a user can cause; `code` is stable, the message is for people."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(DomainError):
    """No such object, or not visible to this user."""

    code = "not_found"


class Forbidden(DomainError):
    """The user may not do this."""

    code = "forbidden"


class Conflict(DomainError):
    """Someone else changed it first, or it is not in a state that allows this."""

    code = "conflict"


class InvalidTransition(Conflict):
    """A status change the state machine does not allow."""

    code = "invalid_transition"


class RateLimited(DomainError):
    """Too many requests from one sender; `retry_after` seconds until they may try again."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ValidationFailed(DomainError):
    """The input breaks a business rule."""

    code = "validation_failed"
