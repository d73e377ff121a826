"""`mldata init`: a commented starter mldata.yaml and .gitignore entries."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from mldata.config import CONFIG_FILE
from mldata.errors import UsageError

GITIGNORE_ENTRIES = ("build/", ".mldata/")


def init_project(root: Path) -> list[str]:
    """Create root/mldata.yaml (refusing to overwrite) and add ignore entries; return messages."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / CONFIG_FILE
    if config.exists():
        raise UsageError(f"{config} already exists", hint="edit it, or remove it first to start over")
    config.write_text(resources.files("mldata").joinpath("templates/mldata.yaml").read_text())
    messages = [f"created {config}"]
    ignore = root / ".gitignore"
    existing = ignore.read_text().splitlines() if ignore.exists() else []
    missing = [e for e in GITIGNORE_ENTRIES if e not in existing]
    if missing:
        with ignore.open("a") as fh:
            if existing and existing[-1] != "":
                fh.write("\n")
            fh.write("# mldata: outputs and local state\n" + "\n".join(missing) + "\n")
        messages.append(f"added {', '.join(missing)} to {ignore}")
    (root / "data").mkdir(exist_ok=True)
    messages.append("next: put CSV files in data/, then run `mldata plan` and `mldata make`")
    return messages
