"""The review report's rules (sơ kết / tổng kết). Pure: no I/O.

A period is a closed range of days (Vietnam time). Each figure of a period is shown beside the same figure of
the previous period of equal length, the days right before it. Assessments are counted by the year of their
round: a round counts in a period when its year is one of the period's calendar years (first to last), so two
adjacent periods that share a calendar year both count that year's rounds.

A figure is a count (the number of records behind it: its drill-down returns exactly that many records) or a
quantity (a sum over records in a unit, such as whole hours of camera online time or the detections behind the
violations opened: its drill-down returns the records that contribute, each with its share). Rates are ratios
of figures or quantities, absent (None) when their denominator is zero. A breakdown splits a count figure by
one dimension; its entries add up to it.

Beside the report, how far the projections have applied each stream (`ProjectionStatus`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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
    "cameras.online",
    "cameras.online_hours",
    "violations.opened",
    "violations.detections",
    "violations.resolved",
    "violations.dismissed",
    "violations.overdue",
    *(f"awards.{form}.{kind}" for form in AWARD_FORMS for kind in RECIPIENT_KINDS),
)
# Figures that stand beside a target (the installation plan's number of cameras).
TARGETED = frozenset({"cameras.planned", "cameras.installed"})
# The quantities among the figures, with their unit; every other figure is a count of records.
QUANTITIES: Mapping[str, str] = {"cameras.online_hours": "hours", "violations.detections": "detections"}
assert set(QUANTITIES) <= set(FIGURES)
# The ratios of the report, in the order they are shown (dotted names are JSON paths, as for figures).
RATES: tuple[str, ...] = ("cameras.uptime", "violations.per_camera_online_hour")
# Count figures split by a dimension: (figure, dimension), in the order they are shown.
BREAKDOWNS: tuple[tuple[str, str], ...] = (("violations.opened", "kind"), ("violations.opened", "district"))
assert all(f in FIGURES and f not in QUANTITIES for f, _ in BREAKDOWNS), "only count figures are split"
# The breakdown key of violations whose camera has no district.
UNKNOWN_DISTRICT = "unknown"
# The Vietnamese names of the detection kinds (the cameras service's detection_kinds).
VIOLATION_KINDS: Mapping[str, str] = {
    "intrusion": "Xâm nhập trái phép",
    "loitering": "Lảng vảng, theo dõi",
    "fire_smoke": "Cháy, khói",
    "crowd": "Tụ tập đông người",
    "vandalism": "Phá hoại tài sản",
    "traffic": "Vi phạm trật tự giao thông",
    "other": "Khác",
}


def is_quantity(figure: str) -> bool:
    return figure in QUANTITIES


def breakdown_name(figure: str, dimension: str) -> str:
    """The dotted name of a breakdown in the HTTP report: violations.opened by kind is violations.by_kind."""
    return f"{figure.split('.', 1)[0]}.by_{dimension}"


@dataclass(frozen=True)
class Entry:
    """One entry of a breakdown: the figure's records sharing `key`, in the period and the previous one."""

    key: str
    label: str
    value: int
    previous: int


def entry_label(dimension: str, key: str) -> str:
    """For people: a kind's Vietnamese name; a district's code (reporting keeps no division names)."""
    if dimension == "kind":
        return VIOLATION_KINDS.get(key, key)
    if key == UNKNOWN_DISTRICT:
        return "Chưa rõ huyện"
    return key


def breakdown_entries(dimension: str, current: Mapping[str, int], previous: Mapping[str, int]) -> list[Entry]:
    """The entries of both periods side by side, ordered by key; a key missing from a period counts 0."""
    keys = sorted(set(current) | set(previous))
    return [Entry(k, entry_label(dimension, k), current.get(k, 0), previous.get(k, 0)) for k in keys]


def uptime(online_seconds: float, exposure_seconds: float) -> float | None:
    """Online time over the time the cameras were installed, 0..1 to four decimals; None when nothing was
    installed (no time to be online in)."""
    if exposure_seconds <= 0:
        return None
    return round(online_seconds / exposure_seconds, 4)


def per_hour(count: int, hours: int) -> float | None:
    """A count per hour of online time; None when there was no whole hour online."""
    return None if hours <= 0 else count / hours


def breakdown_filter(figure: str, dimension: str, key: str) -> tuple[str, str] | None:
    """The drill-down's optional breakdown entry (dimension, key) of `figure`: both or neither, and a
    dimension the figure is split by; INVALID_ARGUMENT otherwise."""
    if not dimension and not key:
        return None
    dimensions = [d for f, d in BREAKDOWNS if f == figure]
    if not dimensions:
        raise InvalidArgument(
            f"the figure {figure!r} has no breakdown", code="invalid_breakdown",
            fields=[FieldProblem("dimension", "empty: " + figure + " is not split")],
        )  # fmt: skip
    if not dimension:
        raise InvalidArgument(
            "a breakdown entry needs its dimension", code="invalid_breakdown",
            fields=[FieldProblem("dimension", "one of " + ", ".join(dimensions))],
        )  # fmt: skip
    if dimension not in dimensions:
        raise InvalidArgument(
            f"unknown dimension {dimension!r} of {figure}", code="invalid_breakdown",
            fields=[FieldProblem("dimension", "one of " + ", ".join(dimensions))],
        )  # fmt: skip
    if not key:
        raise InvalidArgument(
            "a breakdown entry needs its key", code="invalid_breakdown",
            fields=[FieldProblem("key", f"a {dimension} of the breakdown")],
        )  # fmt: skip
    return dimension, key


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


def nest(flat: Mapping[str, object]) -> dict[str, object]:
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


# --- what the report and the drill-down read ---------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Every figure of one period, and the two parts of its uptime (seconds)."""

    figures: dict[str, int]
    exposure_seconds: float
    exposed_online_seconds: float


@dataclass(frozen=True)
class Record:
    id: str
    label: str
    # A quantity figure's share of this record, in its unit (hours, detections); None for a count.
    quantity: float | None = None


@dataclass(frozen=True)
class FigureValue:
    name: str
    value: int
    previous: int
    target: int | None
    # The unit of a quantity ("hours"); None for a count of records.
    unit: str | None = None


@dataclass(frozen=True)
class RateValue:
    name: str
    value: float | None
    previous: float | None


@dataclass(frozen=True)
class Breakdown:
    figure: str
    dimension: str
    entries: list[Entry]


@dataclass(frozen=True)
class ReviewReport:
    period: Period
    previous: Period
    district_code: str
    figures: list[FigureValue]
    rates: list[RateValue]
    breakdowns: list[Breakdown]


@dataclass(frozen=True)
class FigureRecords:
    records: list[Record]
    next_page_token: str


def rates(counts: Counts) -> dict[str, float | None]:
    """The rates of one period, from its figures (RATES, in their order)."""
    f = counts.figures
    return {
        "cameras.uptime": uptime(counts.exposed_online_seconds, counts.exposure_seconds),
        "violations.per_camera_online_hour": per_hour(f["violations.opened"], f["cameras.online_hours"]),
    }


def report(
    current: Period,
    district_code: str,
    *,
    now: Counts,
    then: Counts,
    target: int | None,
    split_now: list[dict[str, int]],
    split_then: list[dict[str, int]],
) -> ReviewReport:
    """The report of a period from what was read of it and of the previous period: every figure beside its
    previous value (and target), the rates, the breakdowns (in the order of BREAKDOWNS)."""
    figures = [
        FigureValue(
            name,
            now.figures[name],
            then.figures[name],
            target if name in TARGETED else None,
            QUANTITIES.get(name),
        )
        for name in FIGURES
    ]
    rates_now, rates_then = rates(now), rates(then)
    rate_values = [RateValue(name, value, rates_then[name]) for name, value in rates_now.items()]
    breakdowns = [
        Breakdown(figure, dimension, breakdown_entries(dimension, split_now[n], split_then[n]))
        for n, (figure, dimension) in enumerate(BREAKDOWNS)
    ]
    return ReviewReport(current, current.previous(), district_code, figures, rate_values, breakdowns)


# --- how far the projections have applied each stream ---------------------------------------------------


@dataclass(frozen=True)
class PartitionOffset:
    partition: int
    offset: int


@dataclass(frozen=True)
class StreamStatus:
    topic: str
    events_applied: int
    last_event_at: datetime | None
    consumed: list[PartitionOffset] = field(default_factory=list)


@dataclass(frozen=True)
class ProjectionStatus:
    streams: list[StreamStatus]
    units: int
    cameras: int
    violations: int
