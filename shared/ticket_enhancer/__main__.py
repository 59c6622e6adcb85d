"""`python -m ticket_enhancer` = the `ticket-enhancer` CLI.

The CLI is dev-only and lives in its own package, ``ticket_enhancer_dev`` (``dev/``), which never
enters a Lambda layer: it is imported here, on demand, and nowhere else in ``ticket_enhancer``
(``tests/unit/test_import_layers.py``). No function runs this module.
"""

from __future__ import annotations

import sys

DEV_PACKAGE = "ticket_enhancer_dev"


def main(argv: list[str] | None = None) -> int:
    try:
        from ticket_enhancer_dev.cli.main import main as cli_main
    except ModuleNotFoundError as exc:
        if exc.name != DEV_PACKAGE:  # the CLI is there but something it needs is not: say so as is
            raise
        print(
            f"ticket-enhancer: error: the CLI's package {DEV_PACKAGE} (dev/) is not installed: "
            "run `make install` in a checkout of the repository",
            file=sys.stderr,
        )
        return 2
    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
