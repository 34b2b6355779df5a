"""The PDF of the review report: the DOCX converted by LibreOffice headless (`soffice --convert-to pdf`), so
the PDF is the DOCX page for page. Each conversion runs in its own LibreOffice profile directory (two at once
would otherwise share one and the second would fail), in a temporary directory removed afterwards."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

DEFAULT_SOFFICE = "soffice"


class ConversionFailed(RuntimeError):
    """LibreOffice is missing or gave no PDF (a deployment error: 500, logged)."""


async def convert(docx: bytes, *, soffice: str = DEFAULT_SOFFICE, limit: float = 120.0) -> bytes:
    exe = shutil.which(soffice)
    if exe is None:
        raise ConversionFailed(f"LibreOffice not found ({soffice!r}; D07_SOFFICE, make tools installs it)")
    with tempfile.TemporaryDirectory(prefix="d07-pdf-") as tmp:
        work = Path(tmp)
        source = work / "bao-cao.docx"
        source.write_bytes(docx)
        proc = await asyncio.create_subprocess_exec(
            exe, f"-env:UserInstallation=file://{work / 'profile'}", "--headless", "--norestore",
            "--convert-to", "pdf", "--outdir", str(work), str(source),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "HOME": str(work)},
        )  # fmt: skip
        try:
            _, err = await asyncio.wait_for(proc.communicate(), limit)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ConversionFailed(f"LibreOffice took more than {limit:.0f} s") from None
        target = work / "bao-cao.pdf"
        if proc.returncode != 0 or not target.is_file():
            raise ConversionFailed(
                f"LibreOffice failed ({proc.returncode}): {err.decode(errors='replace')[-500:]}"
            )
        return target.read_bytes()
