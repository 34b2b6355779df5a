"""Derived criteria: evaluation (`derive`), keeping their read models from events, and the review flag a late
violation raises on a finalised assessment.

The read models are kept inside the consumer's transaction, beside the inbox row of the event: a redelivered
event is skipped by the inbox, and a replayed older event is refused by the version guards of the repository.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from assessment.derived import domain
from assessment.derived.domain import (
    LATE_VIOLATION_REASON,
    AttendanceRow,
    ClassRow,
    DerivedResult,
    ModelRow,
    UnitFacts,
    ViolationRow,
)
from assessment.derived.repository import DerivedRepository, ReviewFlagRepository
from d07.platform.logging import get_logger

log = get_logger(__name__)


class FactsReader(Protocol):
    """What `derive` reads (the repository, or a fake of it in the handler tests)."""

    async def derived_criteria(self, *, unit_id: uuid.UUID, year: int) -> list[tuple[str, str]]: ...

    async def facts(self, *, unit_id: uuid.UUID, year: int) -> UnitFacts: ...


async def derive(reader: FactsReader, *, unit_id: uuid.UUID, year: int) -> list[DerivedResult]:
    """The derived criteria of the unit for the year, each with its reason and sources, in the order of the
    criteria set (the set of the unit's assessment of that year, else the set in force for its kind). Empty
    when the unit is not known here yet or its set derives nothing."""
    criteria = await reader.derived_criteria(unit_id=unit_id, year=year)
    if not criteria:
        return []
    facts = await reader.facts(unit_id=unit_id, year=year)
    return domain.derive_all(criteria, facts, year)


# --- the read models, from events ---------------------------------------------------------------------------


async def model_registered_or_changed_status(repo: DerivedRepository, row: ModelRow) -> None:
    await repo.upsert_model(row)
    await repo.enter_model_status(row)


async def model_updated(repo: DerivedRepository, row: ModelRow) -> None:
    await repo.upsert_model(row)
    await repo.correct_model_status(row)


async def keep_class(repo: DerivedRepository, row: ClassRow) -> None:
    await repo.upsert_class(row)


async def keep_attendance(repo: DerivedRepository, row: AttendanceRow) -> None:
    await repo.upsert_attendance(row)


async def keep_violation(repo: DerivedRepository, flags: ReviewFlagRepository, row: ViolationRow) -> None:
    """Keep the violation; while it stands as a confirmed serious violation, a finalised assessment of its
    unit and year that did not have it in view is flagged for review (`flag_late_violation`)."""
    await repo.upsert_violation(row)
    kept = await repo.get_violation(row.violation_id)
    if kept is not None and domain.is_confirmed_serious(kept.priority, kept.status):
        await flag_late_violation(flags, kept)


async def flag_late_violation(flags: ReviewFlagRepository, violation: ViolationRow) -> uuid.UUID | None:
    """Flag the finalised assessment of the violation's unit and year for review, leaving the assessment as it
    is. The flagged assessment's id, or None when nothing was flagged now:
    - no finalised assessment: an open one needs no flag, `derive` shows the violation to its verifier;
    - the finalised assessment kept the violation among its derived sources: its verifier saw it;
    - it is flagged for this violation already.
    Deciding by what the assessment kept, not by which event came first, makes a replay or a rebuild of the
    read model raise no flag that the live stream would not have raised."""
    if violation.unit_id is None:
        return None
    year = domain.year_of(violation.opened_at)
    vid = str(violation.violation_id)
    if not await flags.needs_review(unit_id=violation.unit_id, year=year, kind="violation", source_id=vid):
        return None
    flagged = await flags.flag(
        unit_id=violation.unit_id,
        year=year,
        reason=LATE_VIOLATION_REASON.format(label=domain.violation_label(violation.record())),
        source_kind="violation",
        source_id=vid,
    )
    if flagged is not None:
        log.info(
            "assessment_flagged_for_review",
            assessment_id=str(flagged),
            unit_id=str(violation.unit_id),
            year=year,
            violation_id=vid,
        )
    return flagged
