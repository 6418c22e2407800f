"""TrainerSettings: the operator↔trainer contract, one typed object (env prefix ``TRAINER_``).

Sources, highest first: command-line flags, the ``--config`` file (YAML or JSON), ``TRAINER_*``
environment variables, then the mode's defaults. The operator's Job builder sets exactly these
variables (nested models as JSON, e.g. ``TRAINER_HYPERPARAMETERS='{"learning_rate": 1e-4}'``).
MongoDB settings are separate (``MONGODB_URI``/``MONGODB_DB_NAME``, see trainyard_runstore).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from trainyard_runstore.run_config import (
    PPO_DEFAULTS,
    AgentId,
    Algorithm,
    CheckpointEvery,
    EnvId,
    Evaluation,
    Hyperparameters,
    Mode,
    NEnvs,
    Opponent,
    Seed,
    TotalTimesteps,
)

SMOKE_DEFAULTS = {"total_timesteps": 2048, "checkpoint_every": 1024, "n_steps": 256, "batch_size": 64,
                  "n_epochs": 2, "evaluation_games": 10, "n_envs": 1, "torch_threads": 1, "vec_env": "subprocess",
                  "opponent": "random"}
# ``full``: chosen by measurement on 2 CPU cores (bench/train_speed.py). The board-shaped policy's forward
# and backward passes dominate, not the environment (~60 us a step), so eight environments stepped in the
# training process feed batched inference, and both cores go to torch instead of to env workers. The
# budget is what a full run trains in under an hour there (~240 steps/s on the platform, quiet machine: ~42 min
# plus the evaluation); 300,000 timesteps left the agent short of the greedy goal (46% of 100 games).
FULL_DEFAULTS = {"total_timesteps": 600_000, "checkpoint_every": 100_000, "n_steps": 256, "batch_size": 256,
                 "n_epochs": 4, "evaluation_games": 100, "n_envs": 8, "torch_threads": 2, "vec_env": "dummy",
                 "opponent": "curriculum"}



class PPOHyperparameters(Hyperparameters):
    """MaskablePPO arguments (declared in trainyard_runstore.run_config); ``None`` means "the mode's
    default", filled in by TrainerSettings (``PPO_DEFAULTS`` and the mode's table)."""

    model_config = ConfigDict(loc_by_alias=False)  # errors name the snake_case fields users write


class EvaluationSettings(Evaluation):
    """Games played with the final checkpoint once a run completes (``evaluation``); seats alternate."""

    model_config = ConfigDict(loc_by_alias=False)

    deterministic: bool = True

    @field_validator("opponents", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):  # "random,greedy" from a flag or an environment variable
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("opponents")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class SelfPlaySettings(BaseModel):
    """``opponent: self-play``: the run's own checkpoints, one sampled per game."""

    model_config = ConfigDict(extra="forbid")

    pool_size: int = Field(default=8, ge=1, description="the newest checkpoints that games are drawn from")
    cache_size: int = Field(default=3, ge=1, description="policies each environment worker keeps loaded")
    refresh_seconds: float = Field(default=10.0, ge=0, description="how often the checkpoint folder is listed")
    deterministic: bool = Field(default=True, description="opponent moves: the policy's most likely placement")


class RetentionSettings(BaseModel):
    """Which checkpoint files a run keeps (``retention``); the pruned ones stay in the record, marked pruned."""

    model_config = ConfigDict(extra="forbid")

    keep_last: int = Field(default=5, ge=1, description="the newest N checkpoints (self-play keeps at least its "
                           "pool_size of them)")
    keep_best: bool = Field(default=True, description="also the one with the best evaluation, else rolling win rate")
    keep_final: bool = Field(default=True, description="also the run's final checkpoint")


class TrainerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRAINER_", extra="forbid", validate_default=True)

    # The fields a TrainingRun spec sets too are typed, bounded and described in trainyard_runstore.run_config.
    mode: Mode = Mode.SMOKE
    total_timesteps: TotalTimesteps | None = None
    seed: Seed = 0
    agent_id: AgentId = "ppo_agent"
    run_id: str | None = Field(default=None, min_length=1, max_length=128, description="default: a new UUID")
    algorithm: Algorithm = "MaskablePPO"
    env_id: EnvId = "trainyard/BlokusDuo-v0"
    opponent: Opponent | None = Field(default=None, description="default random smoke, curriculum full")
    checkpoint_dir: Path = Path("checkpoints")
    checkpoint_every: CheckpointEvery | None = None
    metrics_port: int = Field(default=0, ge=0, le=65535, description="0 disables the Prometheus endpoint")
    metrics_addr: str = Field(default="127.0.0.1", description="0.0.0.0 inside a pod so Prometheus can scrape")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    n_envs: NEnvs | None = Field(default=None, description="default 1 smoke, 8 full")
    vec_env: Literal["subprocess", "dummy"] | None = Field(
        default=None, description="subprocess: a worker process per environment (when n_envs > 1); dummy: all "
                                  "environments in the training process. Default subprocess smoke, dummy full")
    stop_exit_code: int = Field(
        default=0, ge=0, le=255,
        description="exit code after SIGTERM/SIGINT (checkpoint saved, run 'stopped'). The operator sets 143 so "
                    "Kubernetes retries a deleted or evicted pod, which resumes from that checkpoint; a requested "
                    "stop suspends the Job instead, so nothing is retried")
    torch_threads: int | None = Field(default=None, ge=0, description="torch CPU threads; 0 keeps torch's default. "
                                      "Default 1 smoke, 2 full; more than the cores slows small policies many "
                                      "times over")
    win_window: int = Field(default=100, ge=1, description="episodes in the rolling win rate")
    log_buffer_size: int = Field(default=10_000, ge=1, description="records written per batch from the run's "
                                 "write-ahead log (records wait there, not in memory, while MongoDB is down)")
    log_flush_interval: float = Field(default=0.5, gt=0, le=60)
    attempt: int = Field(default=0, ge=0, description="which try of the run this is; 0: the next after the stored ones")
    tensorboard: bool = True
    hyperparameters: PPOHyperparameters = Field(default_factory=PPOHyperparameters)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    self_play: SelfPlaySettings = Field(default_factory=SelfPlaySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    heartbeat_interval: float = Field(default=10.0, gt=0, le=60, description="seconds between heartbeats at most "
                                      "(a run silent for the Lost timeout, 120 s by default, is given up)")

    @model_validator(mode="after")
    def _mode_defaults(self) -> TrainerSettings:
        defaults = SMOKE_DEFAULTS if self.mode is Mode.SMOKE else FULL_DEFAULTS
        if self.total_timesteps is None:
            self.total_timesteps = defaults["total_timesteps"]
        if self.checkpoint_every is None:
            self.checkpoint_every = defaults["checkpoint_every"]
        for name in ("n_envs", "torch_threads", "vec_env", "opponent"):
            if getattr(self, name) is None:
                setattr(self, name, defaults[name])
        hp = self.hyperparameters
        for name, value in {**PPO_DEFAULTS, **{k: defaults[k] for k in ("n_steps", "batch_size", "n_epochs")}}.items():
            if getattr(hp, name) is None:
                setattr(hp, name, value)
        if self.evaluation.games is None:
            self.evaluation.games = defaults["evaluation_games"]
        return self

    def run_config(self) -> dict[str, Any]:
        """What the run record stores as ``config`` (the spec's hyperparameters dictionary)."""
        data = self.model_dump(mode="json", exclude={"run_id", "metrics_port", "metrics_addr", "attempt",
                                                      "log_buffer_size", "log_flush_interval", "stop_exit_code",
                                                      "heartbeat_interval"})
        data.update(data.pop("hyperparameters"))
        return data


class ConfigError(ValueError):
    """A bad configuration; the CLI exits 2 with this message before anything is written."""


def _describe(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(config)"
        got = e.get("input")
        if e["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown field; check the spelling (see 'trainyard-train --help')")
        else:
            lines.append(f"{field}: {e['msg']} (got {got!r})")
    return "invalid trainer configuration:\n  " + "\n  ".join(lines)


def load_settings(cli: dict[str, Any], config_file: Path | None = None) -> TrainerSettings:
    data: dict[str, Any] = {}
    if config_file is not None:
        try:
            loaded = yaml.safe_load(Path(config_file).read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"--config {config_file}: cannot read it: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"--config {config_file}: expected a mapping of settings, got {type(loaded).__name__}")
        data.update(loaded or {})
    for key, value in cli.items():  # nested flags (e.g. --eval-games) update the file's section
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
            if value:
                base = data.get(key)
                data[key] = {**base, **value} if isinstance(base, dict) else value
        elif value is not None:
            data[key] = value
    try:
        return TrainerSettings(**data)
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None


def evaluation_settings(data: dict[str, Any]) -> EvaluationSettings:
    """``EvaluationSettings`` from a dict (a stored run's config plus flags); ConfigError if invalid."""
    try:
        return EvaluationSettings(**data)
    except ValidationError as err:
        raise ConfigError(_describe(err).replace("trainer configuration", "evaluation settings")) from None
