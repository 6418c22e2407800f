"""Entry point of ``trainyard-train`` (``python -m trainyard_trainer``)."""

import sys

from trainyard_trainer.cli import main as _main


def main() -> None:
    sys.exit(_main())


if __name__ == "__main__":
    main()
