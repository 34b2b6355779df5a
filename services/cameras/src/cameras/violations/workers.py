"""Periodic work of violation handling: the overdue check, and the gauges of open and overdue violations.
It runs in the relay role (in-process by default)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from cameras.violations import service
from cameras.violations.domain import PRIORITIES
from cameras.violations.service import ViolationsDeps, ViolationsUnitOfWork
from d07.platform.events.retry import Backoff, is_transient
from d07.platform.logging import get_logger
from d07.platform.runtime import Worker

log = get_logger(__name__)
MIN_PAUSE = 0.05


class ViolationGauges(Collector):
    """`d07_violations_open` and `d07_violations_overdue` per priority, as last read from the database (so
    they are right whichever process changed the violations). Until a first reading the process exports
    neither: a process that does not run the overdue check shows no number rather than a wrong zero."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[int, int]] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.values is None:
            return
        opened = GaugeMetricFamily(
            "d07_violations_open", "Violations not yet resolved or dismissed", labels=["priority"]
        )
        overdue = GaugeMetricFamily(
            "d07_violations_overdue", "Violations still new past their reaction deadline", labels=["priority"]
        )
        for priority in PRIORITIES:
            count_open, count_overdue = self.values.get(priority, (0, 0))
            opened.add_metric([priority], count_open)
            overdue.add_metric([priority], count_overdue)
        yield opened
        yield overdue


GAUGES = ViolationGauges()
REGISTRY.register(GAUGES)


async def overdue_round(uow: ViolationsUnitOfWork, *, now: datetime, interval: float) -> float:
    """One pass: flag what is overdue at `now`, refresh the gauges; the seconds until the next pass (the
    interval, or sooner when a deadline falls before)."""
    flagged = await service.mark_overdue(uow, now=now)
    if flagged:
        log.info("violations_overdue", count=len(flagged))
    GAUGES.values = await service.counts(uow)
    deadline = await service.next_deadline(uow)
    if deadline is None:
        return interval
    return min(interval, max(MIN_PAUSE, (deadline - uow.now()).total_seconds()))


def workers(deps: ViolationsDeps) -> list[Worker]:
    interval = deps.settings.violation_overdue_interval_seconds

    async def overdue_worker(stop: asyncio.Event) -> None:
        backoff = Backoff(cap=interval)
        while not stop.is_set():
            try:
                uow = deps.uow(ViolationsUnitOfWork)
                pause = await overdue_round(uow, now=uow.now(), interval=interval)
                backoff.reset()
            except Exception as exc:
                # The database restarting is no reason to stop the process: the next pass tries again.
                if not is_transient(exc):
                    raise
                log.warning("violations_overdue_check_failed", error=str(exc))
                pause = backoff.next_delay()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    return [overdue_worker]
