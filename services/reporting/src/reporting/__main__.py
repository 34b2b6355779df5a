"""`python -m reporting serve | relay | consume | migrate | rebuild`."""

from __future__ import annotations

from d07.platform.runtime import main as run
from reporting.bootstrap import SPEC


def main() -> None:
    run(SPEC)


if __name__ == "__main__":
    main()
