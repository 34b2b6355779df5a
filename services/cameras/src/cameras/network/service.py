"""Handlers of camera commands and queries."""

from __future__ import annotations

import uuid
from typing import Protocol

import asyncpg
from google.protobuf.timestamp_pb2 import Timestamp

from cameras.network import repository as cameras_repo
from cameras.network.domain import Camera, CameraStatus, CreateCamera, validate
from d07.cameras.v1 import cameras_pb2 as pb
from d07.common.v1 import common_pb2
from d07.platform import audit
from d07.platform.auth import ADMIN, AUDITOR, DIC_OPERATOR, POLICE, SERVICE, Principal, require_roles
from d07.platform.errors import AlreadyExists, FieldProblem, InvalidArgument, NotFound
from d07.platform.events import outbox

SOURCE = "/d07/cameras"
CAMERAS_TOPIC = "d07.cameras.cameras.v1"
STATUS_TO_PB = {
    CameraStatus.PLANNED: pb.CAMERA_STATUS_PLANNED,
    CameraStatus.INSTALLED: pb.CAMERA_STATUS_INSTALLED,
    CameraStatus.DECOMMISSIONED: pb.CAMERA_STATUS_DECOMMISSIONED,
}
STATUS_FROM_PB = {v: k.value for k, v in STATUS_TO_PB.items()}


class Registry(Protocol):
    async def missing_units(self, unit_ids: list[str]) -> list[str]: ...


def camera_to_pb(camera: Camera) -> pb.Camera:
    created = Timestamp()
    created.FromDatetime(camera.created_at)
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
        created_at=created,
    )


async def create_camera(
    pool: asyncpg.Pool, registry: Registry, cmd: CreateCamera, *, principal: Principal
) -> Camera:
    require_roles(principal, ADMIN, DIC_OPERATOR)
    cmd = validate(cmd)
    if cmd.unit_id and await registry.missing_units([cmd.unit_id]):
        raise InvalidArgument(
            "the camera covers a unit the registry does not know",
            code="unknown_unit",
            fields=[FieldProblem("unit_id", f"no unit {cmd.unit_id} in the registry")],
        )
    async with pool.acquire() as conn, conn.transaction():
        camera = await cameras_repo.add(conn, camera_id=uuid.uuid4(), cmd=cmd)
        if camera is None:
            raise AlreadyExists(
                f"a camera with code {cmd.code} exists",
                code="camera_code_taken",
                resource_type="camera",
                resource_id=cmd.code,
            )
        await audit.record(
            conn,
            action="camera.create",
            object_type="camera",
            object_id=str(camera.id),
            details={"code": camera.code, "unit_id": cmd.unit_id},
        )
        await outbox.add(
            conn,
            topic=CAMERAS_TOPIC,
            key=str(camera.id),
            source=SOURCE,
            subject=str(camera.id),
            message=pb.CameraRegistered(
                camera=camera_to_pb(camera),
                actor=common_pb2.Actor(subject=principal.subject, roles=sorted(principal.roles)),
            ),
        )
    return camera


async def get_camera(pool: asyncpg.Pool, camera_id: str, *, principal: Principal) -> Camera:
    require_roles(principal, ADMIN, DIC_OPERATOR, POLICE, AUDITOR, SERVICE)
    try:
        cid = uuid.UUID(camera_id)
    except ValueError:
        raise InvalidArgument(
            "not a camera id", code="invalid_id", fields=[FieldProblem("id", "a UUID is expected")]
        ) from None
    async with pool.acquire() as conn:
        camera = await cameras_repo.get(conn, camera_id=cid)
    if camera is None:
        raise NotFound(
            f"no camera {cid}", code="camera_not_found", resource_type="camera", resource_id=str(cid)
        )
    return camera
