"""Generate docs/cli.md, the command-line reference, from the click commands themselves.

Run ``python -m mldata.cli.reference > docs/cli.md``; a test keeps the file in sync.
"""

from __future__ import annotations

import click

from mldata.cli import cli


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    out = [(path, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            out += _walk(command.commands[name], [*path, name])
    return out


def render() -> str:
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands by `python -m mldata.cli.reference`; every command also",
        "prints this with `--help`. Exit status: 0 success, 1 build, validation or drift failure, or",
        "stale (`status --check`, `make --locked`), 2 usage or configuration error, 130 interrupted.",
        "",
    ]
    for path, command in _walk(cli, ["mldata"]):
        settings = {**command.context_settings, "terminal_width": 100, "max_content_width": 100}
        ctx = click.Context(command, info_name=" ".join(path), **settings)
        lines += [f"## `{' '.join(path)}`", "", "```text", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
