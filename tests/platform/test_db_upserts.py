"""Folded guarded upserts (`d07.platform.db.upserts`): a batch's rows of one key folded as the per-row
statements would leave them, the dropped values checked as the database would, and the statements' text.
Pure: no database (the statements run against PostgreSQL in the reporting service's integration tests)."""

from __future__ import annotations

from typing import Any

import pytest

from d07.platform.db.upserts import (
    DroppedValueRefused,
    Input,
    Row,
    Rows,
    Upsert,
    chain,
    columns,
    json_text,
    latest,
)

K1 = "8f14e45f-ceea-467f-a3b8-1f6e2d3c4b5a"
K2 = "0b2f4c1e-9d8a-4f3b-8c7d-6e5f4a3b2c1d"
E1, E2, E3 = (f"00000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))

# A table whose highest version wins, its `code` kept as inserted.
THINGS = latest(
    "things",
    "thing_id",
    (
        Input("thing_id", "uuid"),
        Input("code", "text"),
        Input("name", "text"),
        Input("note", "text", nullable=True),
        Input("version", "bigint"),
        Input("event_id", "uuid"),
    ),
    keep=("code",),
)
# Insert once: the first row of a key wins.
ONCE = Upsert("once", ("thing_id", "at"), (Input("thing_id", "uuid"), Input("at", "int"), Input("v", "int")))


def _latest_time(kept: Row, later: Row) -> bool:
    return bool(kept[2] <= later[2])


# The latest time wins, of equal ones the last.
STATES = Upsert(
    "states", ("thing_id",), (Input("thing_id", "uuid"), Input("state", "text"), Input("at", "int")),
    updated=("state", "at"), guard="states.at <= EXCLUDED.at", wins=_latest_time,
)  # fmt: skip


def thing(key: str, version: int, name: str, *, code: str = "T-1", event: str = E1) -> Row:
    return (key, code, name, None, version, event)


def fold(rows: Rows, *added: Row) -> list[Row]:
    for row in added:
        rows.add(row)
    return list(rows.by_key.values())


def test_the_highest_version_wins_and_of_equal_ones_the_first() -> None:
    rows = fold(Rows(THINGS), thing(K1, 2, "b"), thing(K1, 3, "c"), thing(K1, 1, "a"), thing(K1, 3, "d"))
    assert rows == [thing(K1, 3, "c")]


def test_a_kept_column_stays_as_the_first_row_inserted_it() -> None:
    rows = fold(Rows(THINGS), thing(K1, 1, "a", code="T-1"), thing(K1, 2, "b", code="T-2"))
    assert rows == [thing(K1, 2, "b", code="T-1")]


def test_keys_fold_apart_and_arrays_come_ordered_by_key() -> None:
    rows = Rows(THINGS)
    fold(rows, thing(K1, 1, "a"), thing(K2, 5, "z"), thing(K1, 2, "b"))
    arrays = rows.arrays()
    assert len(arrays) == len(THINGS.inputs)
    assert list(arrays[0]) == sorted([K1, K2])
    assert list(arrays[2]) == ["z", "b"]  # K2 sorts first
    assert Rows(THINGS).arrays() == [() for _ in THINGS.inputs]


def test_of_equal_times_the_last_wins_when_the_guard_says_so() -> None:
    rows = fold(Rows(STATES), (K1, "new", 5), (K1, "open", 9), (K1, "closed", 9), (K1, "late", 1))
    assert rows == [(K1, "closed", 9)]


def test_insert_once_keeps_the_first_row_of_a_composite_key() -> None:
    rows = fold(Rows(ONCE), (K1, 1, 10), (K1, 1, 20), (K1, 2, 30))
    assert rows == [(K1, 1, 10), (K1, 2, 30)]


@pytest.mark.parametrize(
    "dropped",
    [
        thing(K1, 1, "cũ\x00"),  # text with a NUL
        thing(K1, 1, "cũ", event="urn:uuid:" + E1),  # Python reads it as a uuid, asyncpg does not
        thing(K1, 1, "cũ", event="not-a-uuid"),
        (K1, None, "cũ", None, 1, E1),  # a NOT NULL input
    ],
)
def test_a_dropped_row_the_database_would_refuse_is_refused(dropped: Row) -> None:
    rows = Rows(THINGS)
    rows.add(thing(K1, 2, "mới"))
    with pytest.raises(DroppedValueRefused):
        rows.add(dropped)


def test_a_superseded_value_of_a_winning_row_is_checked_too() -> None:
    rows = Rows(THINGS)
    rows.add(thing(K1, 1, "a\x00"))  # its name is replaced by the next row's: never sent
    with pytest.raises(DroppedValueRefused):
        rows.add(thing(K1, 2, "b"))


def test_a_nullable_input_may_be_dropped_empty_and_a_uuid_as_asyncpg_reads_it_passes() -> None:
    rows = Rows(THINGS)
    rows.add(thing(K1, 2, "mới"))
    rows.add(thing(K1, 1, "cũ", event=E1.replace("-", "").upper()))
    assert rows.by_key[K1] == thing(K1, 2, "mới")


def test_json_and_score_checks() -> None:
    scored = Upsert(
        "scores", ("k",),
        (Input("k", "uuid"), Input("score", "score"), Input("data", "json"), Input("n", "int")),
        updated=("score", "data", "n"), guard="scores.n < EXCLUDED.n",
        wins=lambda kept, later: bool(kept[3] < later[3]),
    )  # fmt: skip
    rows = Rows(scored)
    rows.add((K1, 1.5, json_text({"a": 1}), 5))
    rows.add((K1, float("nan"), json_text([]), 1))  # NaN fits numeric
    with pytest.raises(DroppedValueRefused):
        rows.add((K1, 1000.0, json_text([]), 1))
    with pytest.raises(DroppedValueRefused):
        rows.add((K1, 1.0, json_text("\x00"), 1))


def test_an_extra_check_sees_every_later_row() -> None:
    def positive(row: Row) -> None:
        if row[1] <= 0:
            raise DroppedValueRefused("not positive")

    checked = Upsert("checked", ("k",), (Input("k", "uuid"), Input("n", "int")), check=positive)
    rows = Rows(checked)
    rows.add((K1, 1))
    with pytest.raises(DroppedValueRefused):
        rows.add((K1, 0))


def test_the_statement_of_a_table() -> None:
    assert THINGS.sql == (
        "INSERT INTO things (thing_id, code, name, note, version, event_id)\n"
        "SELECT r.thing_id, r.code, r.name, r.note, r.version, r.event_id "
        "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::uuid[]) "
        "AS r(thing_id, code, name, note, version, event_id)\n"
        "ON CONFLICT (thing_id) DO UPDATE SET name = EXCLUDED.name, note = EXCLUDED.note, "
        "version = EXCLUDED.version, event_id = EXCLUDED.event_id, updated_at = now() "
        "WHERE things.version < EXCLUDED.version"
    )
    assert ONCE.sql.endswith("ON CONFLICT (thing_id, at) DO NOTHING")


def test_column_expressions() -> None:
    inputs = (Input("k", "uuid"), Input("data", "json"))
    mapped = columns(inputs, data="r.data::jsonb")
    assert mapped == {"k": "r.k", "data": "r.data::jsonb"}
    upsert = Upsert("docs", ("k",), inputs, columns=mapped)
    assert "SELECT r.k, r.data::jsonb FROM unnest($1::uuid[], $2::text[])" in upsert.sql


def test_a_chain_numbers_each_parts_parameters_in_turn() -> None:
    final = "\nINSERT INTO log (n, at) SELECT * FROM unnest({}::int[], {}::timestamptz[])"
    sql = chain((THINGS, STATES), final)
    assert sql.startswith("WITH write_things AS (INSERT INTO things")
    assert "$6::uuid[]) AS r(thing_id" in sql
    assert "write_states AS (INSERT INTO states" in sql
    assert "unnest($7::uuid[], $8::text[], $9::int[])" in sql
    assert sql.endswith("unnest($10::int[], $11::timestamptz[])")
    assert chain((), final) == final.format("$1", "$2")


def test_an_upsert_is_checked_when_declared() -> None:
    inputs: tuple[Input, ...] = (Input("k", "uuid"), Input("v", "int"))
    bad: list[dict[str, Any]] = [
        {"key": ("missing",)},
        {"key": ("k",), "updated": ("v",)},  # an update needs its guard
        {"key": ("k",), "updated": ("w",), "guard": "TRUE"},
    ]
    for fields in bad:
        with pytest.raises(AssertionError):
            Upsert("t", inputs=inputs, **fields)
