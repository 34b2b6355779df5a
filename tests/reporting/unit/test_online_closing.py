"""How a close (a camera offline at its last sign of life) meets the latest online row of its camera, in
whatever order a rebuild applies them (pure: `reporting.projections.domain.closing`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from reporting.projections.domain import Closing, Interval, closing

T = datetime(2019, 3, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
E, LATER = uuid.uuid4(), uuid.uuid4()


def test_an_open_interval_ends_at_the_close() -> None:
    assert closing(Interval(T, None, None), T + HOUR, E) == Closing(ends=True, marker=None)


def test_a_close_applied_before_does_nothing() -> None:
    assert closing(Interval(T, T + HOUR, E), T + HOUR, E) == Closing(ends=False, marker=None)


def test_an_interval_ending_later_ends_here_and_its_later_close_is_a_marker_again() -> None:
    # It took the close marker of a later online event whose own online event was not there yet.
    latest = Interval(T, T + 3 * HOUR, LATER)
    assert closing(latest, T + HOUR, E) == Closing(ends=True, marker=(T + 3 * HOUR, LATER))


def test_without_its_online_event_a_close_leaves_a_marker() -> None:
    assert closing(None, T, E) == Closing(ends=False, marker=(T, E))
    assert closing(Interval(T - 2 * HOUR, T - HOUR, LATER), T, E) == Closing(ends=False, marker=(T, E))
