"""Gymnasium API of the Blokus envs: registration, check_env, spaces, info, seeding, seats,
the turn-based form, and a tiny MaskablePPO run with the trainer's policy kwargs."""

from __future__ import annotations

import copy
import importlib
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
import trainyard_trainer.envs as envs
from gymnasium.utils.env_checker import check_env
from trainyard_trainer.envs import (
    CLASSIC_ID,
    DUO_ID,
    BlokusClassicEnv,
    BlokusClassicTurnEnv,
    BlokusDuoEnv,
    BlokusDuoTurnEnv,
    IllegalMoveError,
)

pytestmark = pytest.mark.unit


class LegalActions(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """Maps any action to a legal one, so check_env's unmasked random actions are playable."""

    def __init__(self, env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ActionWrapper.__init__(self, env)

    def action(self, action):
        legal = np.flatnonzero(self.env.unwrapped.action_masks())
        return int(legal[int(action) % len(legal)])


class CountIllegal(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.illegal = self.steps = 0

    def action_masks(self):
        return self.env.unwrapped.action_masks()

    def step(self, action):
        self.steps += 1
        self.illegal += not self.env.unwrapped.action_masks()[int(action)]
        return self.env.step(action)


def random_episode(env, rng, seed=None):
    obs, info = env.reset(seed=seed)
    trajectory = [(obs, 0.0, info)]
    done = False
    while not done:
        action = int(rng.choice(np.flatnonzero(env.action_masks())))
        obs, reward, done, truncated, info = env.step(action)
        assert not truncated
        trajectory.append((obs, reward, info))
    return trajectory


def test_ids_are_registered_once():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(envs)
    duo, classic = gym.make(DUO_ID), gym.make(CLASSIC_ID, opponent="greedy")
    assert isinstance(duo.unwrapped, BlokusDuoEnv) and isinstance(classic.unwrapped, BlokusClassicEnv)
    assert duo.action_space.n == 13729 and classic.action_space.n == 30433
    assert duo.observation_space.shape == (25, 14, 14) and classic.observation_space.shape == (27, 20, 20)
    assert duo.observation_space.dtype == np.float32


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
@pytest.mark.parametrize(("env_id", "seat"), [(DUO_ID, 0), (DUO_ID, 1), (CLASSIC_ID, 2)])
def test_gymnasium_check_env(env_id, seat):
    check_env(LegalActions(gym.make(env_id, agent_seat=seat, opponent="greedy")))


@pytest.mark.parametrize("env_cls", [BlokusDuoEnv, BlokusClassicEnv])
def test_observations_rewards_and_info(env_cls):
    env = env_cls(seed=1)
    rng = np.random.default_rng(1)
    for _ in range(4):
        trajectory = random_episode(env, rng)
        _, _, reset_info = trajectory[0]
        assert set(reset_info) == {"placements", "agent_seat"}
        placements = [info["placements"] for _, _, info in trajectory]
        assert placements == sorted(placements) and placements[-1] > placements[0]
        for obs, reward, info in trajectory[1:-1]:
            assert env.observation_space.contains(obs)
            assert reward == 0.0 and set(info) == {"placements"}
        obs, reward, info = trajectory[-1]
        assert env.observation_space.contains(obs)
        assert set(info) == {"placements", "scores", "agent_seat", "win", "score_margin"}
        scores, seat = info["scores"], info["agent_seat"]
        assert len(scores) == env.variant.n_players and seat == env.agent_seat
        margin = scores[seat] - max(s for i, s in enumerate(scores) if i != seat)
        assert info["score_margin"] == margin and info["win"] == (margin > 0)
        assert reward == pytest.approx(np.sign(margin) + 0.01 * margin)
        assert info["placements"] == env.game.placements


def test_observation_is_from_the_agent_view():
    env = BlokusDuoEnv(agent_seat=1, seed=0)
    obs, _ = env.reset()
    board = env.game.board2d()
    assert (obs[0] == (board == 1)).all() and (obs[1] == (board == 0)).all() and obs[1].sum() > 0
    assert obs[2].sum() == 1 and obs[2, 9, 9] == 1, "own usable corner: the start square"
    assert (obs[4:] == 1).all(), "all 21 pieces held"


@pytest.mark.parametrize("opponent", ["random", "greedy"])
def test_seeded_runs_reproduce(opponent):
    runs = []
    for _ in range(2):
        env = BlokusClassicEnv(opponent=opponent, seed=11)
        rng = np.random.default_rng(0)
        runs.append([random_episode(env, rng) for _ in range(3)])
    for episode_a, episode_b in zip(*runs, strict=True):
        assert len(episode_a) == len(episode_b)
        for (obs_a, rew_a, info_a), (obs_b, rew_b, info_b) in zip(episode_a, episode_b, strict=True):
            assert np.array_equal(obs_a, obs_b) and rew_a == rew_b and info_a == info_b


def test_agent_seat_alternates_or_is_fixed():
    duo = BlokusDuoEnv(seed=0)
    assert [duo.reset()[1]["agent_seat"] for _ in range(4)] == [0, 1, 0, 1]
    classic = BlokusClassicEnv(seed=0)
    assert [classic.reset()[1]["agent_seat"] for _ in range(5)] == [0, 1, 2, 3, 0]
    fixed = BlokusClassicEnv(agent_seat=2)
    assert [fixed.reset()[1]["agent_seat"] for _ in range(3)] == [2, 2, 2]
    with pytest.raises(ValueError):
        BlokusDuoEnv(agent_seat=2)


def test_agent_is_only_asked_to_act_with_a_legal_move():
    env = BlokusDuoEnv(seed=2)
    rng = np.random.default_rng(2)
    passes = 0
    for _ in range(30):
        obs, info = env.reset()
        done, before = False, info["placements"]
        while not done:
            assert env.game.current_player == env.agent_seat and env.action_masks().any()
            _, _, done, _, info = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
            passes += info["placements"] - before > 2  # the opponent moved twice: the agent passed
            before = info["placements"]
    assert passes > 0


def test_action_masks_is_a_cached_read_only_view():
    env = BlokusDuoEnv(seed=0)
    env.reset()
    mask = env.action_masks()
    assert mask is env.action_masks() and mask.dtype == np.bool_ and mask.shape == (13729,)
    assert not mask.flags.writeable
    with pytest.raises(IllegalMoveError):
        env.step(int(np.flatnonzero(~mask)[0]))


def test_env_and_game_survive_deepcopy_and_pickle():
    env = BlokusDuoEnv(seed=0)
    env.reset()
    for clone in (copy.deepcopy(env), pickle.loads(pickle.dumps(env))):
        assert np.array_equal(clone.action_masks(), env.action_masks())
        clone.step(int(np.flatnonzero(clone.action_masks())[0]))
        assert clone.game.placements > env.game.placements
        assert np.shares_memory(clone.action_masks(), clone.game.mask), "mask view still tied to its game"
        assert np.array_equal(clone.action_masks(), clone.game.mask[clone.agent_seat])


def test_turn_env_moves_every_seat_from_its_own_view():
    env = BlokusClassicTurnEnv(render_mode="ansi")
    obs, info = env.reset()
    assert env.current_player == info["current_player"] == 0
    rng = np.random.default_rng(4)
    done, seen = False, set()
    while not done:
        player = env.current_player
        seen.add(player)
        mask = env.action_masks()
        assert mask is env.game.legal_mask(player) and mask.any()
        obs, reward, done, _, info = env.step(int(rng.choice(np.flatnonzero(mask))))
        board = env.game.board2d()
        assert (obs[0] == (board == info["current_player"])).all()
    assert seen == {0, 1, 2, 3}
    scores, mover = info["scores"], info["mover"]
    margin = scores[mover] - max(s for i, s in enumerate(scores) if i != mover)
    assert reward == pytest.approx(np.sign(margin) + 0.01 * margin)
    assert len(env.render().splitlines()) == 20


def test_duo_turn_env_alternates():
    env = BlokusDuoTurnEnv()
    env.reset()
    env.step(int(np.flatnonzero(env.action_masks())[0]))
    assert env.current_player == 1
    assert all((9, 9) in env.game.cells_of(p) for p in np.flatnonzero(env.action_masks()))


def test_maskable_ppo_learns_without_invalid_actions():
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.vec_env import DummyVecEnv
    from trainyard_trainer.policy import BlokusPolicy, make_policy

    counters = [CountIllegal(BlokusDuoEnv(seed=i)) for i in range(4)]
    vec_env = DummyVecEnv([lambda env=env: env for env in counters])
    policy, kwargs = make_policy(vec_env.observation_space)  # as the trainer does
    model = MaskablePPO(
        policy,
        vec_env,
        n_steps=64,
        batch_size=128,
        n_epochs=1,
        seed=0,
        device="cpu",
        policy_kwargs=kwargs,
    )
    assert isinstance(model.policy, BlokusPolicy)
    model.learn(total_timesteps=256)
    assert sum(c.steps for c in counters) >= 256 and sum(c.illegal for c in counters) == 0
