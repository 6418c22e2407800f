"""The logging client: importable without torch or the trainer, a plain loop in a ``with`` block,
and the CartPole DQN example (SB3) recording epsilon per episode, all against a real FerretDB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from trainyard_client import start_run
from trainyard_runstore.sync_store import RunStore

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.unit
def test_the_client_imports_without_torch_or_the_trainer():
    code = ("import sys, trainyard_client; "
            "print(sorted(m for m in ('torch', 'trainyard_trainer', 'stable_baselines3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


@pytest.mark.mongo
def test_a_plain_loop_records_episodes_and_the_end_of_the_run(mongo_settings, tmp_path):
    with start_run("plain", algorithm="REINFORCE", config={"lr": 0.01}, spill_dir=tmp_path, mongo=mongo_settings,
                   flush_interval=0.05) as run:
        for i in range(5):
            run.log_episode(float(i), 10 + i, win=i % 2 == 0, epsilon=1.0 - i / 10, metrics={"opponent_score": 2 * i})
        run.log_checkpoint(str(tmp_path / "ckpt.pt"), timestep=75)
    store = RunStore(mongo_settings)
    doc = store.get_run(run.run_id)
    assert doc.status == "completed" and doc.algorithm == "REINFORCE" and doc.config.model_dump() == {"lr": 0.01}
    assert [(e.episode, e.epsilon, e.metrics) for e in store.episodes(run.run_id)] == [
        (i + 1, 1.0 - i / 10, {"opponent_score": 2.0 * i}) for i in range(5)]
    assert [c.path for c in doc.checkpoint_paths] == [str(tmp_path / "ckpt.pt")]

    with pytest.raises(ValueError), start_run("plain", algorithm="REINFORCE", spill_dir=tmp_path,
                                              mongo=mongo_settings) as failing:
        raise ValueError("diverged")
    error = store.get_run(failing.run_id)
    assert error.status == "failed"
    assert error.metadata.error.type == "ValueError" and "diverged" in error.metadata.error.message


@pytest.mark.mongo
@pytest.mark.training
def test_the_cartpole_dqn_example_records_epsilon_per_episode(mongo_settings, tmp_path):
    env = {**os.environ, "MONGODB_URI": mongo_settings.uri, "MONGODB_DB_NAME": mongo_settings.db_name}
    out = subprocess.run([sys.executable, str(REPO / "examples" / "cartpole_dqn.py"), "--timesteps", "1500",
                          "--run-id", "cartpole-1"], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    store = RunStore(mongo_settings)
    doc = store.get_run("cartpole-1")
    assert (doc.status, doc.agent_id, doc.algorithm) == ("completed", "dqn_agent", "DQN")
    assert doc.config.env_id == "CartPole-v1"
    episodes = store.episodes("cartpole-1")
    assert len(episodes) == doc.summary.episodes > 10
    epsilons = [e.epsilon for e in episodes]
    assert all(e is not None for e in epsilons)
    assert epsilons[0] > epsilons[-1] and epsilons == sorted(epsilons, reverse=True)  # DQN's schedule decays


@pytest.mark.mongo
def test_a_diverged_run_keeps_recording_its_nan_and_infinite_values(mongo_settings, tmp_path):
    """Training that diverges reports NaN or infinite rewards and losses. FerretDB drops the connection
    on a NaN in a document (and refuses an infinity), so the first such value used to stop every later
    write of the run: the batch was retried for ever. Now all of it lands; statistics leave such values
    out, the way they leave out a missing value."""
    import math

    from trainyard_runstore.schema import Rollout

    with start_run("diverged", algorithm="PPO", spill_dir=tmp_path, mongo=mongo_settings, flush_interval=0.05) as run:
        for i in range(20):
            reward = {5: math.nan, 7: math.inf}.get(i, float(i))
            run.log_episode(reward, 10, win=i % 2 == 0, metrics={"loss": math.nan if i % 4 == 0 else 0.5})
        run.log_rollout(Rollout(rollout=1, timestep=200, value_loss=math.nan, approx_kl=math.inf))
        run.set_metadata(last_loss=math.nan)
        assert run.flush(timeout=30)
        assert (run.episodes_written, run.dead_lettered) == (20, 0)
    store = RunStore(mongo_settings)
    doc = store.get_run(run.run_id)
    assert doc.status == "completed"
    finite = [float(i) for i in range(20) if i not in (5, 7)]
    assert doc.summary.episodes == 20 and doc.summary.mean_reward == pytest.approx(sum(finite) / len(finite))
    assert doc.summary.max_reward == 19.0
    rewards = [e.total_reward for e in store.episodes(run.run_id)]
    assert rewards[7] == math.inf and rewards[5] is None  # a NaN reads back as no value
    assert doc.metadata.model_dump()["last_loss"] == "NaN"  # free-form metadata: JSON's spelling of it
    writer = store.writer(run.run_id)
    assert math.isnan(writer.last_rollout().value_loss) and writer.last_rollout().approx_kl == math.inf
    store.close()
