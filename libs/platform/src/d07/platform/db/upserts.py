"""Guarded upserts, a batch at a time: one set-based statement per table instead of one statement per row.

A table (a read model, a projection) whose per-row statement is a pure guarded upsert

    INSERT INTO t (...) VALUES (...) ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c, ... WHERE <guard>

(or `DO NOTHING`) reads nothing but the row it conflicts with. Applying a batch's statements one after the
other then leaves each key with one row that can be told in advance: `Rows.add` folds the batch's rows of one
key in order exactly as the statements would (`Upsert.merge`: when a later row passes the guard against the
row kept so far, its updated columns replace the kept ones; the columns the statement never updates stay
those of the first row, the one that would have been inserted), and one `INSERT ... SELECT FROM unnest(...)
ON CONFLICT ... WHERE <guard>` with that one row per key (`Upsert.sql`, its parameters `Rows.arrays()`)
applies the rest against the table. A statement may not touch a row twice ("ON CONFLICT DO UPDATE command
cannot affect row a second time"): the folding is what makes it legal.

    UNITS = Upsert("units", ("unit_id",), (Input("unit_id", "uuid"), Input("name", "text"),
                   Input("version", "bigint")), updated=("name", "version"),
                   guard="units.version < EXCLUDED.version", wins=lambda kept, later: kept[2] < later[2])
    rows = Rows(UNITS)
    for row in batch_rows:
        rows.add(row)
    await conn.execute(UNITS.sql, *rows.arrays())

A value the folding drops is never sent, yet the per-row statement would have sent it and PostgreSQL would
have refused it (a NOT NULL column, text with a NUL, a malformed uuid, a numeric overflow: PostgreSQL checks
those before it looks for a conflict). So each dropped value is checked here first, at least as strictly: a
failing check raises `DroppedValueRefused`, and the caller applies its batch again one row at a time (the
consumer runner does so for a batch handler, `d07.platform.events.consumer`), where each row meets the
database exactly as it would alone.

Pure: no I/O here; the caller sends `sql` with `arrays()`.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

Row = tuple[Any, ...]


class DroppedValueRefused(Exception):
    """A value the folding would drop fails a check its own statement would fail: apply row by row."""


@dataclass(frozen=True)
class Input:
    """One value of a row: its name (the column, unless `Upsert.columns` says otherwise) and the element type
    of its `unnest` array. `json` travels as text, turned into what the column needs by its expression."""

    name: str
    type: str
    nullable: bool = False


def _check_text(value: Any) -> None:
    if "\x00" in value:
        raise DroppedValueRefused("text with a NUL character")


def _check_json(value: Any) -> None:
    if "\\u0000" in value:  # jsonb refuses \u0000; json.dumps writes a NUL that way
        raise DroppedValueRefused("json with a NUL character")


_UUID_TEXT = re.compile(r"[0-9a-fA-F-]{32,36}")


def _check_uuid(value: Any) -> None:
    # asyncpg's rule for a uuid given as text: 32..36 characters, hex digits and hyphens, 32 hex digits.
    if isinstance(value, uuid.UUID):
        return
    if not (isinstance(value, str) and _UUID_TEXT.fullmatch(value) and len(value) - value.count("-") == 32):
        raise DroppedValueRefused(f"not a uuid: {value!r}")


def _check_score(value: Any) -> None:
    # numeric(5, 2): NaN is accepted, an infinity or anything from 1000 on is an overflow (strict side).
    if not (math.isnan(value) or abs(value) < 999.99):
        raise DroppedValueRefused(f"score out of range: {value!r}")


_CHECKS: Mapping[str, Callable[[Any], None]] = {
    "uuid": _check_uuid,
    "text": _check_text,
    "json": _check_json,
    "score": _check_score,
}
# The SQL element type of each input type (score is numeric, checked as numeric(5, 2)).
_SQL_TYPES: Mapping[str, str] = {"json": "text", "score": "numeric"}


def json_text(value: Any) -> str:
    """A value for a `json` input (json.dumps's defaults: its cached encoder, the fastest)."""
    return json.dumps(value)


@dataclass(frozen=True)
class Upsert:
    """The per-row statement of one table, and how a batch of its rows is folded and written at once.

    `inputs` are the values of a row in order; `columns` the table's columns the statement inserts, each an
    SQL expression over the row `r` (default: the input of the same name); `updated` the columns `DO UPDATE
    SET` takes from EXCLUDED (empty: `DO NOTHING`), under `guard` (SQL over the table and EXCLUDED);
    `wins(kept, later)` is the same guard in Python over two rows; `touch` adds `updated_at = now()`.
    `check` is an extra check of a dropped row (for values built from several inputs)."""

    table: str
    key: tuple[str, ...]
    inputs: tuple[Input, ...]
    updated: tuple[str, ...] = ()
    guard: str = ""
    wins: Callable[[Row, Row], bool] = lambda kept, later: False
    touch: bool = False
    columns: Mapping[str, str] = field(default_factory=dict)
    check: Callable[[Row], None] | None = None

    def __post_init__(self) -> None:
        names = [i.name for i in self.inputs]
        assert len(set(names)) == len(names), self.table
        assert all(k in names for k in self.key), self.table
        assert all(u in names for u in self.updated), "an updated column is an input of the same name"
        assert bool(self.updated) == bool(self.guard), self.table

    # -- positions (computed once) -----------------------------------------------------------------------

    def index(self, name: str) -> int:
        return [i.name for i in self.inputs].index(name)

    @cached_property
    def _key_positions(self) -> tuple[int, ...]:
        return tuple(self.index(k) for k in self.key)

    @cached_property
    def _updated_positions(self) -> frozenset[int]:
        return frozenset(self.index(u) for u in self.updated)

    @cached_property
    def _kept_positions(self) -> tuple[int, ...]:
        """The inputs of columns the statement never updates (they stay those of the inserted row)."""
        return tuple(n for n in range(len(self.inputs)) if n not in self._updated_positions)

    @cached_property
    def key_of(self) -> Callable[[Row], Any]:
        """The key of a row: its value for a one-column key, else the tuple of values."""
        positions = self._key_positions
        if len(positions) == 1:
            (only,) = positions
            return lambda row: row[only]
        return lambda row: tuple(row[n] for n in positions)

    # -- SQL ------------------------------------------------------------------------------------------------

    @cached_property
    def _targets(self) -> dict[str, str]:
        if self.columns:
            return dict(self.columns)
        return {i.name: f"r.{i.name}" for i in self.inputs}

    @cached_property
    def _conflict(self) -> str:
        if not self.updated:
            return "NOTHING"
        sets = [f"{c} = EXCLUDED.{c}" for c in self.updated] + (["updated_at = now()"] if self.touch else [])
        return f"UPDATE SET {', '.join(sets)} WHERE {self.guard}"

    @cached_property
    def sql(self) -> str:
        """The statement: `INSERT ... SELECT FROM unnest(one array per input) ON CONFLICT ...`; with arrays of
        one element, the per-row statement."""
        return self.statement()

    def statement(self, first: int = 1) -> str:
        """`sql` with its parameters numbered from `first` (a part of a longer statement)."""
        targets = self._targets
        arrays = ", ".join(
            f"${n}::{_SQL_TYPES.get(i.type, i.type)}[]" for n, i in enumerate(self.inputs, first)
        )
        names = ", ".join(i.name for i in self.inputs)
        return (
            f"INSERT INTO {self.table} ({', '.join(targets)})\n"
            f"SELECT {', '.join(targets.values())} FROM unnest({arrays}) AS r({names})\n"
            f"ON CONFLICT ({', '.join(self.key)}) DO {self._conflict}"
        )

    # -- a batch --------------------------------------------------------------------------------------------

    def _check_dropped(self, row: Row, positions: Iterable[int]) -> None:
        for n in positions:
            spec, value = self.inputs[n], row[n]
            if value is None:
                if not spec.nullable:
                    raise DroppedValueRefused(f"{self.table}.{spec.name} is required")
                continue
            check = _CHECKS.get(spec.type)
            if check is not None:
                check(value)

    def merge(self, kept: Row, later: Row) -> Row:
        """What the per-row statement of `later` leaves of the row `kept` (same key): the updated columns
        of `later` when it passes the guard, else `kept`. Raises `DroppedValueRefused` for a dropped value its
        own statement would have had refused."""
        updated, everything = self._updated_positions, range(len(self.inputs))
        if self.wins(kept, later):
            self._check_dropped(kept, updated)
            self._check_dropped(later, self._kept_positions)
            if self.check is not None:
                self.check(later)
            return tuple(later[n] if n in updated else kept[n] for n in everything)
        self._check_dropped(later, everything)
        if self.check is not None:
            self.check(later)
        return kept


@dataclass
class Rows:
    """The rows of one table in a batch, one per key (folded in the order they were added)."""

    upsert: Upsert
    by_key: dict[Any, Row] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        key = self.upsert.key_of(row)
        kept = self.by_key.get(key)
        self.by_key[key] = row if kept is None else self.upsert.merge(kept, row)

    def arrays(self) -> list[Sequence[Any]]:
        """One array per input, the rows ordered by key (two batches meeting on the same rows lock them in the
        same order)."""
        if not self.by_key:
            return [() for _ in self.upsert.inputs]
        by_key = self.by_key
        return list(zip(*(by_key[k] for k in sorted(by_key)), strict=True))


def latest(
    table: str,
    key: str,
    inputs: tuple[Input, ...],
    *,
    by: str = "version",
    keep: tuple[str, ...] = (),
    columns: Mapping[str, str] | None = None,
    touch: bool = True,
) -> Upsert:
    """A row per `key` where the highest `by` wins (of equal ones the first, as `<` in the guard lets it);
    every other input is updated but those in `keep`, which stay as the row was inserted; `touch` sets
    `updated_at` on every change."""
    position = [i.name for i in inputs].index(by)

    def wins(kept: Row, later: Row) -> bool:
        return bool(kept[position] < later[position])

    return Upsert(
        table,
        (key,),
        inputs,
        updated=tuple(i.name for i in inputs if i.name != key and i.name not in keep),
        guard=f"{table}.{by} < EXCLUDED.{by}",
        wins=wins,
        touch=touch,
        columns=dict(columns or {}),
    )


def columns(inputs: tuple[Input, ...], **expressions: str) -> dict[str, str]:
    """`Upsert.columns`: each input into its column as it is, but for the columns given an SQL expression over
    the row `r`."""
    return {i.name: expressions.get(i.name, f"r.{i.name}") for i in inputs} | expressions


def chain(upserts: Sequence[Upsert], final: str) -> str:
    """One statement of several upserts (distinct tables, none reading another's): each a data-modifying CTE
    with its parameters in turn, then `final`, whose `{}` placeholders take the parameters after theirs. Its
    arguments: each upsert's `Rows.arrays()` in order, then `final`'s."""
    parts, first = [], 1
    for upsert in upserts:
        parts.append(f"write_{upsert.table} AS ({upsert.statement(first)})")
        first += len(upsert.inputs)
    last = final.format(*(f"${n}" for n in range(first, first + final.count("{}"))))
    return f"WITH {', '.join(parts)}{last}" if parts else last
