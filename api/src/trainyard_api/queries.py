"""Query models of the history API: one declaration of each endpoint's query parameters.

FastAPI reads ``RunListQuery`` from the query string (``Annotated[RunListQuery, Query()]``), so the
OpenAPI document lists exactly these fields; the web UI's list filters derive their query type and
the allowed sort keys from the client generated from that document (web/src/api/schema.gen.ts).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from trainyard_runstore import layout
from trainyard_runstore.schema import RunStatus

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000  # larger offsets (up to 2^63 and beyond) answer 422, never a database error
MAX_NUMBER = 2**53 - 1  # episode and rollout numbers: what JSON carries exactly
# Every sortable field ascending and, with a '-' prefix, descending (layout.SORT_FIELDS).
_SORT_KEYS = [(f"{d}{name}", f"{p}{name}") for name in layout.SORT_FIELDS for d, p in (("", ""), ("desc_", "-"))]
RunSort = enum.StrEnum("RunSort", _SORT_KEYS)  # type: ignore[misc]  # mypy cannot see computed members
RunSort.__doc__ = "A sort field of the run list; '-' first sorts descending. Ties: newest first, then run_id."


class RunListQuery(BaseModel):
    """Filters, sort and page of ``GET /api/training-runs``."""

    agent_id: str | None = Field(default=None, max_length=200, description="runs of this agent only")
    status: RunStatus | None = None
    algorithm: str | None = Field(default=None, max_length=200)
    q: str | None = Field(default=None, max_length=200, description="substring of run_id or agent_id")
    started_after: datetime | None = Field(default=None, description="runs started at or after this instant")
    started_before: datetime | None = Field(default=None, description="runs started at or before this instant")
    sort: RunSort = RunSort("-start_time")
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT, description=f"1..{MAX_LIMIT}")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description=f"0..{MAX_OFFSET}")

    def filters(self) -> dict[str, Any]:
        """The run store's list filter arguments (layout.list_filter)."""
        return self.model_dump(mode="python", exclude={"sort", "limit", "offset"}) | {
            "status": self.status.value if self.status else None}
