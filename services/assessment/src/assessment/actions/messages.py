"""Corrective actions as the protobuf messages of d07.assessment.v1."""

from __future__ import annotations

from assessment.actions.domain import CorrectiveAction
from d07.assessment.v1 import assessment_pb2 as pb
from d07.platform.convert import date_to_pb, optional_timestamp, timestamp


def action_to_pb(c: CorrectiveAction) -> pb.CorrectiveAction:
    return pb.CorrectiveAction(
        id=str(c.id),
        assessment_id=str(c.assessment_id),
        unit_id=str(c.unit_id),
        criterion_code=c.criterion_code,
        action=c.action,
        owner=c.owner,
        due_on=date_to_pb(c.due_on),
        status=c.status.value,
        created_by=c.created_by,
        created_at=timestamp(c.created_at),
        closed_by=c.closed_by or "",
        closed_at=optional_timestamp(c.closed_at),
        closing_note=c.closing_note,
    )
