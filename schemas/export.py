"""Write the published JSON Schemas: one file per event type, and the union.

Producers in other languages validate against these. ``python -m schemas.export``
rewrites them; a test fails when the committed files drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from schemas.events import EVENT_ADAPTER, EVENT_TYPES

SCHEMA_DIR = Path(__file__).parent / "jsonschema"
BASE_ID = "https://oppchain.dev/schemas/v1/"


def rendered() -> dict[str, str]:
    """File name -> JSON text of every published schema."""
    files: dict[str, Any] = {}
    for event_type, model in sorted(EVENT_TYPES.items()):
        schema = model.model_json_schema(mode="validation")
        # The models default it (one class per type), but a message must carry it:
        # without it nothing tells which type it is, and it is dead-lettered.
        schema["required"] = ["event_type", *schema.get("required", [])]
        schema["$id"] = f"{BASE_ID}{event_type}.json"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        files[f"{event_type}.json"] = schema
    union = EVENT_ADAPTER.json_schema(mode="validation")
    union["$id"] = f"{BASE_ID}event.json"
    union["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    union["title"] = "oppchain event"
    files["event.json"] = union
    return {name: json.dumps(body, indent=2, sort_keys=True) + "\n" for name, body in files.items()}


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for old in SCHEMA_DIR.glob("*.json"):
        old.unlink()
    for name, text in rendered().items():
        (SCHEMA_DIR / name).write_text(text)
    print(f"wrote {len(rendered())} schemas to {SCHEMA_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
