"""``python -m kinesonic`` is the ``kinesonic`` command."""

import sys

from .runner.cli import main

sys.exit(main())
