"""Building blocks of a repository's SQL: WHERE clauses with numbered parameters, LIKE patterns, and rows
mapped to a dataclass by its fields."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class Where:
    """Conditions and their numbered parameters, built up clause by clause:

        where = Where()
        where.add("u.district_code = {}", district)
        where.add("u.name ILIKE {} OR u.code ILIKE {}", pattern, pattern)
        rows = await conn.fetch(f"SELECT ... WHERE {where.sql()}", *where.args)

    Leading `args` are parameters the statement numbers itself ($1 .. $n, first in `args`): `Where(round_id)`
    numbers the first condition's parameter $2.
    """

    def __init__(self, *args: Any) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = list(args)

    def param(self, value: Any) -> str:
        """A placeholder for one more parameter (for a clause outside WHERE: a LIMIT, an ORDER key)."""
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, template: str, *values: Any) -> None:
        """Append a condition whose `{}` placeholders take `values` as the next parameters."""
        self.conditions.append(template.format(*(self.param(v) for v in values)))

    def add_if(self, value: Any, template: str) -> None:
        """`add(template, value)` unless `value` is unset: None, `""`, 0 (so False too: a bool is an int) or
        an empty list, tuple or set (a protobuf request's unset field). A filter whose 0 or False is a value
        uses `add`."""
        unset = value is None or (isinstance(value, str | int | list | tuple | set | frozenset) and not value)
        if not unset:
            self.add(template, value)

    def sql(self) -> str:
        return " AND ".join(f"({c})" for c in self.conditions) if self.conditions else "TRUE"


def like_pattern(text: str) -> str:
    """A LIKE / ILIKE pattern that finds `text` anywhere, with `%`, `_` and `\\` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def from_row(cls: type[T], row: Mapping[str, Any], **overrides: Any) -> T:
    """An instance of the dataclass `cls` from the row's columns of the same names (`overrides` win: a
    column that needs converting, or a field the row does not carry)."""
    columns = set(row.keys())
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        if f.name in overrides:
            values[f.name] = overrides[f.name]
        elif f.name in columns:
            values[f.name] = row[f.name]
    return cls(**values)


def from_rows(cls: type[T], rows: Iterable[Mapping[str, Any]]) -> list[T]:
    return [from_row(cls, row) for row in rows]
