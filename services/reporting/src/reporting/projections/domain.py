"""The projections' rules that need no database: the names the read models keep for the producers' enum
numbers, which of two rows of one key a guarded upsert keeps, and how a camera's online interval is closed.
Pure: no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

# The projections' consumer: its ConsumerSpec name, the `consumer` of its inbox rows.
CONSUMER_NAME = "projections"

# The read models' names for the producers' enum numbers. A number the table does not know takes the
# default the projector gives (`.get(number, default)`): an event of a newer producer is projected, not
# refused, so these stay plain tables (`EnumMap` refuses an unknown number).
UNIT_KINDS = {1: "agency", 2: "enterprise", 3: "school"}
UNIT_STATUSES = {1: "active", 2: "merged", 3: "dissolved"}
CAMERA_STATUSES = {1: "planned", 2: "installed", 3: "decommissioned"}
VIOLATION_STATUSES = {1: "new", 2: "acknowledged", 3: "in_progress", 4: "resolved", 5: "dismissed"}
VIOLATION_PRIORITIES = {1: "critical", 2: "high", 3: "medium", 4: "low"}
ASSESSMENT_RESULTS = {1: "passed", 2: "failed"}
MODEL_HOSTS = {"unit": "unit", "community": "community"}
MODEL_FORMATIONS = {1: "built", 2: "consolidated"}
MODEL_STATUSES = {1: "built", 2: "consolidated", 3: "effective", 4: "inactive"}
CLASS_STATUSES = {1: "scheduled", 2: "held", 3: "cancelled"}
ATTENDANCE_OUTCOMES = {1: "pending", 2: "completed", 3: "not_completed"}

# --- which row of a key a guarded upsert keeps (`wins(kept, later)`, the guard in Python) -------------------

Row = tuple[Any, ...]
Wins = Callable[[Row, Row], bool]


def same_time_or_later(position: int) -> Wins:
    """The latest event time wins, of equal times the last (the violations: `<=`)."""

    def wins(kept: Row, later: Row) -> bool:
        return bool(kept[position] <= later[position])

    return wins


def revocation(position: int) -> Wins:
    """A decision inserts and is never overwritten; a revocation wins over whatever came before it (the
    awards: the status at `position`)."""

    def wins(kept: Row, later: Row) -> bool:
        return bool(later[position] == "revoked")

    return wins


def is_a_day(year: int, month: int, day: int) -> bool:
    """Whether PostgreSQL's make_date takes it (Python's date is the stricter)."""
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# --- closing a camera's online interval ------------------------------------------------------------------

# A camera's events alternate (online at a, offline at its last sign of life b >= a, online again later ...)
# and arrive in that order, but a rebuild beside the live consumer may apply a later part of them before an
# earlier one (the live consumer after the tables were emptied, the replay from the start). So the steps do
# not depend on the order: an offline event whose online event is not there yet leaves a close marker (a
# zero-length row without `opened_by`) that the online event, when it comes, turns into its interval.


@dataclass(frozen=True)
class Interval:
    """The latest row of a camera's online time that began at or before a close."""

    online_from: datetime
    online_until: datetime | None
    closed_by: uuid.UUID | None


@dataclass(frozen=True)
class Closing:
    """What a close at `at` does: end the interval `latest` there (`ends`), and leave a close marker
    (`marker`: its time and its event) for an online event not there yet."""

    ends: bool
    marker: tuple[datetime, uuid.UUID | None] | None


def closing(latest: Interval | None, at: datetime, event_id: uuid.UUID) -> Closing:
    """End the camera's online interval at `at`: the latest row that began at or before `at`.
    - An open interval: it ends at `at`.
    - One that ends at `at`: this close was applied before; nothing to do.
    - One that ends later: it took a close marker of a later online event whose own online event was not there
      yet (only a rebuild's split order does that); it ends at `at`, and the later close is a marker again.
    - None, or one that ended before `at`: the online event of this close is not there yet; a close marker."""
    if latest is None or (latest.online_until is not None and latest.online_until < at):
        return Closing(ends=False, marker=(at, event_id))
    if latest.online_until is None:
        return Closing(ends=True, marker=None)
    if latest.online_until > at:
        return Closing(ends=True, marker=(latest.online_until, latest.closed_by))
    return Closing(ends=False, marker=None)
