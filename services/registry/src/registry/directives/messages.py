"""Translation between directive domain objects and the protobuf messages of d07.registry.v1."""

from __future__ import annotations

from google.protobuf.message import Message

from d07.platform.auth import Principal
from d07.platform.convert import actor, date_to_pb, timestamp
from d07.registry.v1 import directives_pb2 as pb
from registry.directives.domain import (
    DistrictProgress,
    Document,
    DocumentAcknowledged,
    DocumentDistributed,
    DocumentIssued,
    DocumentUpdated,
    Progress,
    Receipt,
)

Event = DocumentIssued | DocumentUpdated | DocumentDistributed | DocumentAcknowledged


def document_to_pb(document: Document) -> pb.Document:
    return pb.Document(
        id=str(document.id),
        number=document.number,
        kind=document.kind,
        kind_label=document.kind_label,
        title=document.title,
        issued_on=date_to_pb(document.issued_on),
        issuer=document.issuer,
        summary=document.summary,
        link=document.link,
        parent_id=str(document.parent_id) if document.parent_id else "",
        version=document.version,
        created_at=timestamp(document.created_at),
        updated_at=timestamp(document.updated_at),
    )


def receipt_to_pb(receipt: Receipt) -> pb.DocumentReceipt:
    message = pb.DocumentReceipt(
        document_id=str(receipt.document_id),
        unit_id=str(receipt.unit_id),
        unit_code=receipt.unit_code,
        unit_name=receipt.unit_name,
        district_code=receipt.district_code,
        distributed_at=timestamp(receipt.distributed_at),
        distributed_by=receipt.distributed_by,
        acknowledged=receipt.acknowledged,
        acknowledged_by=receipt.acknowledged_by or "",
        note=receipt.note,
    )
    if receipt.acknowledged_at is not None:
        message.acknowledged_at.CopyFrom(timestamp(receipt.acknowledged_at))
    return message


def district_to_pb(district: DistrictProgress) -> pb.DistrictProgress:
    return pb.DistrictProgress(
        district_code=district.district_code,
        district_name=district.district_name,
        distributed=district.distributed,
        acknowledged=district.acknowledged,
        pending=district.pending,
    )


def progress_to_pb(progress: Progress) -> pb.GetDocumentProgressResponse:
    return pb.GetDocumentProgressResponse(
        document_id=str(progress.document_id),
        distributed=progress.distributed,
        acknowledged=progress.acknowledged,
        pending=progress.pending,
        districts=[district_to_pb(d) for d in progress.districts],
    )


def event_to_pb(event: Event, principal: Principal | None) -> Message:
    """The protobuf message of a domain event, with the actor who caused it."""
    who = actor(principal)
    match event:
        case DocumentIssued(document=document):
            return pb.DocumentIssued(document=document_to_pb(document), actor=who)
        case DocumentUpdated(document=document):
            return pb.DocumentUpdated(document=document_to_pb(document), actor=who)
        case DocumentDistributed():
            return pb.DocumentDistributed(
                document_id=str(event.document_id),
                unit_ids=[str(u) for u in event.unit_ids],
                unit_count=len(event.unit_ids),
                distributed_at=timestamp(event.distributed_at),
                actor=who,
            )
        case DocumentAcknowledged(receipt=receipt):
            return pb.DocumentAcknowledged(receipt=receipt_to_pb(receipt), actor=who)
