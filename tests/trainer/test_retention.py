"""Checkpoint retention: which files a run keeps, and that the pruned ones are deleted and reported."""

import pytest
from trainyard_trainer import retention
from trainyard_trainer.settings import RetentionSettings

pytestmark = pytest.mark.unit


def _save(directory, n, win_rate, settings, final=False, min_last=1):
    name = f"ckpt_{n:04d}.zip"
    (directory / name).write_bytes(b"model")
    entry = retention.Entry(name, timestep=n * 100, episode=n * 10, win_rate=win_rate, final=final)
    return retention.record_and_prune(directory, entry, settings, min_last=min_last, protect=name)


def test_keeps_the_last_n_the_best_and_the_final_and_reports_the_rest(tmp_path):
    settings = RetentionSettings(keep_last=2)
    rates = [0.1, 0.9, 0.2, 0.3, 0.4, 0.5]
    pruned = []
    for n, rate in enumerate(rates, start=1):
        pruned += [e.path for e in _save(tmp_path, n, rate, settings, final=n == len(rates))]
    kept = sorted(p.name for p in tmp_path.glob("*.zip"))
    assert kept == ["ckpt_0002.zip", "ckpt_0005.zip", "ckpt_0006.zip"]  # best (0.9), then the last two
    assert sorted(pruned) == ["ckpt_0001.zip", "ckpt_0003.zip", "ckpt_0004.zip"]
    # the manifest survives a restart: a resumed attempt prunes what earlier ones saved
    assert {e.path for e in retention.load(tmp_path) if e.pruned} == set(pruned)


def test_defaults_keep_a_long_run_under_about_ten_checkpoints(tmp_path):
    for n in range(1, 51):  # a long run: 1,000,000 timesteps, a checkpoint every 20,000
        _save(tmp_path, n, n / 100 if n != 7 else 0.99, RetentionSettings(), final=n == 50, min_last=8)
    assert len(list(tmp_path.glob("*.zip"))) <= 10  # self-play's pool of 8 + the best + the final


def test_self_play_pool_is_never_pruned_below_its_size():
    entries = [retention.Entry(f"c{n}.zip", n, n) for n in range(20)]
    keep = retention.choose(entries, RetentionSettings(keep_last=2, keep_best=False, keep_final=False), min_last=8)
    assert keep == {f"c{n}.zip" for n in range(12, 20)}


def _save_evaluated(directory, n, win_rate, settings, evaluations, final=False):
    name = f"ckpt_{n:04d}.zip"
    (directory / name).write_bytes(b"model")
    entry = retention.Entry(name, timestep=n * 100, episode=n * 10, win_rate=win_rate, final=final)
    return retention.record_and_prune(directory, entry, settings, protect=name, evaluations=evaluations)


def test_the_best_by_evaluation_is_kept_over_the_best_rolling_win_rate(tmp_path):
    """Periodic evaluations exist: the checkpoint whose policy scored best is kept, even though the
    rolling win rate (training opponents, a moving policy) preferred another one."""
    settings = RetentionSettings(keep_last=2)
    rolling = [0.1, 0.9, 0.2, 0.3, 0.4, 0.5, 0.6]  # rolling says checkpoint 2
    evaluations: list[tuple[int, float]] = []
    scores = {1: 0.2, 2: 0.3, 3: 0.8, 4: 0.4, 5: 0.5, 6: 0.45, 7: 0.5}  # evaluation says checkpoint 3
    for n, rate in enumerate(rolling, start=1):
        evaluations.append((n * 100 - 4, scores[n]))  # evaluated at the rollout start just before the save
        _save_evaluated(tmp_path, n, rate, settings, list(evaluations), final=n == len(rolling))
    kept = sorted(p.name for p in tmp_path.glob("*.zip"))
    assert "ckpt_0003.zip" in kept  # the evaluation-best checkpoint survives
    assert kept == ["ckpt_0003.zip", "ckpt_0006.zip", "ckpt_0007.zip"]  # rolling's best (2) was pruned
    # the evaluations seen survive a restart: a resumed attempt without new ones still keeps 3
    _save_evaluated(tmp_path, 8, 0.95, settings, None)
    _save_evaluated(tmp_path, 9, 0.1, settings, None)
    assert sorted(p.name for p in tmp_path.glob("*.zip")) == ["ckpt_0003.zip", "ckpt_0007.zip", "ckpt_0008.zip",
                                                              "ckpt_0009.zip"]  # 7: the final one


def test_without_evaluations_of_live_checkpoints_rolling_win_rate_decides():
    entries = [retention.Entry(f"c{n}.zip", n * 100, n, win_rate=r) for n, r in enumerate([0.2, 0.9, 0.1, 0.3])]
    entries[0].pruned = True
    settings = RetentionSettings(keep_last=1)
    assert retention.choose(entries, settings) == {"c1.zip", "c3.zip"}
    # an evaluation that scores only a pruned checkpoint does not override the rolling rate
    assert retention.choose(entries, settings, evaluations=[(0, 1.0)]) == {"c1.zip", "c3.zip"}
    assert retention.choose(entries, settings, evaluations=[(0, 1.0), (190, 0.5)]) == {"c2.zip", "c3.zip"}
