"""`python -m d07.demo gateway`: a simulated camera gateway that keeps the demo's healthy cameras online.

`python -m d07.demo seed [--seed N] [--size K] [--if-empty]`: generate the demo province and load it
into the running platform through its public APIs; then wait until the review report of 15-08-2014 ..
29-08-2019 shows the province's figures and print them beside the article's.

The platform is found on the local ports (plus D07_PORT_OFFSET) and tokens are signed with the development key
in D07_RUN_DIR (.run), as `make run` sets them up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from d07.demo import gateway, plan
from d07.demo.client import ApiError
from d07.demo.load import Loader, LoadError, Urls, wait_for_figures
from d07.platform.auth import ensure_dev_keys
from d07.platform.text import vn_number


async def seed(args: argparse.Namespace) -> int:
    loader = Loader(_urls(), _key(args.key), concurrency=args.concurrency)
    started = time.monotonic()
    try:
        if not await loader.is_empty():
            print("the platform already holds units: the demo province loads into an empty platform only")
            return 0 if args.if_empty else 1
        province = plan.generate(await loader.districts(), seed=args.seed, size=args.size)
        expected = plan.figures(province)
        print(f"demo province: seed {args.seed}, size {args.size}; loading through the public APIs")
        await loader.load(province)
        print(f"  {loader.loaded.calls} calls in {time.monotonic() - started:.1f} s; waiting for the report")
        report = await wait_for_figures(loader, expected, within=args.wait)
    except (LoadError, ApiError) as e:
        print(f"demo province: {e}", file=sys.stderr)
        return 1
    finally:
        await loader.aclose()
    print("review 15-08-2014 → 29-08-2019:")
    for name, value in expected.items():
        shown = report[name]["value"] if isinstance(report[name], dict) else report[name]
        print(f"  {name:<34} {vn_number(shown):>8}  (article × {args.size}: {vn_number(value)})")
    export = f"{_urls().reporting}/v1/reports/review/export?from=2014-08-15&to=2019-08-29&format="
    print("the review as the province's documents (a token of make token ROLE=chairman_office; curl -OJ):")
    print("".join(f"  {export}{fmt}\n" for fmt in ("docx", "xlsx", "pdf")), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m d07.demo", description="the demo province: seed, gateway"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("seed", help="generate the demo province and load it through the public APIs")
    s.add_argument("--seed", type=int, default=2019, help="the random seed (same seed, same province)")
    s.add_argument("--size", type=int, default=1, help="a whole multiple of the article's figures")
    s.add_argument(
        "--if-empty", action="store_true", help="do nothing (exit 0) when the platform holds units"
    )
    s.add_argument("--key", default="", help="the PEM signing key (default: the development key in .run)")
    s.add_argument("--concurrency", type=int, default=16)
    s.add_argument("--wait", type=float, default=300.0, help="seconds to wait for the report's figures")
    g = sub.add_parser("gateway", help="a simulated camera gateway: heartbeats and now and then a detection")
    g.add_argument("--every", type=float, default=60.0, help="seconds between heartbeats")
    g.add_argument("--key", default="", help="the PEM signing key (default: the development key in .run)")
    args = parser.parse_args(argv)
    if args.command == "gateway":
        return gateway.main(_urls(), _key(args.key), args.every)
    if args.size < 1:
        parser.error("--size is a whole number from 1")
    return asyncio.run(seed(args))


def _urls() -> Urls:
    return Urls.local(int(os.environ.get("D07_PORT_OFFSET", "0")))


def _key(path: str) -> bytes:
    return (
        Path(path) if path else ensure_dev_keys(Path(os.environ.get("D07_RUN_DIR", ".run")))[0]
    ).read_bytes()


if __name__ == "__main__":
    sys.exit(main())
