"""Award forms: which certificate, who issues it, which role decides it. Pure data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwardForm:
    code: str
    name: str
    issuer: str
    deciding_role: str
