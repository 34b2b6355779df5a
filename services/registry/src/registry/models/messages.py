"""Translation between movement models and the protobuf messages of d07.registry.v1 (models.proto)."""

from __future__ import annotations

from typing import Any, cast

from d07.platform.auth import Principal
from d07.platform.convert import EnumMap, actor, date_to_pb, timestamp
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

STATUS = EnumMap(
    {
        ModelStatus.BUILT: pb.MODEL_STATUS_BUILT,
        ModelStatus.CONSOLIDATED: pb.MODEL_STATUS_CONSOLIDATED,
        ModelStatus.EFFECTIVE: pb.MODEL_STATUS_EFFECTIVE,
        ModelStatus.INACTIVE: pb.MODEL_STATUS_INACTIVE,
    },
    field="status",
)
FORMATION = EnumMap(
    {Formation.BUILT: pb.MODEL_FORMATION_BUILT, Formation.CONSOLIDATED: pb.MODEL_FORMATION_CONSOLIDATED},
    field="formation",
)
HOST_TYPE = EnumMap(
    {HostType.UNIT: pb.MODEL_HOST_TYPE_UNIT, HostType.COMMUNITY: pb.MODEL_HOST_TYPE_COMMUNITY},
    field="host_type",
)


def name_from_pb(table: EnumMap[Any], number: int) -> str:
    """The domain value's name of a protobuf number ('' for unspecified: the rules say what that means)."""
    value = table.from_pb(number)
    return value.value if value is not None else ""


Event = ModelCreated | ModelUpdated | ModelStatusChanged


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
        formation=cast("pb.ModelFormation", FORMATION.to_pb(model.formation)),
        formed_on=date_to_pb(model.formed_on),
        status=cast("pb.ModelStatus", STATUS.to_pb(model.status)),
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
        from_status=cast("pb.ModelStatus", STATUS.to_pb(change.from_status)),
        to_status=cast("pb.ModelStatus", STATUS.to_pb(change.to_status)),
        changed_on=date_to_pb(change.changed_on),
        note=change.note,
        actor=change.actor,
    )
    if change.recorded_at is not None:
        message.recorded_at.CopyFrom(timestamp(change.recorded_at))
    return message


def kind_to_pb(kind: ModelKind) -> pb.ModelKind:
    return pb.ModelKind(
        code=kind.code,
        label=kind.label,
        host_types=[cast("pb.ModelHostType", HOST_TYPE.to_pb(t)) for t in sorted(kind.host_types)],
    )


def event_to_pb(
    event: Event, principal: Principal
) -> pb.ModelCreated | pb.ModelUpdated | pb.ModelStatusChanged:
    who = actor(principal)
    if isinstance(event, ModelCreated):
        return pb.ModelCreated(model=model_to_pb(event.model), actor=who)
    if isinstance(event, ModelUpdated):
        return pb.ModelUpdated(model=model_to_pb(event.model), actor=who)
    return pb.ModelStatusChanged(model=model_to_pb(event.model), change=change_to_pb(event.change), actor=who)
