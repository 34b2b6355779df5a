"""Protobuf messages of the camera network: topics, and the domain's objects as the API and events
carry them."""

from __future__ import annotations

from datetime import date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from cameras.network.domain import Camera, CameraStatus, InstallationPlan, Progress
from d07.cameras.v1 import cameras_pb2 as pb
from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.platform.errors import FieldProblem, InvalidArgument

SOURCE = "/d07/cameras"
CAMERAS_TOPIC = "d07.cameras.cameras.v1"
PLANS_TOPIC = "d07.cameras.plans.v1"

STATUS_TO_PB = {
    CameraStatus.PLANNED: pb.CAMERA_STATUS_PLANNED,
    CameraStatus.INSTALLED: pb.CAMERA_STATUS_INSTALLED,
    CameraStatus.DECOMMISSIONED: pb.CAMERA_STATUS_DECOMMISSIONED,
}
STATUS_FROM_PB = {v: k.value for k, v in STATUS_TO_PB.items()}


def timestamp(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def date_to_pb(day: date | None) -> common_pb2.Date | None:
    return common_pb2.Date(year=day.year, month=day.month, day=day.day) if day else None


def date_from_pb(value: common_pb2.Date, field: str) -> date | None:
    """An unset (all zero) date is None; an impossible one is an InvalidArgument naming the field."""
    if not (value.year or value.month or value.day):
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument(
            "not a calendar date", code="invalid_date", fields=[FieldProblem(field, "a real date")]
        ) from None


def actor(principal: Principal) -> common_pb2.Actor:
    return common_pb2.Actor(subject=principal.subject, roles=sorted(principal.roles))


def camera_to_pb(camera: Camera) -> pb.Camera:
    return pb.Camera(
        id=str(camera.id),
        code=camera.code,
        name=camera.name,
        unit_id=str(camera.unit_id or ""),
        latitude=camera.latitude,
        longitude=camera.longitude,
        address=camera.address,
        status=STATUS_TO_PB[camera.status],
        version=camera.version,
        created_at=timestamp(camera.created_at),
        district_code=camera.district_code,
        commune_code=camera.commune_code,
        agency=camera.agency,
        planned_on=date_to_pb(camera.planned_on),
        installed_on=date_to_pb(camera.installed_on),
        decommissioned_on=date_to_pb(camera.decommissioned_on),
        updated_at=timestamp(camera.updated_at) if camera.updated_at else None,
        online=camera.online,
        last_seen_at=timestamp(camera.last_seen_at) if camera.last_seen_at else None,
    )


def plan_to_pb(plan: InstallationPlan) -> pb.InstallationPlan:
    return pb.InstallationPlan(
        id=str(plan.id),
        name=plan.name,
        target=plan.target,
        starts_on=date_to_pb(plan.starts_on),
        deadline=date_to_pb(plan.deadline),
        district_targets=[
            pb.DistrictTarget(district_code=d, target=t) for d, t in sorted(plan.district_targets.items())
        ],
        version=plan.version,
        created_at=timestamp(plan.created_at),
    )


def progress_to_pb(p: Progress) -> pb.ProgressFigures:
    return pb.ProgressFigures(
        district_code=p.district_code,
        target=p.target,
        planned=p.counts.planned,
        installed=p.counts.installed,
        decommissioned=p.counts.decommissioned,
        installed_by_deadline=p.counts.installed_by_deadline,
        remaining=p.remaining,
        percent_installed=p.percent_installed,
    )
