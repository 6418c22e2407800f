"""``LegalCategorical`` is sb3-contrib's masked categorical, computed over the legal actions only:
same log-probabilities, entropies and gradients, samples only legal actions with the right
frequencies, and the same answers without a mask or with a row that allows nothing."""

from __future__ import annotations

import pytest
import torch
from sb3_contrib.common.maskable.distributions import MaskableCategorical
from trainyard_trainer.distribution import LegalCategorical, LegalCategoricalDistribution
from trainyard_trainer.policy import BlokusPolicy


def _masks(batch: int, n: int, share: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    masks = torch.rand(batch, n, generator=g) < share
    masks[torch.arange(batch), torch.randint(0, n, (batch,), generator=g)] = True  # at least one legal action
    return masks


def _both(logits: torch.Tensor, masks: torch.Tensor | None, actions: torch.Tensor):
    """(log_prob, entropy, gradient of a PPO-like loss) from sb3-contrib's and from ours."""
    out = []
    for make in (lambda x: MaskableCategorical(logits=x), LegalCategorical):
        x = logits.clone().requires_grad_(True)
        dist = make(x)
        dist.apply_masking(masks)
        log_prob, entropy = dist.log_prob(actions), dist.entropy()
        (log_prob.exp().sum() - 0.01 * entropy.sum()).backward()
        out.append((log_prob.detach(), entropy.detach(), x.grad))
    return out


@pytest.mark.parametrize("share", [0.002, 0.03, 0.5, 1.0])
def test_log_prob_entropy_and_gradients_match_sb3_contrib(share):
    masks = _masks(64, 2000, share, seed=1)
    logits = torch.randn(64, 2000, generator=torch.Generator().manual_seed(2)) * 3
    actions = torch.multinomial(masks.float(), 1, generator=torch.Generator().manual_seed(3)).squeeze(1)
    (lp_a, ent_a, grad_a), (lp_b, ent_b, grad_b) = _both(logits, masks, actions)
    torch.testing.assert_close(lp_b, lp_a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ent_b, ent_a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad_b, grad_a, atol=1e-6, rtol=1e-5)


def test_without_a_mask_or_with_a_row_allowing_nothing_it_behaves_as_sb3_contrib():
    logits = torch.randn(8, 50, generator=torch.Generator().manual_seed(4))
    actions = torch.arange(8)
    masks = _masks(8, 50, 0.1, seed=5)
    masks[3] = False  # sb3-contrib: every action of that row equally unlikely
    for m in (None, masks):
        (lp_a, ent_a, grad_a), (lp_b, ent_b, grad_b) = _both(logits, m, actions)
        torch.testing.assert_close(lp_b, lp_a)
        torch.testing.assert_close(ent_b, ent_a, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(grad_b, grad_a)


def test_samples_are_legal_and_follow_the_probabilities():
    torch.manual_seed(6)
    logits = torch.tensor([[2.0, 0.0, 1.0, -1.0, 5.0], [0.0, 0.0, 0.0, 3.0, 0.0]])
    masks = torch.tensor([[True, True, True, True, False], [True, False, True, False, True]])
    dist = LegalCategorical(logits)
    dist.apply_masking(masks)
    draws = torch.stack([dist.sample() for _ in range(20_000)])  # [draws, rows]
    assert masks.gather(1, draws.T).all()
    expected = torch.softmax(torch.where(masks, logits, -torch.inf), dim=1)
    for row in range(2):
        freq = torch.bincount(draws[:, row], minlength=5).float() / len(draws)
        torch.testing.assert_close(freq, expected[row], atol=0.015, rtol=0)
    assert dist.mode().tolist() == [0, 0]  # the best legal action, not the masked 5.0 nor the illegal 3.0


def test_the_blokus_policy_uses_it_and_picks_only_legal_placements():
    import gymnasium as gym
    import trainyard_trainer.envs  # noqa: F401 - registers the environments
    from sb3_contrib import MaskablePPO
    from trainyard_trainer.policy import make_policy

    env = gym.make("trainyard/BlokusDuo-v0", opponent="random")
    policy, kwargs = make_policy(env.observation_space)
    model = MaskablePPO(policy, env, n_steps=32, batch_size=16, n_epochs=1, seed=0, policy_kwargs=kwargs)
    assert isinstance(model.policy, BlokusPolicy)
    assert isinstance(model.policy.action_dist, LegalCategoricalDistribution)
    obs, _ = env.reset(seed=0)
    for _ in range(20):
        mask = env.unwrapped.action_masks()
        for deterministic in (True, False):
            action, _ = model.predict(obs, action_masks=mask, deterministic=deterministic)
            assert mask[int(action)]
        obs, _, done, _, _ = env.step(int(action))
        if done:
            obs, _ = env.reset()
