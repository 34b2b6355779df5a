"""`python -m assessment serve | relay | consume | migrate`."""

from __future__ import annotations

from assessment.bootstrap import SPEC
from d07.platform.runtime import main as run


def main() -> None:
    run(SPEC)


if __name__ == "__main__":
    main()
