"""Write the JSON Schema of mldata.yaml (generated from the pydantic models) for editors.

Run ``python -m mldata.jsonschema`` after changing the configuration models; a test checks
that ``schemas/mldata.schema.json`` is in sync. Point an editor's YAML language server at it:
``# yaml-language-server: $schema=schemas/mldata.schema.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mldata.config import json_schema


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else Path(__file__).parents[1] / "schemas" / "mldata.schema.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
