"""`make lint` holds proto/ to the committed baseline image with `buf breaking`: the tree as it is passes, and
a change that would break a client fails. Run on a copy of proto/, with the same command and baseline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

BUF = ROOT / ".venv" / "bin" / "buf"
BASELINE = ROOT / "proto" / "baseline.binpb"


def breaking(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUF), "breaking", str(tree), "--against", str(BASELINE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", copy, ignore=shutil.ignore_patterns("*.binpb"))
    return copy


def test_lint_runs_buf_breaking_against_the_committed_baseline() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "buf breaking proto --against proto/baseline.binpb" in lint
    assert BASELINE.stat().st_size > 0


def test_the_tree_as_committed_keeps_the_contract(tree: Path) -> None:
    done = breaking(tree)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_addition_keeps_the_contract(tree: Path) -> None:
    path = tree / "d07" / "registry" / "v1" / "registry.proto"
    text = path.read_text()
    path.write_text(text + "\n// Added after the release.\nmessage ExtraThing {\n  string note = 1;\n}\n")
    done = breaking(tree)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("file", "old", "new", "said"),
    [
        (  # a field renamed: JSON clients and generated code break
            "registry/v1/registry.proto",
            "message GetUnitRequest {\n  string id = 1",
            "message GetUnitRequest {\n  string unit_id = 1",
            'changed name from "id" to "unit_id"',
        ),
        (  # a field's type changed: the wire breaks
            "common/v1/common.proto",
            "  int32 page_size = 1;",
            "  string page_size = 1;",
            "page_size",
        ),
        (  # an RPC removed
            "awards/v1/certificates.proto",
            "  rpc VerifyCertificate(VerifyCertificateRequest) returns (VerifyCertificateResponse);\n",
            "",
            "VerifyCertificate",
        ),
    ],
    ids=["field_renamed", "field_retyped", "rpc_removed"],
)
def test_a_change_that_would_break_a_client_fails(
    tree: Path, file: str, old: str, new: str, said: str
) -> None:
    path = tree / "d07" / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    done = breaking(tree)
    assert done.returncode != 0
    assert said in done.stdout, done.stdout + done.stderr
