"""What a training run is configured with, declared once for the TrainingRun spec and the trainer.

The operator's spec (operator/src/trainyard_operator/spec.py, camelCase; the CRD is generated from
it) and the trainer's ``TrainerSettings`` (``TRAINER_*``, snake_case) both build on these types, so
a field's bounds, choices and description are written here only. The Job builder passes the spec's
values to the trainer under the same names; tests/trainyard_operator/test_contract.py checks that
the trainer parses what the builder sets. The run store keeps them in the run's ``config``, read back
as ``RunConfig``.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from trainyard_runstore.stored import AsStored

# A label value (the agent id labels the Job and its pods).
LABEL_VALUE_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$"
# A gymnasium id, optionally "module.path:" first (gymnasium imports the module, which registers it).
ENV_ID_PATTERN = r"^([A-Za-z_][A-Za-z0-9_.]*:)?([A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]+-v[0-9]+$"
MAX_SEED = 2_147_483_647
MAX_TIMESTEPS = 10_000_000_000


class Mode(enum.StrEnum):
    """smoke: a short run with small defaults to check the setup; full: a real run."""

    SMOKE = "smoke"
    FULL = "full"


AgentId = Annotated[str, Field(min_length=1, max_length=63, pattern=LABEL_VALUE_PATTERN, description=(
    "The agent trained; runs of one agent are compared in the UI. A label value (letters, digits, '-', '_', '.'; "
    "at most 63 characters)."))]
Algorithm = Annotated[Literal["MaskablePPO"], Field(description="RL algorithm.")]
EnvId = Annotated[str, Field(max_length=253, pattern=ENV_ID_PATTERN, description=(
    'Gymnasium environment id, e.g. trainyard/BlokusDuo-v0; "some.module:Name-v0" imports the module first '
    "(it registers the id)."))]
Opponent = Annotated[Literal["random", "greedy", "self-play", "curriculum"], Field(description=(
    "Who the agent plays against: random, greedy, self-play (the run's own checkpoints; random until the "
    "first one exists) or curriculum (random, then more and more greedy moves as the run progresses)."))]
TotalTimesteps = Annotated[int, Field(ge=1, le=MAX_TIMESTEPS, description=(
    "Environment steps to train for; default from the mode (2048 smoke, 600,000 full)."))]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="Random seed.")]
NEnvs = Annotated[int, Field(ge=1, le=64, description="Parallel environments (subprocess workers when more than 1).")]
CheckpointEvery = Annotated[int, Field(ge=1, le=MAX_TIMESTEPS,
                                       description="Timesteps between checkpoints; default from the mode.")]
EvalOpponent = Literal["random", "greedy"]


class _Config(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Hyperparameters(_Config):
    """MaskablePPO arguments; an empty field takes the trainer's default for the mode."""

    learning_rate: float | None = Field(default=None, gt=0, le=1,
                                        description="Optimizer step size (0 < learningRate <= 1).")
    n_steps: int | None = Field(default=None, ge=8, le=1_000_000, description="Rollout length per environment.")
    batch_size: int | None = Field(default=None, ge=2, le=1_000_000, description="Minibatch size; at most nSteps.")
    n_epochs: int | None = Field(default=None, ge=1, le=100, description="Passes over each rollout.")
    gamma: float | None = Field(default=None, gt=0, le=1, description="Discount factor (0 < gamma <= 1).")
    gae_lambda: float | None = Field(default=None, gt=0, le=1,
                                     description="GAE smoothing factor (0 < gaeLambda <= 1).")
    clip_range: float | None = Field(default=None, gt=0, le=1,
                                     description="PPO clipping range (0 < clipRange <= 1).")
    ent_coef: float | None = Field(default=None, ge=0, le=1, description="Entropy bonus weight (0-1).")
    vf_coef: float | None = Field(default=None, ge=0, le=10, description="Value loss weight (0-10).")
    max_grad_norm: float | None = Field(default=None, gt=0, le=100,
                                        description="Gradient clipping norm (0 < maxGradNorm <= 100).")

    @model_validator(mode="after")
    def _batch_fits_rollout(self) -> Hyperparameters:
        if self.batch_size is not None and self.n_steps is not None and self.batch_size > self.n_steps:
            raise ValueError("batchSize must not exceed nSteps")
        return self

    def trainer_values(self) -> dict[str, Any]:
        """The set fields, snake_case (what ``TRAINER_HYPERPARAMETERS`` carries)."""
        return self.model_dump(exclude_none=True)


# The trainer's defaults for what the spec leaves empty; n_steps, batch_size and n_epochs depend on the mode.
PPO_DEFAULTS: dict[str, float] = {"learning_rate": 3e-4, "gamma": 0.99, "gae_lambda": 0.95, "clip_range": 0.2,
                                  "ent_coef": 0.01, "vf_coef": 0.5, "max_grad_norm": 0.5}


class Evaluation(_Config):
    """Games played with the final checkpoint when the run completes; results are stored on the run."""

    games: int | None = Field(default=None, ge=0, le=10_000, description=(
        "Games per opponent; 0 turns evaluation off. Default 10 in smoke mode, 100 in full mode."))
    opponents: list[Annotated[EvalOpponent, Field(description="An opponent.")]] = Field(
        default=["random", "greedy"], min_length=1, max_length=2, description="Opponents to evaluate against.")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Game i against each opponent uses seed + i.")
    every_timesteps: int = Field(default=0, ge=0, le=10_000_000_000, description=(
        "Also evaluate the current policy every this many timesteps during training, at the first rollout "
        "boundary past each multiple; 0 evaluates only after completion."))
    periodic_games: int = Field(default=10, ge=1, le=1000, description=(
        "Games per opponent of each periodic evaluation (same seeds every time)."))

    def trainer_value(self) -> dict[str, Any]:
        """The set fields, snake_case (what ``TRAINER_EVALUATION`` carries)."""
        return self.model_dump(exclude_none=True)


def _stored_name(name: str) -> str:
    """Stored configs are snake_case (the trainer's names): no camelCase aliases there."""
    return name


class StoredEvaluation(AsStored, Evaluation):
    """``config.evaluation`` as a run stored it (the trainer adds settings of its own, e.g. ``deterministic``)."""

    model_config = ConfigDict(extra="allow", loc_by_alias=False, alias_generator=_stored_name)


class RunConfig(AsStored, Hyperparameters):
    """A run's stored ``config``: what the trainer started with (``TrainerSettings.run_config``), with the
    hyperparameters at the top level as the spec shows them.

    The settings a TrainingRun spec shares with the trainer are typed; everything else a run stores (the
    trainer's own settings such as ``device`` or ``retention``, or any key of a script's ``config=``) is
    kept as a further key. Unknown keys are allowed, not ignored: a script's configuration is its users'
    record, shown and compared in the UI, and older records must read back unchanged.
    """

    model_config = ConfigDict(extra="allow", loc_by_alias=False, alias_generator=_stored_name)

    mode: Mode | None = None
    env_id: EnvId | None = None
    agent_id: AgentId | None = None
    algorithm: Algorithm | None = None
    seed: Seed | None = None
    total_timesteps: TotalTimesteps | None = None
    opponent: Opponent | None = None
    checkpoint_every: CheckpointEvery | None = None
    n_envs: NEnvs | None = None
    evaluation: StoredEvaluation | None = None
