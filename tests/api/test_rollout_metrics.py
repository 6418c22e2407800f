"""Per-rollout metrics declared once: the built-in PPO diagnostics and a custom per-rollout metric, logged
through the real client into a real FerretDB, come back from the real API with their declarations."""

from __future__ import annotations

import httpx
import pytest
from trainyard_client import custom_rollout, start_run
from trainyard_runstore.metrics import ROLLOUT_METRICS
from trainyard_runstore.schema import Rollout
from trainyard_runstore.sync_store import RunStore

pytestmark = pytest.mark.mongo

GRAD_NORM = custom_rollout("grad_norm", unit="norm", description="gradient norm before clipping",
                           title="Gradient norm")


def test_a_custom_rollout_metric_round_trips_with_its_declaration(mongo_settings, api_server, tmp_path):
    with start_run("rollout_agent", algorithm="PPO", rollout_metrics=[GRAD_NORM], mongo=mongo_settings,
                   spill_dir=tmp_path, flush_interval=0.05) as run:
        for i in range(1, 4):
            run.log_rollout(Rollout(rollout=1, timestep=64 * i, entropy=1.0 / i, invalid_actions=0),
                            metrics={"grad_norm": 0.5 * i, "kl_coef": 0.1})  # kl_coef: declared on first use
    stored = RunStore(mongo_settings)
    try:
        record = stored.get_run(run.run_id)
        assert record is not None and set(record.rollout_metric_specs) == {"grad_norm", "kl_coef"}
        assert [r.metrics["grad_norm"] for r in stored.rollouts(run.run_id)] == [0.5, 1.0, 1.5]
    finally:
        stored.close()

    body = httpx.get(f"{api_server.url}/api/training-runs/{run.run_id}/rollouts", timeout=10).json()
    specs = {m["name"]: m for m in body["metric_specs"]}
    # The built-in ones first, in their declared order, then the custom ones by name.
    assert [m["name"] for m in body["metric_specs"]] == [*(m.name for m in ROLLOUT_METRICS), "grad_norm", "kl_coef"]
    assert (specs["grad_norm"]["unit"], specs["grad_norm"]["title"], specs["grad_norm"]["builtin"]) == \
        ("norm", "Gradient norm", False)
    assert specs["kl_coef"]["builtin"] is False and specs["entropy"]["unit"] == "nats"
    assert [r["metrics"]["grad_norm"] for r in body["rollouts"]] == [0.5, 1.0, 1.5]
    assert [r["entropy"] for r in body["rollouts"]] == pytest.approx([1.0, 0.5, 1 / 3])


def test_a_custom_rollout_metric_name_the_store_cannot_take_fails_the_call(mongo_settings, tmp_path):
    with start_run("rollout_agent", algorithm="PPO", mongo=mongo_settings, spill_dir=tmp_path) as run:
        for bad in ("grad.norm", "entropy", "timestep", "Loss"):
            with pytest.raises(ValueError, match="metric name"):
                run.log_rollout(Rollout(rollout=1, timestep=1), metrics={bad: 1.0})
    with pytest.raises(ValueError, match="metric name"):
        Rollout(rollout=1, timestep=1, metrics={"a$b": 1.0})
