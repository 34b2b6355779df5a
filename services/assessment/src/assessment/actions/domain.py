"""Corrective actions: pure rules, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from assessment.rounds.domain import MAX_TEXT, Assessment, AssessmentStatus
from d07.platform.errors import Conflict, FieldProblem, InvalidArgument


class ActionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class NewCorrectiveAction:
    criterion_code: str
    action: str
    owner: str
    due_on: date | None


@dataclass(frozen=True)
class CreateCorrectiveAction:
    assessment_id: str
    action: NewCorrectiveAction


@dataclass(frozen=True)
class CloseCorrectiveAction:
    id: str
    note: str = ""


@dataclass(frozen=True)
class ListCorrectiveActions:
    assessment_id: str = ""
    unit_id: str = ""
    status: str = ""


@dataclass(frozen=True)
class CorrectiveAction:
    id: uuid.UUID
    assessment_id: uuid.UUID
    unit_id: uuid.UUID
    criterion_code: str
    action: str
    owner: str
    due_on: date
    status: ActionStatus
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    closing_note: str


def validate_action(cmd: NewCorrectiveAction, assessment: Assessment, *, today: date) -> NewCorrectiveAction:
    """A corrective action belongs to a criterion the finalised result left unmet."""
    if assessment.status is not AssessmentStatus.FINALISED:
        raise Conflict(
            "corrective actions follow a finalised result",
            code="not_finalised",
            resource_type="assessment",
            resource_id=str(assessment.id),
        )
    problems: list[FieldProblem] = []
    if cmd.criterion_code not in assessment.unmet_criteria:
        problems.append(
            FieldProblem(
                "criterion_code",
                "one of the unmet criteria: " + ", ".join(assessment.unmet_criteria)
                if assessment.unmet_criteria
                else "the assessment met every criterion",
            )
        )
    action, owner = " ".join(cmd.action.split()), " ".join(cmd.owner.split())
    if not action or len(action) > MAX_TEXT:
        problems.append(FieldProblem("action", f"required, at most {MAX_TEXT} characters"))
    if not owner or len(owner) > 300:
        problems.append(FieldProblem("owner", "required, at most 300 characters"))
    if cmd.due_on is None or cmd.due_on < today:
        problems.append(FieldProblem("due_on", "a date from today on is required"))
    if problems:
        raise InvalidArgument("the corrective action is not valid", code="invalid_action", fields=problems)
    return NewCorrectiveAction(cmd.criterion_code, action, owner, cmd.due_on)
