"""The `mldata` command's entry point.

Importing the CLI takes ~0.1 s (click, the planner). A Ctrl+C in that window used to end in a
KeyboardInterrupt traceback (exit status -2); it now ends as one during a build does: the message
"interrupted" and exit status 130. (Python's own start-up, before this module runs, cannot be
covered.)
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from mldata.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    cli_main()
