"""Handler tests of violation handling with fakes: who may acknowledge, hand over, assign, start, resolve,
dismiss and comment; the activity row, audit row and event of each change; the stale-version refusal; that a
refused command writes nothing; and the overdue flag, set once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from cameras.violations import service
from cameras.violations.domain import (
    Acknowledge,
    Assign,
    Command,
    CommentOnViolation,
    Dismiss,
    GetViolation,
    HandleViolation,
    HandOver,
    Resolve,
    StartHandling,
    Violation,
    ViolationStatus,
)
from cameras.violations.messages import VIOLATIONS_TOPIC
from d07.cameras.v1 import violation_events_pb2 as events_pb
from d07.platform.auth import ADMIN, DIC_OPERATOR, POLICE, UNIT_OFFICER, Principal
from d07.platform.errors import Conflict, PermissionDenied, StaleVersion
from tests.cameras.service.fakes import FakeViolationsUnitOfWork, a_camera, a_violation
from tests.support.principals import acting, caller, every_role
from tests.support.uow import NOW

UNIT = uuid.uuid4()
CAMERA = a_camera(unit_id=UNIT)
WITH_DIC = {"acknowledged_at": NOW, "acknowledged_by": "dic.an"}
WITH_POLICE = {
    **WITH_DIC,
    "handed_over_at": NOW,
    "handed_over_by": "dic.an",
    "handed_over_to": "Công an tỉnh",
}


def who(role: str) -> Principal:
    return caller(role, unit_id=UNIT if role == UNIT_OFFICER else None)


def violation(**overrides: Any) -> Violation:
    return a_violation(CAMERA, **overrides)


# Each command, the state it applies to, who may send it, and what it leaves behind.
CASES: list[tuple[str, Command, dict[str, Any], set[str], str, ViolationStatus]] = [
    ("acknowledge", Acknowledge(note="đã xem"), {}, {ADMIN, POLICE, DIC_OPERATOR}, "acknowledged",
     ViolationStatus.ACKNOWLEDGED),
    ("hand_over", HandOver(to="Công an tỉnh"), {"status": ViolationStatus.ACKNOWLEDGED, **WITH_DIC},
     {ADMIN, DIC_OPERATOR}, "handed_over", ViolationStatus.ACKNOWLEDGED),
    ("assign", Assign(team="Tổ 141"), {"status": ViolationStatus.ACKNOWLEDGED, **WITH_POLICE},
     {ADMIN, POLICE}, "assigned", ViolationStatus.ACKNOWLEDGED),
    ("start", StartHandling(), {"status": ViolationStatus.ACKNOWLEDGED, "team": "Tổ 141", **WITH_POLICE},
     {ADMIN, POLICE}, "started", ViolationStatus.IN_PROGRESS),
    ("resolve", Resolve(outcome="Đã xử lý"), {"status": ViolationStatus.IN_PROGRESS, "team": "Tổ 141",
     **WITH_POLICE}, {ADMIN, POLICE}, "resolved", ViolationStatus.RESOLVED),
    ("dismiss", Dismiss(reason="Báo động nhầm"), {}, {ADMIN, POLICE}, "dismissed", ViolationStatus.DISMISSED),
]  # fmt: skip
PERMISSION_CASES = [
    (name, cmd, state, allowed, role) for name, cmd, state, allowed, _, _ in CASES for role in every_role()
]


async def handle(uow: FakeViolationsUnitOfWork, cmd: HandleViolation, role: str) -> Violation:
    principal = who(role)
    with acting(principal):
        return await service.handle(uow, cmd, principal)


@pytest.mark.parametrize(
    ("name", "command", "state", "allowed", "role"),
    PERMISSION_CASES,
    ids=[f"{c[0]}-{c[4]}" for c in PERMISSION_CASES],
)
async def test_each_command_is_sent_by_its_roles_only(
    name: str, command: Command, state: dict[str, Any], allowed: set[str], role: str
) -> None:
    v = violation(**state)
    uow = FakeViolationsUnitOfWork(v)
    cmd = HandleViolation(str(v.id), v.version, command)
    if role in allowed:
        changed = await handle(uow, cmd, role)
        assert changed.version == v.version + 1
        assert uow.commits == 1
        return
    with pytest.raises(PermissionDenied) as err:
        await handle(uow, cmd, role)
    assert err.value.code == "role_required"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert uow.violations.log == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "command", "state", "allowed", "action", "status"), CASES, ids=[c[0] for c in CASES]
)
async def test_each_change_writes_its_activity_audit_row_and_event(
    name: str,
    command: Command,
    state: dict[str, Any],
    allowed: set[str],
    action: str,
    status: ViolationStatus,
) -> None:
    v = violation(**state)
    uow = FakeViolationsUnitOfWork(v)
    role = sorted(allowed)[0]
    changed = await handle(uow, HandleViolation(str(v.id), v.version, command), role)
    assert changed.status == status
    (entry,) = uow.violations.log  # type: ignore[attr-defined]
    assert (entry.violation_id, entry.action, entry.actor) == (v.id, action, f"{role}-tester")
    (audit,) = uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == (f"violation.{name}", "violation", str(v.id))
    assert (audit.unit_id, audit.details["status"], audit.details["version"]) == (str(UNIT), status.value, 2)
    # the old and new value of each field the command changed
    changes = audit.details["changes"]
    if status != v.status:
        assert changes["status"] == {"old": v.status.value, "new": status.value}
    assert changes
    assert all(set(c) == {"old", "new"} and c["old"] != c["new"] for c in changes.values())
    (event,) = uow.events
    assert (event.topic, event.key, event.type) == (
        VIOLATIONS_TOPIC,
        str(v.id),
        "d07.cameras.v1.ViolationUpdated",
    )
    assert isinstance(event.message, events_pb.ViolationUpdated)
    assert (event.message.violation.id, event.message.violation.version) == (str(v.id), 2)
    assert (event.message.change, event.message.actor.subject) == (action, f"{role}-tester")


async def test_a_police_acknowledgement_takes_the_violation_over_at_once() -> None:
    v = violation()
    uow = FakeViolationsUnitOfWork(v)
    changed = await handle(uow, HandleViolation(str(v.id), 1, Acknowledge()), POLICE)
    assert (changed.handed_over_by, changed.handed_over_to) == ("police-tester", "")


async def test_a_stale_version_is_refused_and_writes_nothing() -> None:
    v = violation(version=3)
    uow = FakeViolationsUnitOfWork(v)
    with pytest.raises(StaleVersion) as err:
        await handle(uow, HandleViolation(str(v.id), 2, Acknowledge()), DIC_OPERATOR)
    assert (err.value.code, err.value.resource_type, err.value.resource_id) == (
        "stale_version",
        "violation",
        str(v.id),
    )
    assert str(err.value) == "the violation is at version 3, not 2: read it again"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert uow.violations.violations[v.id] == v  # type: ignore[attr-defined]
    assert uow.violations.log == []  # type: ignore[attr-defined]


async def test_a_transition_the_state_does_not_allow_writes_nothing() -> None:
    v = violation(status=ViolationStatus.ACKNOWLEDGED, **WITH_DIC)  # not with the police yet
    uow = FakeViolationsUnitOfWork(v)
    with pytest.raises(Conflict) as err:
        await handle(uow, HandleViolation(str(v.id), 1, Assign(team="Tổ 141")), POLICE)
    assert err.value.code == "invalid_transition"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)


# --- comments -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_the_dic_the_police_and_the_admin_comment(role: str) -> None:
    v = violation(status=ViolationStatus.RESOLVED, closed_at=NOW, outcome="Đã xử lý", **WITH_POLICE)
    uow = FakeViolationsUnitOfWork(v)
    principal = who(role)
    cmd = CommentOnViolation(str(v.id), "  Đã liên hệ   bảo vệ ")
    if role not in {ADMIN, POLICE, DIC_OPERATOR}:
        with pytest.raises(PermissionDenied) as err, acting(principal):
            await service.comment(uow, cmd, principal)
        assert err.value.code == "role_required"
        assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
        return
    with acting(principal):
        entry = await service.comment(uow, cmd, principal)
    assert (entry.action, entry.details) == ("commented", {"text": "Đã liên hệ bảo vệ"})
    (audit,) = uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == ("violation.comment", "violation", str(v.id))
    assert audit.details == {"seq": entry.seq, "status": "resolved", "version": 1}
    (event,) = uow.events
    assert (event.topic, event.key, event.type) == (
        VIOLATIONS_TOPIC,
        str(v.id),
        "d07.cameras.v1.ViolationUpdated",
    )
    assert isinstance(event.message, events_pb.ViolationUpdated)
    assert (event.message.change, event.message.violation.version) == ("commented", 1)  # a comment keeps it


# --- overdue --------------------------------------------------------------------------------------------


async def test_a_new_violation_past_its_deadline_is_flagged_once() -> None:
    late = violation(react_by=NOW - timedelta(minutes=1), priority="critical")
    handled = violation(status=ViolationStatus.ACKNOWLEDGED, react_by=NOW - timedelta(minutes=1), **WITH_DIC)
    later = violation(react_by=NOW + timedelta(minutes=5))
    uow = FakeViolationsUnitOfWork(late, handled, later)
    flagged = await service.mark_overdue(uow, now=NOW)
    assert [v.id for v in flagged] == [late.id]
    assert flagged[0].overdue_at == NOW
    assert flagged[0].version == 1  # the flag is nobody's decision: the version stays
    (audit,) = uow.audits
    assert (audit.action, audit.object_type, audit.object_id, audit.actor) == (
        "violation.overdue", "violation", str(late.id), "system",
    )  # fmt: skip
    (event,) = uow.events
    assert (event.topic, event.key, event.type) == (
        VIOLATIONS_TOPIC,
        str(late.id),
        "d07.cameras.v1.ViolationOverdue",
    )
    assert [(a.action, a.actor) for a in uow.violations.log] == [("overdue", "system")]  # type: ignore[attr-defined]
    assert await service.mark_overdue(uow, now=NOW + timedelta(minutes=1)) == []  # once
    assert await service.next_deadline(uow) == later.react_by
    assert await service.counts(uow) == {"critical": (1, 1), "high": (2, 0)}


# --- reads: a unit officer reads its own unit's violations ------------------------------------------------


async def test_a_unit_officer_reads_its_own_units_violation_only() -> None:
    own = violation()
    other = a_violation(a_camera(code="CAM-00018", unit_id=uuid.uuid4()))
    uow = FakeViolationsUnitOfWork(own, other)
    officer = who(UNIT_OFFICER)
    with acting(officer):
        found, log = await service.get_violation(uow, GetViolation(str(own.id)), officer)
        assert (found, log) == (own, [])
        with pytest.raises(PermissionDenied):
            await service.get_violation(uow, GetViolation(str(other.id)), officer)
