"""The audit trail's helpers: `changes` (the old and new value of each field an update changed, as JSON)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from d07.platform.audit import changes, jsonable


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
