"""Find and run promtool, Prometheus's own linter, to check what /metrics serves."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = "tools/get-promtool.sh"


def promtool_path() -> str:
    """`.tools/bin/promtool` of the repository, else promtool on PATH; a clear failure when neither."""
    local = ROOT / ".tools" / "bin" / "promtool"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("promtool")
    if found:
        return found
    raise AssertionError(f"promtool is not installed: run `{INSTALLER}` (or `make setup`) first")


async def check_metrics(exposition: bytes) -> tuple[int, str]:
    """`promtool check metrics` on an exposition: its exit code (0 clean, 1 unparsable, 3 lint) and output."""
    proc = await asyncio.create_subprocess_exec(
        promtool_path(),
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate(exposition)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")
