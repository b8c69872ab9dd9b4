import sys

from funreason.cli import main

sys.exit(main())
