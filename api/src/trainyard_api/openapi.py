"""Print the API's OpenAPI document (``make openapi`` writes it to api/openapi.json for the web types)."""

from __future__ import annotations

import json
import sys
from typing import Any

from trainyard_api.main import create_app


def document() -> dict[str, Any]:
    return create_app().openapi()


if __name__ == "__main__":
    json.dump(document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
