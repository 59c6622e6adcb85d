"""`python -m ticket_enhancer` = the `ticket-enhancer` CLI."""

from ticket_enhancer.cli.main import main

raise SystemExit(main())
