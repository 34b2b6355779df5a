"""Protobuf messages of the camera network: topics, and the domain's objects as the API and events
carry them."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from cameras.network.domain import Camera, CameraStatus, HealthRow, InstallationPlan, Progress
from d07.cameras.v1 import cameras_pb2 as pb
from d07.platform.convert import EnumMap, optional_date_to_pb, optional_timestamp, timestamp

CAMERAS_TOPIC = "d07.cameras.cameras.v1"
PLANS_TOPIC = "d07.cameras.plans.v1"

STATUSES = EnumMap(
    {
        CameraStatus.PLANNED: pb.CAMERA_STATUS_PLANNED,
        CameraStatus.INSTALLED: pb.CAMERA_STATUS_INSTALLED,
        CameraStatus.DECOMMISSIONED: pb.CAMERA_STATUS_DECOMMISSIONED,
    },
    field="status",
)


def status_from_pb(number: int, default: str = "") -> str:
    """The status's name; `default` for the unspecified value or a number the API does not know (the
    handler's validation names the field then)."""
    status = STATUSES.from_pb_table.get(number)
    return status.value if status is not None else default


def status_to_pb(status: CameraStatus | None) -> pb.CameraStatus:
    return cast(pb.CameraStatus, STATUSES.to_pb(status))


def camera_to_pb(camera: Camera) -> pb.Camera:
    return pb.Camera(
        id=str(camera.id),
        code=camera.code,
        name=camera.name,
        unit_id=str(camera.unit_id or ""),
        latitude=camera.latitude,
        longitude=camera.longitude,
        address=camera.address,
        status=status_to_pb(camera.status),
        version=camera.version,
        created_at=timestamp(camera.created_at),
        district_code=camera.district_code,
        commune_code=camera.commune_code,
        agency=camera.agency,
        planned_on=optional_date_to_pb(camera.planned_on),
        installed_on=optional_date_to_pb(camera.installed_on),
        decommissioned_on=optional_date_to_pb(camera.decommissioned_on),
        updated_at=optional_timestamp(camera.updated_at),
        online=camera.online,
        last_seen_at=optional_timestamp(camera.last_seen_at),
    )


def plan_to_pb(plan: InstallationPlan) -> pb.InstallationPlan:
    return pb.InstallationPlan(
        id=str(plan.id),
        name=plan.name,
        target=plan.target,
        starts_on=optional_date_to_pb(plan.starts_on),
        deadline=optional_date_to_pb(plan.deadline),
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


def came_online(row: HealthRow, at: datetime) -> pb.CameraCameOnline:
    return pb.CameraCameOnline(
        camera_id=str(row.id),
        code=row.code,
        unit_id=str(row.unit_id or ""),
        at=timestamp(at),
        previous_seen_at=optional_timestamp(row.last_seen_at),
    )


def went_offline(row: HealthRow, detected_at: datetime) -> pb.CameraWentOffline:
    return pb.CameraWentOffline(
        camera_id=str(row.id),
        code=row.code,
        unit_id=str(row.unit_id or ""),
        last_seen_at=optional_timestamp(row.last_seen_at),
        detected_at=timestamp(detected_at),
    )
