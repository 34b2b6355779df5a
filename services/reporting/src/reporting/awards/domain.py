"""Award counts (pure: no I/O)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwardCount:
    """The standing (decided, not revoked) awards of one form to one kind of recipient."""

    form_code: str
    recipient_kind: str
    awards: int
