"""`python -m reporting serve | relay | consume | migrate | rebuild`, and
`python -m reporting export --from YYYY-MM-DD --to YYYY-MM-DD --format docx|xlsx|pdf -o FILE [...]` for the
secretariat's scripts: the review report as a document, read from the service's database (D07_DATABASE_URL)
as the operator (the same handler as the API, with the `service` role), written to FILE."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from d07.platform.auth import SERVICE, Principal
from d07.platform.errors import DomainError
from d07.platform.runtime import main as run
from d07.platform.runtime import open_pool
from reporting.bootstrap import SPEC
from reporting.config import ReportingSettings
from reporting.exports import service
from reporting.exports.messages import document_fields
from reporting.exports.service import ExportQuery, ExportUnitOfWork, Renderers
from reporting.review.domain import parse_day


def export_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m reporting export", description="the review report as a file")
    p.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
    p.add_argument("--format", required=True, help="docx, xlsx or pdf")
    p.add_argument("-o", "--output", required=True, type=Path, help="the file to write")
    p.add_argument("--district", default="", help="a district's code; default the province")
    for name in ("parent-agency", "agency", "number", "symbol", "place", "issued-on", "signing-form",
                 "signing-body", "signer-head", "signer-title", "signer-name", "excerpt"):  # fmt: skip
        p.add_argument(f"--{name}", default="", help="the document's parameter (default: D07_REPORT_*)")
    p.add_argument("--recipient", action="append", default=[], help="Nơi nhận, one per option")
    return p


async def export(args: argparse.Namespace) -> int:
    s = ReportingSettings()
    fields = document_fields(
        s, parent_agency=args.parent_agency, agency=args.agency, number=args.number, symbol=args.symbol,
        place=args.place, issued_on=parse_day("issued_on", args.issued_on), signing_form=args.signing_form,
        signing_body=args.signing_body, signer_head=args.signer_head, signer_title=args.signer_title,
        signer_name=args.signer_name, recipients=args.recipient, excerpt=args.excerpt,
    )  # fmt: skip
    query = ExportQuery(
        start=parse_day("from", args.start), end=parse_day("to", args.end), format=args.format,
        document=fields, district_code=args.district,
        renderers=Renderers(s.report_template, s.soffice, s.pdf_timeout_seconds),
    )  # fmt: skip
    pool = await open_pool(s)
    try:
        uow = ExportUnitOfWork(pool, source=f"/d07/{s.service}")
        found = await service.export_review(uow, query, Principal("reporting-cli", frozenset({SERVICE})))
    finally:
        await pool.close()
    size = found.size
    try:
        with args.output.open("wb") as out:
            for block in found.chunks():
                out.write(block)
    finally:
        found.remove()
    print(f"{args.output} ({found.media_type}, {size} bytes)")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["export"]:
        args = export_parser().parse_args(argv[1:])
        try:
            raise SystemExit(asyncio.run(export(args)))
        except DomainError as e:
            raise SystemExit(f"python -m reporting export: {e} {[f.field for f in e.fields]}") from None
    run(SPEC, argv)


if __name__ == "__main__":
    main()
