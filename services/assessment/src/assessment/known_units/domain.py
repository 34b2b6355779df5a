"""The units read copy: a unit as assessment knows it. Pure data, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class UnitKind(StrEnum):
    AGENCY = "agency"
    ENTERPRISE = "enterprise"
    SCHOOL = "school"


class UnitStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    DISSOLVED = "dissolved"


# What the copy keeps for a kind or a status this version of the contract does not know.
UNKNOWN_KIND = "unspecified"
DEFAULT_STATUS = UnitStatus.ACTIVE


@dataclass(frozen=True)
class GetKnownUnit:
    unit_id: str


@dataclass(frozen=True)
class KnownUnit:
    unit_id: uuid.UUID
    code: str
    name: str
    kind: str
    district_code: str


@dataclass(frozen=True)
class UnitSnapshot:
    """A unit as one registry event carries it, with what decides whether it is assessed."""

    unit: KnownUnit
    version: int
    status: str
    in_scope: bool
