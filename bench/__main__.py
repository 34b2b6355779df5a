"""Run the benchmarks: `python -m bench` runs every `bench/*.py` module's `main()`; `python -m bench events`
runs the ones named."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

SKIP = {"__init__", "__main__", "common"}


def modules() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("*.py") if p.stem not in SKIP)


def main(argv: list[str]) -> int:
    known = modules()
    chosen = argv or known
    unknown = [name for name in chosen if name not in known]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    for name in chosen:
        print(f"== bench.{name}", flush=True)
        asyncio.run(importlib.import_module(f"bench.{name}").main())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
