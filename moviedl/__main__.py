"""``moviedl`` and ``python -m moviedl``: handle SIGINT and SIGTERM first thing, then run the CLI.

Loading the command line (typer, rich, the commands) takes a moment, seconds on a loaded
machine; a signal that lands then must still end with the one ``Interrupted`` line and exit 130,
not a silent 143. So this module imports nothing but :mod:`moviedl.core.interrupt` before it
installs the handlers.
"""

import sys

from moviedl.core import interrupt


def main() -> None:
    interrupt.install()
    try:
        from moviedl.cli import main as cli_main
    except KeyboardInterrupt:  # SIGINT/SIGTERM while the command line loads: nothing started yet
        sys.stderr.write(f"Interrupted: {interrupt.MESSAGE}.\n")
        raise SystemExit(130) from None
    cli_main()


if __name__ == "__main__":
    main()
