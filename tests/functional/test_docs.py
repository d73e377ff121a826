"""The documentation says what exists: the CLI reference and config reference are in sync with
the code, and the tutorial's commands run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs"


def test_cli_reference_is_generated_from_the_commands() -> None:
    from mldata.cli.reference import render

    assert (DOCS / "cli.md").read_text() == render(), "run `python -m mldata.cli.reference > docs/cli.md`"


def test_config_reference_documents_every_key_of_the_models() -> None:
    from mldata.config import _models

    text = (DOCS / "config.md").read_text()
    models = _models()
    missing = []
    for model in [models["Project"], models["Target"], models["Source"], models["Defaults"],
                  *models["steps"].values()]:
        for name, field in model.model_fields.items():
            key = field.alias or name
            if not re.search(rf"\b{re.escape(key)}\b", text):
                missing.append(f"{model.__name__}.{key}")
    options = models["Source"].model_fields["options"].annotation
    for name in options.model_fields:
        if name not in text:
            missing.append(f"options.{name}")
    assert not missing, f"docs/config.md does not mention: {missing}"


@pytest.mark.slow
def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    text = (DOCS / "tutorial.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    assert blocks
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "MLDATA_EXECUTOR": "inline"}
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
