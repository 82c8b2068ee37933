"""python -m tandem_mailbox.cli: the `tandem` command."""

from tandem_mailbox.cli import main

raise SystemExit(main())
