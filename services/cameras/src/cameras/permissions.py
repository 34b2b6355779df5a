"""Who may call what in the cameras service: ONE table. The handlers take their role lists from here
(`cameras.network.service`, `cameras.violations.service`, `cameras.detections.service`), the README's role
tables are checked against it, and the role × operation × object matrix test (tests/e2e/test_role_matrix.py)
takes its expected outcomes from it, over both doors of the running service.

`scope`: "province" (a role listed may act on any object) or "unit" (a unit officer, when listed, only on
the objects of its own unit: other units' objects are PERMISSION_DENIED / 403 `other_unit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from d07.platform.auth import (
    ADMIN,
    AUDITOR,
    CAMERA_GATEWAY,
    CHAIRMAN_OFFICE,
    DIC_OPERATOR,
    POLICE,
    ROLES,
    SERVICE,
    UNIT_OFFICER,
)

# The role lists, by what they allow.
CAMERA_MANAGERS = (ADMIN, DIC_OPERATOR)
CAMERA_PROVINCE_READERS = (ADMIN, DIC_OPERATOR, POLICE, AUDITOR, CHAIRMAN_OFFICE, SERVICE)
CAMERA_READERS = (*CAMERA_PROVINCE_READERS, UNIT_OFFICER)
HEARTBEAT_SENDERS = (CAMERA_GATEWAY, ADMIN)
DETECTION_SENDERS = (CAMERA_GATEWAY, ADMIN)
VIOLATION_READERS = (ADMIN, POLICE, DIC_OPERATOR, CHAIRMAN_OFFICE, AUDITOR, SERVICE, UNIT_OFFICER)
VIOLATION_COMMENTERS = (ADMIN, POLICE, DIC_OPERATOR)
ACKNOWLEDGERS = (ADMIN, POLICE, DIC_OPERATOR)
HANDERS_OVER = (ADMIN, DIC_OPERATOR)
POLICE_HANDLERS = (ADMIN, POLICE)
KIND_READERS = tuple(sorted(ROLES))  # gateways tune to the kinds' rules


@dataclass(frozen=True)
class Operation:
    grpc: str  # "Service/Method" in package d07.cameras.v1
    http: str  # "METHOD /path" ("" when the operation has no HTTP route)
    roles: tuple[str, ...]
    scope: Literal["province", "unit"] = "province"


OPERATIONS: tuple[Operation, ...] = (
    Operation("CamerasService/CreateCamera", "POST /v1/cameras", CAMERA_MANAGERS),
    Operation("CamerasService/GetCamera", "GET /v1/cameras/{id}", CAMERA_READERS, "unit"),
    Operation("CamerasService/UpdateCamera", "PUT /v1/cameras/{id}", CAMERA_MANAGERS),
    Operation("CamerasService/ChangeCameraStatus", "POST /v1/cameras/{id}/status", CAMERA_MANAGERS),
    Operation("CamerasService/ListCameras", "GET /v1/cameras", CAMERA_READERS, "unit"),
    Operation("CamerasService/CreateInstallationPlan", "POST /v1/installation-plans", CAMERA_MANAGERS),
    Operation("CamerasService/UpdateInstallationPlan", "PUT /v1/installation-plans/{id}", CAMERA_MANAGERS),
    Operation(
        "CamerasService/GetInstallationProgress", "GET /v1/installation-progress", CAMERA_PROVINCE_READERS
    ),
    Operation("CamerasService/SendHeartbeats", "POST /v1/heartbeats", HEARTBEAT_SENDERS),
    Operation("CamerasService/GetCameraUptime", "GET /v1/cameras/{id}/uptime", CAMERA_READERS, "unit"),
    Operation("DetectionsService/IngestDetections", "POST /v1/detections:batch", DETECTION_SENDERS),
    Operation("ViolationsService/ListViolations", "GET /v1/violations", VIOLATION_READERS, "unit"),
    Operation("ViolationsService/GetViolation", "GET /v1/violations/{id}", VIOLATION_READERS, "unit"),
    Operation(
        "ViolationsService/AcknowledgeViolation", "POST /v1/violations/{id}/acknowledge", ACKNOWLEDGERS
    ),
    Operation("ViolationsService/HandOverViolation", "POST /v1/violations/{id}/hand-over", HANDERS_OVER),
    Operation("ViolationsService/AssignViolation", "POST /v1/violations/{id}/assign", POLICE_HANDLERS),
    Operation("ViolationsService/StartViolationHandling", "POST /v1/violations/{id}/start", POLICE_HANDLERS),
    Operation("ViolationsService/ResolveViolation", "POST /v1/violations/{id}/resolve", POLICE_HANDLERS),
    Operation("ViolationsService/DismissViolation", "POST /v1/violations/{id}/dismiss", POLICE_HANDLERS),
    Operation(
        "ViolationsService/CommentOnViolation", "POST /v1/violations/{id}/comments", VIOLATION_COMMENTERS
    ),
    Operation("ViolationsService/WatchViolations", "GET /v1/violation-activity", VIOLATION_READERS, "unit"),
    Operation("ViolationsService/ListDetectionKinds", "GET /v1/detection-kinds", KIND_READERS),
)


def markdown() -> str:
    """The README's permissions table, generated from OPERATIONS (`python -m cameras.permissions`)."""
    lines = ["| gRPC (d07.cameras.v1) | HTTP | roles | a unit officer |", "|---|---|---|---|"]
    for op in OPERATIONS:
        roles = "every role" if set(op.roles) == set(ROLES) else ", ".join(op.roles)
        officer = "—" if UNIT_OFFICER not in op.roles else ("its own unit's" if op.scope == "unit" else "any")
        lines.append(f"| `{op.grpc}` | `{op.http}` | {roles} | {officer} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
