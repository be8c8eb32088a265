"""``python -m kinesonic`` is the ``kinesonic`` command."""

import sys


def _interrupted(error: BaseException | None) -> bool:
    """Whether ``error`` is, or was caused by, Ctrl-C (a KeyboardInterrupt raised inside class
    creation reaches us wrapped, e.g. as dataclasses' "Error calling __set_name__" RuntimeError)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


try:  # Ctrl-C while the runner's modules load: no traceback (main() handles it from then on)
    from .runner.cli import main
except BaseException as error:
    if not _interrupted(error):
        raise
    print("kinesonic: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
