"""Translation between movement models and the protobuf messages of d07.registry.v1 (models.proto)."""

from __future__ import annotations

from datetime import date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.registry.v1 import models_pb2 as pb
from registry.models.domain import (
    CommunityHost,
    Formation,
    HostInput,
    HostType,
    Model,
    ModelCreated,
    ModelKind,
    ModelStatus,
    ModelStatusChanged,
    ModelUpdated,
    StatusChange,
    UnitHost,
)

STATUS_TO_PB = {
    ModelStatus.BUILT: pb.MODEL_STATUS_BUILT,
    ModelStatus.CONSOLIDATED: pb.MODEL_STATUS_CONSOLIDATED,
    ModelStatus.EFFECTIVE: pb.MODEL_STATUS_EFFECTIVE,
    ModelStatus.INACTIVE: pb.MODEL_STATUS_INACTIVE,
}
STATUS_FROM_PB = {v: k.value for k, v in STATUS_TO_PB.items()}
FORMATION_TO_PB = {
    Formation.BUILT: pb.MODEL_FORMATION_BUILT,
    Formation.CONSOLIDATED: pb.MODEL_FORMATION_CONSOLIDATED,
}
FORMATION_FROM_PB = {v: k.value for k, v in FORMATION_TO_PB.items()}
HOST_TYPE_TO_PB = {HostType.UNIT: pb.MODEL_HOST_TYPE_UNIT, HostType.COMMUNITY: pb.MODEL_HOST_TYPE_COMMUNITY}
HOST_TYPE_FROM_PB = {v: k.value for k, v in HOST_TYPE_TO_PB.items()}

Event = ModelCreated | ModelUpdated | ModelStatusChanged


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def date_to_pb(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_from_pb(value: common_pb2.Date, field: str) -> date | None:
    """None for an unset date (all zero); InvalidArgument naming `field` for an impossible one."""
    if value.year == 0 and value.month == 0 and value.day == 0:
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument(
            "not a calendar date", code="invalid_date", fields=[FieldProblem(field, "not a calendar date")]
        ) from None


def host_from_pb(request: pb.CreateModelRequest | pb.UpdateModelRequest) -> HostInput:
    which = request.WhichOneof("host")
    if which == "unit":
        return HostInput(unit_id=request.unit.unit_id)
    if which == "community":
        return HostInput(
            commune_code=request.community.commune_code,
            residential_area=request.community.residential_area,
        )
    return HostInput()


def model_to_pb(model: Model) -> pb.Model:
    message = pb.Model(
        id=str(model.id),
        name=model.name,
        kind=model.kind,
        kind_label=model.kind_label,
        host_name=model.host_name,
        district_code=model.district_code,
        formation=FORMATION_TO_PB[model.formation],
        formed_on=date_to_pb(model.formed_on),
        status=STATUS_TO_PB[model.status],
        status_on=date_to_pb(model.status_on),
        description=model.description,
        version=model.version,
        created_at=timestamp(model.created_at),
        updated_at=timestamp(model.updated_at),
    )
    if isinstance(model.host, UnitHost):
        message.unit.unit_id = str(model.host.unit_id)
    elif isinstance(model.host, CommunityHost):
        message.community.commune_code = model.host.commune_code
        message.community.residential_area = model.host.residential_area
    return message


def change_to_pb(change: StatusChange) -> pb.ModelStatusChange:
    message = pb.ModelStatusChange(
        from_status=STATUS_TO_PB[change.from_status] if change.from_status else pb.MODEL_STATUS_UNSPECIFIED,
        to_status=STATUS_TO_PB[change.to_status],
        changed_on=date_to_pb(change.changed_on),
        note=change.note,
        actor=change.actor,
    )
    if change.recorded_at is not None:
        message.recorded_at.CopyFrom(timestamp(change.recorded_at))
    return message


def kind_to_pb(kind: ModelKind) -> pb.ModelKind:
    return pb.ModelKind(
        code=kind.code, label=kind.label, host_types=[HOST_TYPE_TO_PB[t] for t in sorted(kind.host_types)]
    )


def actor(principal: Principal | None) -> common_pb2.Actor:
    if principal is None:
        return common_pb2.Actor(subject="system")
    return common_pb2.Actor(subject=principal.subject, roles=sorted(principal.roles))


def event_to_pb(
    event: Event, principal: Principal
) -> pb.ModelCreated | pb.ModelUpdated | pb.ModelStatusChanged:
    who = actor(principal)
    if isinstance(event, ModelCreated):
        return pb.ModelCreated(model=model_to_pb(event.model), actor=who)
    if isinstance(event, ModelUpdated):
        return pb.ModelUpdated(model=model_to_pb(event.model), actor=who)
    return pb.ModelStatusChanged(model=model_to_pb(event.model), change=change_to_pb(event.change), actor=who)
