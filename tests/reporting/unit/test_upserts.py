"""Folding a batch's rows of one key as the guarded upserts would, one after the other (pure: no database)."""

from __future__ import annotations

import pytest

from d07.platform.db.upserts import DroppedValueRefused, Rows
from reporting.projections.repository import (
    AWARDS,
    BATCH,
    CONSOLIDATIONS,
    UNITS,
    UPSERTS,
    VIOLATIONS,
    statement,
)

U = "8f14e45f-ceea-467f-a3b8-1f6e2d3c4b5a"
E1, E2, E3 = (f"00000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))


def unit(version: int, name: str, event: str = E1) -> tuple[object, ...]:
    return (U, "DV-1", name, "school", "001", "active", version, event)


def fold(rows: Rows, *added: tuple[object, ...]) -> list[tuple[object, ...]]:
    for row in added:
        rows.add(row)
    return list(rows.by_key.values())


def test_the_highest_version_wins_and_of_equal_ones_the_first() -> None:
    assert fold(Rows(UNITS), unit(2, "b"), unit(3, "c"), unit(1, "a"), unit(3, "d")) == [unit(3, "c")]


def test_a_column_no_update_touches_stays_as_first_inserted() -> None:
    def violation(kind: str, at: int, count: int) -> tuple[object, ...]:
        return (U, E1, None, kind, "high", "new", 10, None, False, count, E2, at)

    # The latest time wins (of equal ones the last); the kind is never updated: the first row's.
    folded = fold(Rows(VIOLATIONS), violation("intrusion", 5, 1), violation("crowd", 9, 4),
                  violation("fire_smoke", 9, 5), violation("loitering", 1, 2))  # fmt: skip
    assert folded == [violation("intrusion", 9, 5)]


def test_a_revocation_wins_over_any_decision_and_keeps_what_the_decision_inserted() -> None:
    def award(status: str, number: str, event: str) -> tuple[object, ...]:
        return (U, E1, "merit", "collective", E2, number, 2019, 3, 1, status, event)

    folded = fold(Rows(AWARDS), award("decided", "1/QĐ", E1), award("revoked", "2/QĐ", E2),
                  award("decided", "3/QĐ", E3))  # fmt: skip
    assert folded == [award("revoked", "1/QĐ", E2)]


def test_insert_once_keeps_the_first_row() -> None:
    assert fold(Rows(CONSOLIDATIONS), (U, 1, 2, E1), (U, 1, 3, E2)) == [(U, 1, 2, E1)]


@pytest.mark.parametrize(
    "dropped",
    [
        unit(1, "cũ\x00"),  # a NUL in text
        unit(1, "cũ", event="urn:uuid:00000000-0000-4000-8000-000000000001"),  # Python reads it, asyncpg not
        (U, None, "cũ", "school", "001", "active", 1, E1),  # NOT NULL
    ],
)
def test_a_dropped_value_the_database_would_refuse_is_refused(dropped: tuple[object, ...]) -> None:
    rows = Rows(UNITS)
    rows.add(unit(2, "mới"))
    with pytest.raises(DroppedValueRefused):
        rows.add(dropped)


def test_a_uuid_as_asyncpg_reads_it_is_accepted_when_dropped() -> None:
    rows = Rows(UNITS)
    rows.add(unit(2, "mới"))
    rows.add(unit(1, "cũ", event=E1.replace("-", "").upper()))
    assert rows.by_key[U] == unit(2, "mới")


def test_the_batch_statement_numbers_each_tables_parameters_in_turn() -> None:
    sql = statement((UNITS, VIOLATIONS))
    assert sql.startswith("WITH write_units AS (INSERT INTO units")
    assert "$8::uuid[]) AS r(unit_id" in sql
    assert "unnest($9::uuid[]" in sql
    assert "unnest($21::text[], $22::bigint[], $23::timestamptz[])" in sql
    assert statement(()).lstrip().startswith("INSERT INTO stream_status")
    assert BATCH.count(" AS (INSERT INTO ") == len(UPSERTS)
