"""Settings of the reporting service (environment variables with prefix D07_) and the dependencies its doors
are built from.

`ReportingDeps` lives here, beside the settings it types, rather than in bootstrap.py: every door takes it,
and bootstrap imports every door (a door importing bootstrap, even for typing, would be an import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from d07.platform.runtime import Deps
from d07.platform.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service: str = "reporting"
    http_port: int = 8005
    grpc_port: int = 50055
    # The review report's documents (exports): the defaults of the request's document parameters.
    report_parent_agency: str = "Ủy ban nhân dân tỉnh Sơn Lâm"
    report_agency: str = "Ban Chỉ đạo 138"
    report_symbol: str = "BC-BCĐ"
    report_place: str = "Sơn Lâm"
    # The signature block (d07.platform.signing): form "", TM, KT, Q, TL or TUQ.
    report_signing_form: str = "KT"
    report_signing_body: str = ""
    report_signer_head: str = "Trưởng ban"
    report_signer_title: str = "Phó Trưởng ban"
    report_signer_name: str = "Nguyễn Văn Thành"
    # "Nơi nhận:", one recipient per item (a JSON list in the environment).
    report_recipients: tuple[str, ...] = (
        "Bộ Công an (V28);",
        "Thường trực Tỉnh ủy;",
        "Thường trực HĐND, UBND tỉnh;",
        "Các thành viên BCĐ 138 tỉnh;",
        "Lưu: VT, BCĐ 138.",
    )
    # The DOCX template (a Word file the province edits); empty: the one shipped with the service.
    report_template: Path | None = None
    # LibreOffice for the PDF, and how long one conversion may take.
    soffice: str = "soffice"
    pdf_timeout_seconds: float = 120.0


@dataclass
class ReportingDeps(Deps):
    """Reporting's dependencies: its settings typed (it calls no peer and keeps no cache)."""

    settings: ReportingSettings
