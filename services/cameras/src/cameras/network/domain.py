"""Cameras of the network. Pure rules, no I/O."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from d07.platform.errors import FieldProblem, InvalidArgument

CODE = re.compile(r"^CAM-\d{5}$")


class CameraStatus(StrEnum):
    PLANNED = "planned"
    INSTALLED = "installed"
    DECOMMISSIONED = "decommissioned"


@dataclass(frozen=True)
class CreateCamera:
    code: str
    name: str
    latitude: float
    longitude: float
    unit_id: str = ""
    address: str = ""
    status: str = "planned"


@dataclass(frozen=True)
class Camera:
    id: uuid.UUID
    code: str
    name: str
    unit_id: uuid.UUID | None
    latitude: float
    longitude: float
    address: str
    status: CameraStatus
    version: int
    created_at: datetime


def validate(cmd: CreateCamera) -> CreateCamera:
    problems: list[FieldProblem] = []
    code = cmd.code.strip().upper()
    if not CODE.match(code):
        problems.append(FieldProblem("code", "CAM- followed by five digits, for example CAM-00017"))
    name = " ".join(cmd.name.split())
    if not name:
        problems.append(FieldProblem("name", "the camera's name is required"))
    # The province lies within Vietnam's bounding box; a point outside it is a typing error.
    if not 8.0 <= cmd.latitude <= 23.5:
        problems.append(FieldProblem("latitude", "between 8.0 and 23.5 (Vietnam)"))
    if not 102.0 <= cmd.longitude <= 110.0:
        problems.append(FieldProblem("longitude", "between 102.0 and 110.0 (Vietnam)"))
    if cmd.status not in {s.value for s in CameraStatus}:
        problems.append(FieldProblem("status", "one of planned, installed, decommissioned"))
    unit_id = cmd.unit_id.strip()
    if unit_id:
        try:
            uuid.UUID(unit_id)
        except ValueError:
            problems.append(FieldProblem("unit_id", "a UUID is expected"))
    if problems:
        raise InvalidArgument("the camera is not valid", code="invalid_camera", fields=problems)
    return CreateCamera(
        code=code,
        name=name,
        latitude=cmd.latitude,
        longitude=cmd.longitude,
        unit_id=unit_id,
        address=" ".join(cmd.address.split()),
        status=cmd.status,
    )
