"""Domain error kinds shared by every service.

A service's domain raises these (or subclasses); each door maps them once: HTTP to a status with an
RFC 9457 problem body (d07.platform.http), gRPC to a status code with google.rpc details (d07.platform.grpc).
This module is pure Python: the domain may import it without importing any transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    """One wrong field of a request: its dotted path and why."""

    field: str
    reason: str


@dataclass
class DomainError(Exception):
    """Base of every error a handler raises on purpose. `code` is a stable machine-readable reason."""

    message: str
    code: str = "error"
    fields: list[FieldProblem] = field(default_factory=list)
    resource_type: str = ""
    resource_id: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class InvalidArgument(DomainError):
    """The request is malformed or breaks a rule of the domain (HTTP 400/422, gRPC INVALID_ARGUMENT)."""


class NotFound(DomainError):
    """The object does not exist (HTTP 404, gRPC NOT_FOUND)."""


class AlreadyExists(DomainError):
    """An object with the same identity exists (HTTP 409, gRPC ALREADY_EXISTS)."""


class Conflict(DomainError):
    """The object changed under the caller (stale version) or is in the wrong state (HTTP 409, gRPC
    FAILED_PRECONDITION / ABORTED)."""


class Unauthenticated(DomainError):
    """No valid credentials (HTTP 401, gRPC UNAUTHENTICATED)."""


class PermissionDenied(DomainError):
    """Authenticated but not allowed to do this to this object (HTTP 403, gRPC PERMISSION_DENIED)."""


class Unavailable(DomainError):
    """A dependency (database, broker, peer service) cannot answer now; retrying may help
    (HTTP 503, gRPC UNAVAILABLE)."""


def ensure_version(
    expected: int, actual: int, *, what: str, object_id: object = "", field: str = "version"
) -> None:
    """Conflict `stale_version` (HTTP 409, gRPC ABORTED) unless the caller read the object at the version it
    is at now; InvalidArgument `version_required` when the caller gave none (a version starts at 1)."""
    if expected < 1:
        raise InvalidArgument(
            "the version read is required", code="version_required",
            fields=[FieldProblem(field, "the version of the object as read (1 or more)")],
        )  # fmt: skip
    if expected != actual:
        raise StaleVersion(
            f"the {what} is at version {actual}, not {expected}: read it again", code="stale_version",
            resource_type=what.replace(" ", "_"), resource_id=str(object_id),
            fields=[FieldProblem(field, f"the current version is {actual}")],
        )  # fmt: skip


class StaleVersion(Conflict):
    """The caller read an older (or newer) version of the object than the stored one (`stale_version`)."""
