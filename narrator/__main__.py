"""``python -m narrator`` and the ``narrator`` console script."""

import sys


def main() -> None:
    try:
        from .cli import run
    except KeyboardInterrupt:  # Ctrl-C while starting up: nothing was done yet
        sys.stderr.write("narrator: interrupted\n")
        sys.exit(130)
    run()


if __name__ == "__main__":  # not when a spawned worker process imports it (macOS, Windows)
    main()
