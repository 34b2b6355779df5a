"""Generate Python code (messages, .pyi stubs, gRPC stubs) from proto/ into libs/contracts/src.

Run by `make proto`; the output is git-ignored and never edited by hand. proto/buf/validate/validate.proto is
protovalidate's rule vocabulary, vendored unchanged from the `protovalidate` PyPI sdist (Apache-2.0, its own
header): the d07 protos import it, so it is generated too (package `buf.validate`).
"""

from __future__ import annotations

import shutil
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
OUT = ROOT / "libs" / "contracts" / "src"


def main() -> int:
    files = sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))
    for top, pkg in {Path(f).parts[:2] for f in files}:
        shutil.rmtree(OUT / top / pkg, ignore_errors=True)
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{PROTO}",
        f"-I{well_known}",
        f"--python_out={OUT}",
        f"--pyi_out={OUT}",
        f"--grpc_python_out={OUT}",
        *files,
    ]
    rc = protoc.main(args)
    if rc != 0:
        print("protoc failed", file=sys.stderr)
        return rc
    # Regular packages below the d07 namespace (d07 itself stays a namespace shared with d07.platform).
    for directory in [*(OUT / "d07").rglob("*"), OUT / "buf", *(OUT / "buf").rglob("*")]:
        if directory.is_dir():
            (directory / "__init__.py").touch()
    (OUT / "d07" / "py.typed").touch()
    print(f"generated {len(files)} proto files into {OUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
