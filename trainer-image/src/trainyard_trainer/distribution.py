"""A masked categorical distribution that computes over the legal actions only.

sb3-contrib's ``MaskableCategorical`` sets every illegal logit to -1e8 and then normalises, takes
probabilities and the entropy over all 13,729 Blokus placements, forward and backward, although only
a few percent are legal in any position: those full-width passes were the largest part of a PPO
update. ``LegalCategorical`` gathers the legal logits (the mask's nonzero entries) and does the
log-normaliser, ``log_prob``, entropy and sampling per row over them alone. Same distribution, same
values as sb3-contrib's up to float rounding (``tests/trainer/test_distribution.py``); without a mask
it is the plain categorical over every action.
"""

from __future__ import annotations

from typing import Any

import torch
from sb3_contrib.common.maskable.distributions import MaskableCategoricalDistribution


class LegalCategorical:
    """The categorical distribution of ``logits`` [B, N] restricted to ``masks`` (bool [B, N])."""

    def __init__(self, logits: torch.Tensor):
        self.raw_logits = self.logits = logits
        self.masks: torch.Tensor | None = None
        self._log_norm = torch.logsumexp(logits, dim=1)

    def apply_masking(self, masks: Any) -> None:
        logits = self.logits = self.raw_logits
        self.masks = None
        if masks is not None:
            masks = torch.as_tensor(masks, dtype=torch.bool, device=logits.device).reshape(logits.shape)
            if masks.any(1).all():
                self.masks = masks
            else:  # a row with no legal action: as sb3-contrib, every action equally unlikely (all -1e8)
                self.logits = torch.where(masks, logits, torch.tensor(-1e8, dtype=logits.dtype, device=logits.device))
        if self.masks is None:
            self._log_norm = torch.logsumexp(self.logits, dim=1)
            return
        rows, cols = self.masks.nonzero(as_tuple=True)
        values = logits[rows, cols]
        batch = logits.shape[0]
        peak = torch.full((batch,), -torch.inf, dtype=logits.dtype, device=logits.device)
        peak = peak.scatter_reduce(0, rows, values.detach(), "amax")  # for a stable log-sum-exp
        total = torch.zeros(batch, dtype=logits.dtype, device=logits.device).index_add(
            0, rows, torch.exp(values - peak[rows]))
        self._log_norm = torch.log(total) + peak
        self._rows, self._cols, self._values = rows, cols, values

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        actions = actions.long().reshape(-1)
        return self.logits.gather(1, actions[:, None]).squeeze(1) - self._log_norm

    def entropy(self) -> torch.Tensor:
        if self.masks is None:
            log_p = self.logits - self._log_norm[:, None]
            return -(log_p.exp() * log_p).sum(1)
        log_p = self._values - self._log_norm[self._rows]
        return -torch.zeros_like(self._log_norm).index_add(0, self._rows, log_p.exp() * log_p)

    def sample(self) -> torch.Tensor:
        """Gumbel-max over the legal actions: each row's action with the largest logit + Gumbel noise."""
        with torch.no_grad():
            if self.masks is None:
                return torch.distributions.Categorical(logits=self.logits).sample()
            noise = -torch.log(-torch.log(torch.rand_like(self._values).clamp_(min=1e-20)))
            scores = self._values + noise
            best = torch.full_like(self._log_norm, -torch.inf).scatter_reduce(0, self._rows, scores, "amax")
            won = scores == best[self._rows]
            return torch.zeros_like(self._log_norm, dtype=torch.long).scatter_(0, self._rows[won], self._cols[won])

    def mode(self) -> torch.Tensor:
        with torch.no_grad():
            if self.masks is None:
                return self.logits.argmax(1)
            return torch.where(self.masks, self.logits, -torch.inf).argmax(1)


class LegalCategoricalDistribution(MaskableCategoricalDistribution):
    """sb3-contrib's masked categorical action distribution, computed by ``LegalCategorical``."""

    def proba_distribution(self, action_logits: torch.Tensor) -> LegalCategoricalDistribution:
        self.distribution = LegalCategorical(action_logits.view(-1, self.action_dim))  # type: ignore[assignment]
        return self

    def mode(self) -> torch.Tensor:
        return self.distribution.mode()  # type: ignore[attr-defined]
