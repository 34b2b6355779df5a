"""The rules the protos declare with protovalidate's `buf.validate` annotations, enforced at the gRPC door.

The interceptor (`d07.platform.grpc.server`) calls `check_request` on every request message before the
servicer sees it, so the contract an integrator reads in proto/ and the check are one. A violation is an
`InvalidArgument` (INVALID_ARGUMENT, ErrorInfo reason = the rule's id, e.g. "required") whose fields name
each field that broke a rule: it travels as the standard google.rpc.BadRequest like every field problem.
Messages without rules pass untouched (the validator caches what it compiled per message type).
"""

from __future__ import annotations

from typing import Any

import protovalidate
from google.protobuf.message import Message

from d07.platform.errors import FieldProblem, InvalidArgument

_validator = protovalidate.Validator()


def _path(violation: Any) -> str:
    elements = violation.proto.field.elements
    return ".".join(e.field_name for e in elements) if elements else ""


def check_request(request: object) -> None:
    """Raise InvalidArgument when `request` (a protobuf message; anything else passes) breaks a rule."""
    if not isinstance(request, Message):
        return
    violations = _validator.collect_violations(request)
    if not violations:
        return
    problems = [FieldProblem(_path(v), v.proto.message or v.proto.rule_id) for v in violations]
    named = ", ".join(p.field for p in problems if p.field) or "the request"
    raise InvalidArgument(
        f"the request breaks its contract: {named}",
        code=violations[0].proto.rule_id or "invalid_request",
        fields=problems,
    )
