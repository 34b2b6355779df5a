"""The base of the HTTP doors' response bodies: a pydantic model read from a domain object's attributes.

    class UnitRead(ReadModel):
        id: uuid.UUID
        code: str
        ...

    UnitRead.model_validate(unit)   # instead of a field-by-field `UnitRead.of(unit)`

Enum values serialise as their values, dates and datetimes as ISO 8601, UUIDs as strings.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True, use_enum_values=True)
