"""`python -m funreason ...` is the `funreason` command (funreason/cli.py)."""

import sys

from funreason.cli import main

sys.exit(main())
