"""Entry point for ``python -m detector``."""

import sys

from .cli import main

sys.exit(main())
