"""Certificates of decided awards: what a certificate says and how it is laid out, its verification code,
and who may do what. Pure: no I/O, so every text and rule here is tested alone.

The texts follow the Vietnamese certificate as it is printed: the national motto, the issuing authority
(the Chairman of the Provincial People's Committee for a Bằng khen, the Director of the Provincial Police
for a Giấy khen), "TẶNG BẰNG KHEN" / "TẶNG GIẤY KHEN", the recipient, the achievement in carrying out
Directive 07/CT-BCA-V28, the decision number and date, the place and date line and the signer.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from d07.platform.auth import ADMIN, CHAIRMAN_OFFICE, POLICE, Principal
from d07.platform.errors import FieldProblem, InvalidArgument, PermissionDenied
from d07.platform.signing import Signature, signature
from d07.platform.text import vn_date

MERIT = "merit"
COMMENDATION = "commendation"
COLLECTIVE = "collective"
INDIVIDUAL = "individual"
DIRECTIVE = "Chỉ thị số 07/CT-BCA-V28"

# Per form: the authority's heading, the award line, the form's name and the signer's title.
AUTHORITY = {MERIT: "CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH", COMMENDATION: "GIÁM ĐỐC CÔNG AN TỈNH"}
AWARD_LINE = {MERIT: "TẶNG BẰNG KHEN", COMMENDATION: "TẶNG GIẤY KHEN"}
FORM_NAME = {MERIT: "Bằng khen", COMMENDATION: "Giấy khen"}
SIGNER_TITLE = {MERIT: "Chủ tịch", COMMENDATION: "Giám đốc"}
# The offices a decision's signer may name after the title ("Phó Chủ tịch UBND tỉnh Nguyễn Văn Thành").
OFFICES = ("Ủy ban nhân dân tỉnh", "Uỷ ban nhân dân tỉnh", "UBND tỉnh", "Công an tỉnh")
# The role that decides (and so issues the certificates of) each form; admin issues every form.
ISSUING_ROLE = {MERIT: CHAIRMAN_OFFICE, COMMENDATION: POLICE}
# Who may issue any certificate at all (checked first; the form's own issuer on each award).
ISSUERS = (ADMIN, *ISSUING_ROLE.values())

# Verification codes: 12 symbols of a 32-letter alphabet without the look-alikes 0/O and 1/I (60 bits from
# the operating system's CSPRNG), printed in groups of four. Guessing one valid code among even a million
# takes about 10^12 tries on average, far beyond what the rate-limited public endpoint answers.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 12
CODE_GROUP = 4


def new_code() -> str:
    """A fresh verification code in its canonical form (no dashes): `K7QM3XHDP9TA`."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def printed_code(code: str) -> str:
    """The code as printed and typed: `K7QM-3XHD-P9TA`."""
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def canonical_code(typed: str) -> str | None:
    """The canonical form of a code as someone typed it (any case, dashes and spaces ignored), or None when it
    cannot be a code at all (so a malformed code never reaches the database)."""
    text = "".join(typed.split()).replace("-", "").upper()
    if len(text) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in text):
        return None
    return text


@dataclass(frozen=True, kw_only=True)
class AwardFacts:
    """A decided award as its certificate prints it: the award, the recipient's names as the read models know
    them and the nomination's achievement."""

    award_id: uuid.UUID
    form_code: str
    recipient_kind: str
    unit_id: uuid.UUID
    unit_name: str
    person_name: str
    achievement: str
    decision_number: str
    decided_on: date
    signer: str
    issuer: str
    status: str
    period_start: date | None = None
    period_end: date | None = None

    @property
    def recipient(self) -> str:
        """The recipient as one line: the unit, or the person and their unit."""
        if self.recipient_kind == INDIVIDUAL:
            return f"{self.person_name}, {self.unit_name}"
        return self.unit_name

    def award_fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(AwardFacts)}


@dataclass(frozen=True, kw_only=True)
class CertificateFacts(AwardFacts):
    """Everything a certificate prints: the decided award and the certificate's own code."""

    certificate_id: uuid.UUID
    code: str
    issued_at: datetime


@dataclass(frozen=True, kw_only=True)
class IssuableAward(AwardFacts):
    """An award as issuing reads it: with its certificate when one is issued already."""

    certificate_id: uuid.UUID | None = None
    code: str | None = None
    issued_at: datetime | None = None

    def certificate(self) -> CertificateFacts:
        """The certificate it has."""
        assert self.certificate_id is not None
        assert self.code is not None
        assert self.issued_at is not None
        return self.issued(self.certificate_id, self.code, self.issued_at)

    def issued(self, certificate_id: uuid.UUID, code: str, issued_at: datetime) -> CertificateFacts:
        """Its certificate with this id and code, issued now."""
        return CertificateFacts(
            **self.award_fields(), certificate_id=certificate_id, code=code, issued_at=issued_at
        )


class VerificationStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verification:
    """The answer to a printed code: only the certificate's public facts."""

    status: VerificationStatus
    recipient: str = ""
    form: str = ""
    decision_number: str = ""
    decided_on: date | None = None
    issuer: str = ""


def verification(found: CertificateFacts | None) -> Verification:
    """What a code stands for: the certificate's public facts, or unknown."""
    if found is None:
        return Verification(VerificationStatus.UNKNOWN)
    return Verification(
        status=VerificationStatus.VALID if found.status == "decided" else VerificationStatus.REVOKED,
        recipient=found.recipient,
        form=FORM_NAME.get(found.form_code, found.form_code),
        decision_number=found.decision_number,
        decided_on=found.decided_on,
        issuer=found.issuer or AUTHORITY.get(found.form_code, ""),
    )


@dataclass(frozen=True)
class Line:
    """One centred line (or wrapped paragraph) of a certificate page."""

    text: str
    size: float = 13
    bold: bool = False
    space_before: float = 0  # millimetres above the line
    align: Literal["C", "R", "L"] = "C"


def achievement_text(facts: CertificateFacts) -> str:
    """ "Đã có thành tích ... trong thực hiện Chỉ thị số 07/CT-BCA-V28", with the nomination's own words
    and the review period when the round names one."""
    what = " ".join(facts.achievement.split()).rstrip(".") or "xuất sắc"
    text = f"Đã có thành tích {what} trong thực hiện {DIRECTIVE}"
    if facts.period_start and facts.period_end:
        text += f", giai đoạn {facts.period_start.year}-{facts.period_end.year}"
    return text + "."


def place_and_date(place: str, on: date) -> str:
    """ "Sơn Lâm, ngày 29 tháng 8 năm 2019": the date line of a Vietnamese document (no leading zeros)."""
    return f"{place}, ngày {on.day} tháng {on.month} năm {on.year}"


def signer_block(form_code: str, signer: str) -> Signature:
    """The signature block of a certificate in the forms of Decree 30/2020/NĐ-CP, from the decision's signer
    as recorded: "Phó Chủ tịch UBND tỉnh Nguyễn Văn Thành" signs for the Chairman (KT. CHỦ TỊCH / PHÓ CHỦ
    TỊCH / Nguyễn Văn Thành), "Quyền Giám đốc ..." as acting head (Q. GIÁM ĐỐC), "Chủ tịch ..." or a bare name
    as the head (CHỦ TỊCH)."""
    head = SIGNER_TITLE[form_code]
    text = " ".join(signer.split())
    form, title = "", ""
    for prefix, how in ((f"Phó {head}", "KT"), (f"Quyền {head}", "Q"), (head, "")):
        if text.casefold().startswith(prefix.casefold() + " "):
            form, title = how, prefix if how == "KT" else ""
            text = text[len(prefix) :].strip()
            break
    for office in OFFICES:
        if text.casefold().startswith(office.casefold() + " "):
            text = text[len(office) :].strip()
            break
    return signature(form, head=head, title=title, name=text or signer)


def layout(facts: CertificateFacts, *, place: str) -> list[Line]:
    """The lines of one certificate page, top to bottom."""
    if facts.form_code not in AUTHORITY:
        raise InvalidArgument(f"no certificate layout for the form {facts.form_code!r}", code="unknown_form")
    lines = [
        Line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=13, bold=True),
        Line("Độc lập - Tự do - Hạnh phúc", size=12, bold=True),
        Line(AUTHORITY[facts.form_code], size=16, bold=True, space_before=14),
        Line(AWARD_LINE[facts.form_code], size=26, bold=True, space_before=8),
    ]
    if facts.recipient_kind == INDIVIDUAL:
        lines += [
            Line(facts.person_name, size=20, bold=True, space_before=8),
            Line(facts.unit_name, size=15, space_before=2),
        ]
    else:
        lines.append(Line(facts.unit_name, size=20, bold=True, space_before=8))
    lines += [
        Line(achievement_text(facts), size=14, space_before=8),
        Line(
            f"Quyết định số {facts.decision_number} ngày {vn_date(facts.decided_on)}", size=12, space_before=6
        ),
        Line(place_and_date(place, facts.decided_on), size=12, space_before=10, align="R"),
    ]
    signed = signer_block(facts.form_code, facts.signer)
    lines += [Line(text, size=13, bold=True, space_before=2, align="R") for text in signed.lines()]
    lines += [
        Line(signed.name, size=13, bold=True, space_before=18, align="R"),
        Line(f"Mã xác minh: {printed_code(facts.code)}", size=10, space_before=8, align="L"),
    ]
    return lines


# --- permissions ----------------------------------------------------------------------------------------


def ensure_may_issue(principal: Principal, form_code: str) -> None:
    """Admin issues every form; the chairman's office its Bằng khen, the police its Giấy khen."""
    if principal.has_any(ADMIN) or principal.has_any(ISSUING_ROLE.get(form_code, ADMIN)):
        return
    raise PermissionDenied(
        f"the certificates of {FORM_NAME.get(form_code, form_code)} are issued by "
        f"{ISSUING_ROLE.get(form_code, ADMIN)} or admin",
        code="not_the_issuer",
    )


def ensure_issue_request(award_ids: list[str], decision_number: str) -> None:
    """Exactly one of award ids or a decision number."""
    if bool(award_ids) == bool(decision_number.strip()):
        raise InvalidArgument(
            "name either award ids or a decision number",
            code="award_ids_or_decision",
            fields=[FieldProblem("award_ids", "give award ids or a decision number, not both")],
        )
