"""Load a small demo province through the public HTTP APIs (never by writing tables).

Run by `make run` once every service is ready; safe to run again (what exists is left as it is).
The full generated province of the 2014-2019 review comes with the reporting work (`make seed`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from d07.platform.auth import ensure_dev_keys, issue_token

OFFSET = int(os.environ.get("D07_PORT_OFFSET", "0"))
RUN_DIR = Path(os.environ.get("D07_RUN_DIR", ".run"))
REGISTRY = f"http://127.0.0.1:{8001 + OFFSET}"
CAMERAS = f"http://127.0.0.1:{8003 + OFFSET}"

UNITS = [
    ("SO-TTTT", "Sở Thông tin và Truyền thông", "agency", "001", "00001", "Số 10 đường Trần Phú"),
    ("THPT-CVA", "Trường THPT Chu Văn An", "school", "001", "00004", "Số 2 đường Lê Lợi"),
    ("CTY-DIEN-LUC", "Công ty Điện lực tỉnh", "enterprise", "002", "00010", "Số 45 đường Nguyễn Huệ"),
    ("DH-SU-PHAM", "Trường Đại học Sư phạm", "school", "003", "00016", "Số 1 đường Hùng Vương"),
    (
        "KCN-FDI-01",
        "Công ty TNHH Điện tử Quang Minh (vốn FDI)",
        "enterprise",
        "004",
        "00024",
        "Khu công nghiệp Phú Tài",
    ),
]


def main() -> int:
    key, _ = ensure_dev_keys(RUN_DIR)
    token = issue_token(key.read_bytes(), roles=["admin"], subject="demo-seed")
    headers = {"Authorization": f"Bearer {token}"}
    unit_ids: dict[str, str] = {}
    with httpx.Client(headers=headers, timeout=10) as http:
        for code, name, kind, district, commune, address in UNITS:
            r = http.post(
                f"{REGISTRY}/v1/units",
                json={
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "district_code": district,
                    "commune_code": commune,
                    "address": address,
                },
            )
            if r.status_code == 201:
                unit_ids[code] = r.json()["id"]
            elif r.status_code != 409:
                print(f"unit {code}: {r.status_code} {r.text}", file=sys.stderr)
                return 1
        for n, code in enumerate(unit_ids, start=1):
            r = http.post(
                f"{CAMERAS}/v1/cameras",
                json={
                    "code": f"CAM-{n:05d}",
                    "name": f"Camera cổng chính {code}",
                    "latitude": 13.77 + n / 100,
                    "longitude": 109.22 + n / 100,
                    "unit_id": unit_ids[code],
                    "status": "installed",
                },
            )
            if r.status_code not in (201, 409):
                print(f"camera {n}: {r.status_code} {r.text}", file=sys.stderr)
                return 1
    print(f"demo data: {len(unit_ids)} new units, cameras for them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
