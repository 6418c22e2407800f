"""The declared per-episode and per-rollout metrics: name, type, unit, description and how they aggregate.

One declaration per metric. Bucket packing, statistics pages, downsampling, export and the API all
iterate over these declarations (``EPISODE_METRICS``) plus the custom metrics a training script logs
(``Episode.metrics``, for instance a value from an env's ``info``), which are declared on first use
with ``custom`` and stored on the run (``metric_specs``) so the API can show their unit.
Adding a built-in per-episode metric is one more line in ``EPISODE_METRICS`` and a field on ``Episode``.

Per-rollout metrics (PPO diagnostics, one value per rollout and its update) are declared the same way in
``ROLLOUT_METRICS``, one per typed field of ``schema.Rollout`` (a test keeps the two in step); custom ones
(``Rollout.metrics``, for instance any SB3 ``train/*`` value the trainer does not know) are declared with
``custom_rollout`` and stored on the run (``rollout_metric_specs``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

MetricType = Literal["int", "float", "bool"]
Aggregation = Literal["mean", "last", "sum"]

# Names a custom metric cannot take: the episode axis, point bookkeeping and stored fields.
RESERVED = frozenset({"episode", "time", "count", "metrics", "run_id"})
# ... and a custom per-rollout metric: the rollout's own bookkeeping fields.
ROLLOUT_RESERVED = frozenset({"rollout", "timestep", "episodes", "opponents", "time", "metrics"})
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class MetricSpec(BaseModel):
    """How one per-episode or per-rollout metric is stored and shown."""

    name: str
    type: MetricType = "float"
    unit: str = Field(default="", description="unit shown next to the value; empty when unitless")
    description: str = ""
    aggregation: Aggregation = Field(
        default="mean", description="value of a downsampled point: mean, last or sum of its episodes "
                                    "(min and max are always kept as <name>_min and <name>_max)")
    builtin: bool = True
    chart: bool = Field(default=True, description="the run page draws a chart of it (false: shown another way)")
    title: str = Field(default="", description="the chart's title; empty: the name")


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

# In the order the run page's Training diagnostics draws them.
ROLLOUT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(name="entropy", unit="nats", title="Policy entropy", description="policy entropy, mean over the update"),
    MetricSpec(name="value_loss", title="Value loss", description="value-function loss of the update"),
    MetricSpec(name="policy_gradient_loss", title="Policy-gradient loss",
               description="policy-gradient loss of the update"),
    MetricSpec(name="approx_kl", title="Approx KL", description="approximate KL divergence of the update"),
    MetricSpec(name="clip_fraction", unit="fraction", title="Clip fraction",
               description="share of the samples the PPO clip cut"),
    MetricSpec(name="explained_variance", title="Explained variance",
               description="of the value function on the rollout"),
    MetricSpec(name="legal_share", title="Legal-action share",
               description="mean share of the actions legal under the mask"),
    MetricSpec(name="invalid_actions", type="int", unit="actions", aggregation="sum", title="Invalid actions",
               description="actions chosen outside the mask; must stay 0"),
    MetricSpec(name="steps_per_second", unit="steps/s", title="Steps per second",
               description="timesteps per wall second since the previous rollout (environment and update)"),
)
ROLLOUT_BUILTIN: dict[str, MetricSpec] = {m.name: m for m in ROLLOUT_METRICS}


def check_name(name: str) -> str:
    """A custom per-episode metric's name, or ValueError saying why it cannot be one."""
    return _check(name, RESERVED | set(BUILTIN))


def check_rollout_name(name: str) -> str:
    """A custom per-rollout metric's name, or ValueError saying why it cannot be one."""
    return _check(name, ROLLOUT_RESERVED | set(ROLLOUT_BUILTIN))


def _check(name: str, reserved: frozenset[str] | set[str]) -> str:
    # The pattern also keeps '.' and '$' out: the names are keys of stored documents.
    if not NAME.match(name):
        raise ValueError(f"metric name {name!r}: use lower-case letters, digits and '_', starting with a letter")
    if name in reserved or name.endswith(("_min", "_max")):
        raise ValueError(f"metric name {name!r} is reserved (built-in, or ending in _min/_max)")
    return name


def custom(name: str, *, unit: str = "", description: str = "", aggregation: Aggregation = "mean") -> MetricSpec:
    """The declaration of a metric logged by a training script (stored as float)."""
    return MetricSpec(name=check_name(name), type="float", unit=unit,
                      description=description or "logged by the training script", aggregation=aggregation,
                      builtin=False)


def custom_rollout(name: str, *, unit: str = "", description: str = "", title: str = "") -> MetricSpec:
    """The declaration of a per-rollout metric logged by a training script (stored as float)."""
    return MetricSpec(name=check_rollout_name(name), type="float", unit=unit, title=title,
                      description=description or "logged by the training script", builtin=False)


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
