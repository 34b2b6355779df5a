"""Units: the agencies, enterprises and schools of the movement. Pure rules, no I/O."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from d07.platform.errors import FieldProblem, InvalidArgument


class UnitKind(StrEnum):
    AGENCY = "agency"
    ENTERPRISE = "enterprise"
    SCHOOL = "school"


class UnitStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    DISSOLVED = "dissolved"


CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,31}$")


@dataclass(frozen=True)
class CreateUnit:
    """Command: register a unit."""

    code: str
    name: str
    kind: str
    district_code: str
    commune_code: str = ""
    address: str = ""


@dataclass(frozen=True)
class Unit:
    id: uuid.UUID
    code: str
    name: str
    kind: UnitKind
    district_code: str
    commune_code: str
    address: str
    status: UnitStatus
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class UnitCreated:
    """Event: a unit was registered."""

    unit: Unit


def validate(cmd: CreateUnit, *, known_districts: frozenset[str] | None = None) -> CreateUnit:
    """The command with whitespace trimmed, or InvalidArgument naming every wrong field."""
    code = cmd.code.strip().upper()
    name = " ".join(cmd.name.split())
    problems: list[FieldProblem] = []
    if not CODE.match(code):
        problems.append(FieldProblem("code", "2-32 characters: capital letters, digits, '.', '_' or '-'"))
    if not name:
        problems.append(FieldProblem("name", "the unit's name is required"))
    elif len(name) > 300:
        problems.append(FieldProblem("name", "at most 300 characters"))
    if cmd.kind not in {k.value for k in UnitKind}:
        problems.append(FieldProblem("kind", "one of agency, enterprise, school"))
    district = cmd.district_code.strip()
    if not district:
        problems.append(FieldProblem("district_code", "the district is required"))
    elif known_districts is not None and district not in known_districts:
        problems.append(FieldProblem("district_code", f"unknown district {district!r}"))
    if problems:
        raise InvalidArgument("the unit is not valid", code="invalid_unit", fields=problems)
    return CreateUnit(
        code=code,
        name=name,
        kind=cmd.kind,
        district_code=district,
        commune_code=cmd.commune_code.strip(),
        address=" ".join(cmd.address.split()),
    )
