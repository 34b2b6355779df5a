"""The review report's rules (sơ kết / tổng kết). Pure: no I/O.

A period is a closed range of days (Vietnam time). Each figure of a period is shown beside the same figure of
the previous period of equal length, the days right before it. Assessments are counted by the year of their
round: a round counts in a period when its year is one of the period's calendar years (first to last), so two
adjacent periods that share a calendar year both count that year's rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from d07.platform.errors import FieldProblem, InvalidArgument

AWARD_FORMS = ("merit", "commendation")
RECIPIENT_KINDS = ("collective", "individual")

# Every figure of the report, in the order it is shown (dotted names are the JSON paths of the HTTP report).
FIGURES: tuple[str, ...] = (
    "assessments.total",
    "assessments.passed",
    "models.total",
    "models.in_units",
    "models.in_communities",
    "training.classes",
    "training.attendances",
    "cameras.planned",
    "cameras.installed",
    "violations.opened",
    "violations.resolved",
    "violations.dismissed",
    "violations.overdue",
    *(f"awards.{form}.{kind}" for form in AWARD_FORMS for kind in RECIPIENT_KINDS),
)
# Figures that stand beside a target (the installation plan's number of cameras).
TARGETED = frozenset({"cameras.planned", "cameras.installed"})


@dataclass(frozen=True)
class Period:
    """Days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def years(self) -> tuple[int, int]:
        """The first and last calendar year the period touches (the assessment rounds it counts)."""
        return self.start.year, self.end.year

    def previous(self) -> Period:
        """The period of equal length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)


def period(start: date | None, end: date | None) -> Period:
    """A period from the request; both ends are required and `start` may not be after `end`."""
    if start is None or end is None:
        ends = (("from", start), ("to", end))
        missing = [FieldProblem(n, "a date YYYY-MM-DD") for n, v in ends if v is None]
        raise InvalidArgument("the period needs both from and to", code="invalid_period", fields=missing)
    if start > end:
        raise InvalidArgument(
            "from is after to", code="invalid_period", fields=[FieldProblem("from", "on or before to")]
        )
    if start.year < 1900 or end.year > 9000:
        raise InvalidArgument(
            "the period is out of range", code="invalid_period",
            fields=[FieldProblem("from", "a year from 1900"), FieldProblem("to", "a year up to 9000")],
        )  # fmt: skip
    return Period(start, end)


def figure_name(name: str) -> str:
    """A known figure's name, or INVALID_ARGUMENT naming the known ones."""
    if name not in FIGURES:
        raise InvalidArgument(
            f"unknown figure {name!r}", code="unknown_figure",
            fields=[FieldProblem("figure", "one of " + ", ".join(FIGURES))],
        )  # fmt: skip
    return name


def nest(flat: dict[str, dict[str, int | None]]) -> dict[str, object]:
    """Dotted figure names as nested objects: {"awards.merit.collective": x} -> {"awards": {"merit":
    {"collective": x}}}, the shape of the HTTP report."""
    out: dict[str, object] = {}
    for name, value in flat.items():
        node = out
        *parents, leaf = name.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            assert isinstance(child, dict)
            node = child
        node[leaf] = value
    return out


def parse_day(field: str, text: str | None) -> date | None:
    """A day given as YYYY-MM-DD (the HTTP door's query parameters); absent stays None, anything else is
    INVALID_ARGUMENT."""
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad_day(field)
    except ValueError:
        return _bad_day(field)


def _bad_day(field: str) -> date:
    raise InvalidArgument(
        f"{field} is not a date", code="invalid_date", fields=[FieldProblem(field, "a date YYYY-MM-DD")]
    )
