"""The audit trail: `changes` (the old and new value of each field an update changed, as JSON), and the
audit API's handler: only auditors and the admin read the trail (every role tried, over a fake), its filters
and pages against the session's real PostgreSQL (a schema with the platform's tables)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from d07.platform import context
from d07.platform.audit import AuditFilter, AuditRecord, changes, jsonable, list_records
from d07.platform.audit_api import AuditUnitOfWork, ListAuditRecords, list_audit_records
from d07.platform.auth import ADMIN, AUDITOR, UNIT_OFFICER
from d07.platform.db import all_migrations, create_pool, migrate
from d07.platform.errors import InvalidArgument, PermissionDenied
from tests.conftest import unique
from tests.support.principals import acting, caller, every_role
from tests.support.uow import FakeRepository, FakeUnitOfWork


class Status(enum.StrEnum):
    ACTIVE = "active"
    LEFT = "left"


@dataclass(frozen=True)
class Guard:
    id: uuid.UUID
    full_name: str
    birth_year: int
    status: Status
    joined_on: date | None
    tags: tuple[str, ...]
    score: Decimal
    version: int
    updated_at: datetime


GID = uuid.UUID("00000000-0000-0000-0000-000000000001")
BEFORE = Guard(
    GID,
    "Lê Văn Cường",
    1980,
    Status.ACTIVE,
    None,
    ("a",),
    Decimal("1.50"),
    1,
    datetime(2026, 1, 1, tzinfo=UTC),
)


def test_changes_names_each_changed_field_with_its_old_and_new_value_as_json() -> None:
    after = Guard(
        GID, "Lê Văn Cường", 1981, Status.LEFT, date(2020, 5, 1), ("a", "b"), Decimal("2"), 2,
        datetime(2026, 2, 1, tzinfo=UTC),
    )  # fmt: skip
    assert changes(BEFORE, after) == {
        "birth_year": {"old": 1980, "new": 1981},
        "status": {"old": "active", "new": "left"},
        "joined_on": {"old": None, "new": "2020-05-01"},
        "tags": {"old": ["a"], "new": ["a", "b"]},
        "score": {"old": "1.50", "new": "2"},
    }  # the bookkeeping (version, updated_at) is left out: the version is recorded beside


def test_nothing_changed_is_empty_and_only_and_ignore_narrow() -> None:
    assert changes(BEFORE, BEFORE) == {}
    after = {"full_name": "Lê Văn C", "birth_year": 1990, "version": 2}
    before = {"full_name": "Lê Văn Cường", "birth_year": 1980, "version": 1}
    assert changes(before, after, only=["birth_year"]) == {"birth_year": {"old": 1980, "new": 1990}}
    assert changes(before, after, ignore=()) == {
        "full_name": {"old": "Lê Văn Cường", "new": "Lê Văn C"},
        "birth_year": {"old": 1980, "new": 1990},
        "version": {"old": 1, "new": 2},
    }
    # a field on one side only counts as None on the other
    assert changes({"a": 1}, {"b": 2}) == {"a": {"old": 1, "new": None}, "b": {"old": None, "new": 2}}


def test_jsonable_turns_domain_values_into_json() -> None:
    assert jsonable({"id": GID, "on": date(2026, 12, 3), "s": {Status.LEFT}, "n": [Decimal("1.0")]}) == {
        "id": str(GID), "on": "2026-12-03", "s": ["left"], "n": ["1.0"],
    }  # fmt: skip


def test_changes_refuses_what_it_cannot_compare() -> None:
    with pytest.raises(TypeError):
        changes(1, 2)


# --- the audit API's handler: roles (over a fake), filters and pages (against the real PostgreSQL) ---------


class FakeTrail(FakeRepository):
    def __init__(self) -> None:
        self.asked: list[AuditFilter] = []

    async def list(self, where: AuditFilter, *, before_id: int | None, limit: int) -> list[AuditRecord]:
        self.asked.append(where)
        return []


class FakeAuditUnitOfWork(FakeUnitOfWork, AuditUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.trail = FakeTrail()  # type: ignore[assignment]


@pytest.mark.parametrize("role", every_role())
async def test_only_auditors_and_the_admin_read_the_trail(role: str) -> None:
    uow = FakeAuditUnitOfWork()
    principal = caller(role, unit_id=uuid.uuid4() if role == UNIT_OFFICER else None)
    # a bad filter too: the role is checked before anything in the query is read
    query = ListAuditRecords(object_type="guard", unit_id="not-a-uuid")
    if role in {ADMIN, AUDITOR}:
        with pytest.raises(InvalidArgument) as invalid:
            await list_audit_records(uow, query, principal)
        assert invalid.value.code == "invalid_id"
        assert await list_audit_records(uow, ListAuditRecords(object_type="guard"), principal) == ([], "")
        assert uow.trail.asked == [AuditFilter(object_type="guard")]  # type: ignore[attr-defined]
    else:
        with pytest.raises(PermissionDenied) as refused:
            await list_audit_records(uow, query, principal)
        assert refused.value.code == "role_required"
        assert (uow.commits, uow.rollbacks, uow.trail.asked) == (0, 0, [])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (ListAuditRecords(since="2026-12-03T08:00:00"), "from"),  # no offset
        (ListAuditRecords(until="hôm qua"), "to"),
        (ListAuditRecords(since="2026-12-03T08:00:00+07:00", until="2026-12-03T08:00:00+07:00"), "to"),
        (ListAuditRecords(actor="a\x00b"), "actor"),
        (ListAuditRecords(object_id="x" * 201), "object_id"),
        (ListAuditRecords(page_size=-1), "page_size"),
        (ListAuditRecords(page_token="garbage"), "page_token"),  # noqa: S106
    ],
)
async def test_a_bad_filter_is_invalid_argument_naming_it(query: ListAuditRecords, field: str) -> None:
    with pytest.raises(InvalidArgument) as invalid:
        await list_audit_records(FakeAuditUnitOfWork(), query, caller(AUDITOR))
    assert [f.field for f in invalid.value.fields] == [field]


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    schema = unique("audit")
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, schema=schema, migrations=all_migrations(schema, None))
    finally:
        await conn.close()
    p = await create_pool(database_url, schema=schema, min_size=1, max_size=2)
    yield p
    await p.close()


UNIT_A = uuid.UUID("00000000-0000-0000-0000-00000000000a")


async def write(pool: asyncpg.Pool, rows: list[tuple[str, str, str, str, uuid.UUID | None]]) -> None:
    """Audit rows `(actor, action, object type, object id, unit)` written as a change writes them."""
    for actor, action, object_type, object_id, unit_id in rows:
        with acting(caller(ADMIN, subject=actor)):
            rid, addr = context.request_id.set(f"req-{object_id}"), context.client_address.set("127.0.0.9")
            try:
                uow = AuditUnitOfWork(pool, source="/d07/test-audit")
                async with uow:
                    await uow.audit(
                        action=action, object_type=object_type, object_id=object_id,
                        unit_id=str(unit_id) if unit_id else None,
                        details={"changes": {"phone": {"old": "0912", "new": "0987"}}, "version": 2},
                    )  # fmt: skip
            finally:
                context.request_id.reset(rid)
                context.client_address.reset(addr)


async def test_the_trail_is_filtered_newest_first_and_paged(pool: asyncpg.Pool) -> None:
    await write(
        pool,
        [
            ("thu-ky", "guard.update", "guard", "g1", UNIT_A),
            ("thu-ky", "guard.update", "guard", "g2", None),
            ("can-bo", "guard.leave", "guard", "g1", UNIT_A),
            ("can-bo", "unit.update", "unit", str(UNIT_A), UNIT_A),
        ],
    )
    uow = AuditUnitOfWork(pool, source="/d07/test-audit")
    auditor = caller(AUDITOR)

    async def ids(**filters: Any) -> list[tuple[str, str]]:
        records, _ = await list_audit_records(uow, ListAuditRecords(**filters), auditor)
        return [(r.action, r.object_id) for r in records]

    assert await ids() == [
        ("unit.update", str(UNIT_A)), ("guard.leave", "g1"), ("guard.update", "g2"), ("guard.update", "g1"),
    ]  # fmt: skip
    assert await ids(object_type="guard", object_id="g1") == [("guard.leave", "g1"), ("guard.update", "g1")]
    assert await ids(actor="thu-ky") == [("guard.update", "g2"), ("guard.update", "g1")]
    assert await ids(action="guard.leave") == [("guard.leave", "g1")]
    assert await ids(unit_id=str(UNIT_A), actor="can-bo") == [
        ("unit.update", str(UNIT_A)),
        ("guard.leave", "g1"),
    ]
    async with pool.acquire() as conn:
        [newest] = await list_records(conn, AuditFilter(), before_id=None, limit=1)
    assert await ids(since=newest.at) == [("unit.update", str(UNIT_A))]
    assert await ids(until=newest.at, action="unit.update") == []
    assert await ids(since=newest.at.isoformat(), until=(newest.at + timedelta(seconds=1)).isoformat()) == [
        ("unit.update", str(UNIT_A))
    ]

    # who, what, when, from where, and the old and new values
    assert (newest.actor, newest.roles, newest.unit_id, newest.source, newest.request_id) == (
        "can-bo", ["admin"], str(UNIT_A), "127.0.0.9", f"req-{UNIT_A}",
    )  # fmt: skip
    assert newest.details == {"changes": {"phone": {"old": "0912", "new": "0987"}}, "version": 2}

    # pages of 3 then 1; the token is bound to its filters
    first, token = await list_audit_records(uow, ListAuditRecords(page_size=3), auditor)
    assert [r.object_id for r in first] == [str(UNIT_A), "g1", "g2"]
    second, end = await list_audit_records(uow, ListAuditRecords(page_size=3, page_token=token), auditor)
    assert ([r.object_id for r in second], end) == (["g1"], "")
    with pytest.raises(InvalidArgument) as mismatch:
        await list_audit_records(uow, ListAuditRecords(actor="thu-ky", page_token=token), auditor)
    assert mismatch.value.code == "page_token_mismatch"
