"""The declared per-episode metrics: name, type, unit, description and how a downsampled point combines them.

One declaration per metric. Bucket packing, statistics pages, downsampling, export and the API all
iterate over these declarations (``EPISODE_METRICS``) plus the custom metrics a training script logs
(``Episode.metrics``, for instance a value from an env's ``info``), which are declared on first use
with ``custom`` and stored on the run (``metric_specs``) so the API can show their unit.
Adding a built-in per-episode metric is one more line in ``EPISODE_METRICS`` and a field on ``Episode``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

MetricType = Literal["int", "float", "bool"]
Aggregation = Literal["mean", "last", "sum"]

# Names a custom metric cannot take: the episode axis, point bookkeeping and stored fields.
RESERVED = frozenset({"episode", "time", "count", "metrics", "run_id"})
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class MetricSpec(BaseModel):
    """How one per-episode metric is stored and shown."""

    name: str
    type: MetricType = "float"
    unit: str = Field(default="", description="unit shown next to the value; empty when unitless")
    description: str = ""
    aggregation: Aggregation = Field(
        default="mean", description="value of a downsampled point: mean, last or sum of its episodes "
                                    "(min and max are always kept as <name>_min and <name>_max)")
    builtin: bool = True
    chart: bool = Field(default=True, description="the run page draws a chart of it (false: shown another way)")


EPISODE_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(name="total_reward", type="float", unit="reward", description="sum of the episode's rewards"),
    MetricSpec(name="steps", type="int", unit="steps", description="agent steps in the episode"),
    MetricSpec(name="win", type="bool", description="the agent won the game (games only)", chart=False),
    MetricSpec(name="epsilon", type="float", description="exploration rate (value-based agents)", aggregation="last"),
    MetricSpec(name="timestep", type="int", unit="steps", description="global timestep when the episode ended",
               aggregation="last", chart=False),
    MetricSpec(name="win_rate", type="float", unit="fraction", description="rolling win rate after this episode",
               aggregation="last"),
)
BUILTIN: dict[str, MetricSpec] = {m.name: m for m in EPISODE_METRICS}


def check_name(name: str) -> str:
    """A custom metric's name, or ValueError saying why it cannot be one."""
    if not NAME.match(name):
        raise ValueError(f"metric name {name!r}: use lower-case letters, digits and '_', starting with a letter")
    if name in RESERVED or name in BUILTIN or name.endswith(("_min", "_max")):
        raise ValueError(f"metric name {name!r} is reserved (built-in, or ending in _min/_max)")
    return name


def custom(name: str, *, unit: str = "", description: str = "", aggregation: Aggregation = "mean") -> MetricSpec:
    """The declaration of a metric logged by a training script (stored as float)."""
    return MetricSpec(name=check_name(name), type="float", unit=unit,
                      description=description or "logged by the training script", aggregation=aggregation,
                      builtin=False)


def spec(name: str, declared: dict[str, MetricSpec] | None = None) -> MetricSpec:
    if name in BUILTIN:
        return BUILTIN[name]
    if declared and name in declared:
        return declared[name]
    return custom(name)


def parse_selection(text: str | None, known: list[str]) -> list[str] | None:
    """``"total_reward,win"`` -> those names (None: all); unknown names raise ValueError listing the known ones."""
    if text is None or not text.strip():
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; this run has: {', '.join(known)}")
    return list(dict.fromkeys(names))
