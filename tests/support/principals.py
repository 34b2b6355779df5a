"""Callers for handler tests: a principal per role, and the call's context as the doors set it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from d07.platform import context
from d07.platform.auth import ROLES, UNIT_OFFICER, Principal


def caller(role: str, *, unit_id: uuid.UUID | str | None = None, subject: str = "") -> Principal:
    """A principal holding one role (a unit officer bound to `unit_id`)."""
    if role == UNIT_OFFICER and unit_id is None:
        raise ValueError("a unit officer is bound to a unit")
    return Principal(
        subject=subject or f"{role}-tester",
        roles=frozenset({role}),
        unit_id=str(unit_id) if unit_id is not None else None,
    )


def every_role() -> list[str]:
    return sorted(ROLES)


@contextmanager
def acting(principal: Principal) -> Iterator[Principal]:
    """The principal in the call's context, as the HTTP middleware and the gRPC interceptor put it (the audit
    trail reads it there)."""
    token = context.principal.set(principal)
    try:
        yield principal
    finally:
        context.principal.reset(token)
