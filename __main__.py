"""``python -m kinesonic`` is the ``kinesonic`` command."""

import sys

try:  # Ctrl-C while the runner's modules load: no traceback (main() handles it from then on)
    from .runner.cli import main
except KeyboardInterrupt:
    print("kinesonic: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
