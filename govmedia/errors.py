"""Domain errors that services raise and every front end (API, pages, CLI, jobs) reports."""


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 fields: dict | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields
        self.extra = extra or {}


class Invalid(DomainError):
    """A field is missing or wrong: 400 `invalid` with the fields named."""


class RuleConflict(DomainError):
    """A registry rule refuses the change: 409 with the rule's code."""

    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
