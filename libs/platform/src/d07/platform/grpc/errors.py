"""How a domain error travels over gRPC: its status code, and the google.rpc details (ErrorInfo, BadRequest,
ResourceInfo) a d07 server puts in the status and a caller decodes with `status_details`."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from d07.platform.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

ERROR_DOMAIN = "d07"
DETAILS_KEY = "grpc-status-details-bin"

# Each kind of domain error and the status code it becomes; a bare DomainError is a refused request.
_CODES: tuple[tuple[type[DomainError], grpc.StatusCode], ...] = (
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
)


def status_code_for(error: DomainError) -> grpc.StatusCode:
    """The status code of a domain error. A stale version is ABORTED (retry after re-reading), any other
    conflict FAILED_PRECONDITION (the object is in the wrong state: retrying alone will not help)."""
    if isinstance(error, Conflict) and error.code == "stale_version":
        return grpc.StatusCode.ABORTED
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INVALID_ARGUMENT


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def rich_status(
    code: grpc.StatusCode, message: str, *, reason: str, error: DomainError | None = None
) -> grpc.Status:
    """A grpc.Status whose trailing metadata carries a google.rpc.Status: ErrorInfo always, BadRequest when
    the error names fields, ResourceInfo when it names a resource."""
    details = [_packed(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN))]
    if error is not None and error.fields:
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=f.field, description=f.reason)
            for f in error.fields
        ]
        details.append(_packed(error_details_pb2.BadRequest(field_violations=violations)))
    if error is not None and error.resource_type:
        resource = error_details_pb2.ResourceInfo(
            resource_type=error.resource_type, resource_name=error.resource_id, description=error.message
        )
        details.append(_packed(resource))
    proto = status_pb2.Status(code=code.value[0], message=message, details=details)
    status: grpc.Status = rpc_status.to_status(proto)
    return status


def status_details(exc: grpc.aio.AioRpcError) -> dict[str, Any]:
    """Decode the google.rpc details a d07 server put in a failed call's status, for callers and tests.

    Keys: `code` (the StatusCode name), `message`, `reason` and `domain` (ErrorInfo), `metadata`,
    `field_violations` (list of {field, description}), `resource_type` and `resource_name` (ResourceInfo).
    Missing details leave empty values, so a status from any server decodes.
    """
    out: dict[str, Any] = {
        "code": exc.code().name,
        "message": exc.details() or "",
        "reason": "",
        "domain": "",
        "metadata": {},
        "field_violations": [],
        "resource_type": "",
        "resource_name": "",
    }
    trailing: Any = exc.trailing_metadata() or ()
    raw = next((value for key, value in trailing if key == DETAILS_KEY), None)
    if not isinstance(raw, bytes):
        return out
    proto = status_pb2.Status.FromString(raw)
    out["message"] = proto.message
    for detail in proto.details:
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        resource = error_details_pb2.ResourceInfo()
        if detail.Unpack(info):
            out.update(reason=info.reason, domain=info.domain, metadata=dict(info.metadata))
        elif detail.Unpack(bad):
            out["field_violations"] += [
                {"field": v.field, "description": v.description} for v in bad.field_violations
            ]
        elif detail.Unpack(resource):
            out.update(resource_type=resource.resource_type, resource_name=resource.resource_name)
    return out
