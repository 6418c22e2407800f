"""Policy networks for MaskablePPO on the Blokus observation (``envs.blokus.env``).

``BlokusPolicy`` (the default, see ``make_policy``) is shaped like the board: a small residual
conv trunk keeps the H x W resolution; the action head scores every (cell, piece orientation)
with one 1x1 conv, and a placement's logit is its orientation's score at its anchor cell,
gathered in the placement table's action order. The value comes from pooled features. About
60 thousand weights, against ~7 M for the legacy network. Its action distribution computes over the
legal placements only (``distribution``).

(A head summing per-(orientation, cell of the piece) scores over the covered cells was tried
first: five times the head's output and gather, which made it the most expensive part of an update.)

``BlokusCNN`` + ``legacy_policy_kwargs`` is the earlier network (a CNN flattened into dense
layers and a dense 13,729-way head). It stays so that checkpoints saved with it still load.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from trainyard_trainer.distribution import LegalCategoricalDistribution
from trainyard_trainer.envs.blokus.pieces import COL_CELLS, COL_NCELL, MAX_CELLS, N_ORIENTATIONS, placement_table


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


class BoardTrunk(BaseFeaturesExtractor):
    """3x3 conv to ``channels`` then ``blocks`` residual blocks, all at board resolution.

    Returns the feature map float32[B, channels, H, W] (``features_dim`` = channels)."""

    def __init__(self, observation_space: spaces.Box, channels: int = 32, blocks: int = 2) -> None:
        super().__init__(observation_space, channels)
        in_channels = observation_space.shape[0]
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU())
        self.blocks = nn.Sequential(*(_Residual(channels) for _ in range(blocks)))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(observations))


def placement_anchor_index(size: int) -> np.ndarray:
    """int64[n_placements]: for each placement (table order) the flat index
    ``orientation * size * size + anchor`` into the head's [orientations, H, W] logit map. The
    anchor is the placement's cell nearest the centre of its bounding box (the first such cell
    in the piece's cell order), so the 3x3 trunk's receptive field around it covers the piece."""
    table = placement_table(size)
    n_cell = table.geom[:, COL_NCELL]
    cells = table.geom[:, COL_CELLS : COL_CELLS + MAX_CELLS].astype(np.int64)
    rows, cols = cells // size, cells % size
    valid = np.arange(MAX_CELLS)[None, :] < n_cell[:, None]
    big = np.iinfo(np.int64).max // 4
    centre_r2 = np.where(valid, rows, big).min(1) + np.where(valid, rows, -big).max(1)  # twice the centre
    centre_c2 = np.where(valid, cols, big).min(1) + np.where(valid, cols, -big).max(1)
    dist = (2 * rows - centre_r2[:, None]) ** 2 + (2 * cols - centre_c2[:, None]) ** 2
    anchor = cells[np.arange(table.n), np.where(valid, dist, big).argmin(1)]
    return table.orientation.astype(np.int64) * size * size + anchor


class BoardHeads(nn.Module):
    """Actor and critic heads on the trunk's feature map (SB3's ``mlp_extractor`` slot).

    ``forward_actor`` gives the placement logits: a 1x1 conv scores every (cell, orientation),
    and each placement takes the score of its orientation at its anchor cell (the latent *is*
    the logits; ``action_net`` is the identity). ``forward_critic`` gives a pooled latent
    (mean and max over the board) for ``value_net``."""

    def __init__(self, channels: int, size: int, n_actions: int, value_hidden: int) -> None:
        super().__init__()
        index = torch.from_numpy(placement_anchor_index(size))
        if index.shape[0] != n_actions:
            raise ValueError(f"a {size}x{size} board has {index.shape[0]} placements, the action space {n_actions}")
        self.register_buffer("index", index, persistent=False)
        self.scores = nn.Conv2d(channels, N_ORIENTATIONS, 1)
        self.value = nn.Sequential(nn.Linear(2 * channels, value_hidden), nn.ReLU())
        self.latent_dim_pi = n_actions
        self.latent_dim_vf = value_hidden

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        return self.scores(features).flatten(1).index_select(1, self.index)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([features.mean((2, 3)), features.amax((2, 3))], dim=1)
        return self.value(pooled)


class BlokusPolicy(MaskableActorCriticPolicy):
    """MaskablePPO actor-critic for board observations float32[C, H, W] with one action per
    placement of ``placement_table(H)``. ``net_arch={"vf": [k]}`` sets the value hidden width;
    the trunk's width and depth come from ``features_extractor_kwargs``."""

    def __init__(self, observation_space: spaces.Box, action_space: spaces.Discrete, lr_schedule, **kwargs: Any):
        kwargs.setdefault("features_extractor_class", BoardTrunk)
        kwargs.setdefault("net_arch", {"pi": [], "vf": [64]})
        kwargs.setdefault("normalize_images", False)
        kwargs.setdefault("share_features_extractor", True)
        if len(observation_space.shape) != 3 or observation_space.shape[1] != observation_space.shape[2]:
            raise ValueError(f"BlokusPolicy needs square board planes [C, H, W], got {observation_space.shape}")
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        vf = self.net_arch.get("vf", [64]) if isinstance(self.net_arch, dict) else [64]
        self.mlp_extractor = BoardHeads(self.features_dim, self.observation_space.shape[1], int(self.action_space.n),
                                        value_hidden=vf[0] if vf else 64)

    def _build(self, lr_schedule) -> None:
        # As MaskableActorCriticPolicy._build, without its dense (latent x actions) action layer.
        self._build_mlp_extractor()
        self.action_dist = LegalCategoricalDistribution(int(self.action_space.n))
        self.action_net = nn.Identity()
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, 1)
        if self.ortho_init:
            for module, gain in ((self.features_extractor, np.sqrt(2)), (self.mlp_extractor.value, np.sqrt(2)),
                                 (self.mlp_extractor.scores, 0.01), (self.value_net, 1.0)):
                module.apply(lambda m, g=gain: self.init_weights(m, gain=g))
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)


def board_policy_kwargs(channels: int = 32, blocks: int = 2, value_hidden: int = 64) -> dict[str, Any]:
    """``policy_kwargs`` for ``MaskablePPO(BlokusPolicy, env, ...)``."""
    return {
        "features_extractor_class": BoardTrunk,
        "features_extractor_kwargs": {"channels": channels, "blocks": blocks},
        "net_arch": {"pi": [], "vf": [value_hidden]},
        "normalize_images": False,
    }


def make_policy(observation_space: spaces.Space) -> tuple[type | str, dict[str, Any] | None]:
    """The policy class and kwargs the trainer uses for an environment: ``BlokusPolicy`` for
    board planes [C, H, W], SB3's MLP policy otherwise."""
    if isinstance(observation_space, spaces.Box) and len(observation_space.shape) == 3:
        return BlokusPolicy, board_policy_kwargs()
    return "MlpPolicy", None


class BlokusCNN(BaseFeaturesExtractor):
    """Legacy extractor (checkpoints before the board-shaped policy): three 3x3 same-padding
    conv layers (ReLU), then flatten + linear to ``features_dim``."""

    def __init__(
        self, observation_space: spaces.Box, features_dim: int = 256, channels: tuple[int, ...] = (32, 64, 64)
    ) -> None:
        super().__init__(observation_space, features_dim)
        in_channels, height, width = observation_space.shape
        layers: list[nn.Module] = []
        for out_channels in channels:
            layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
            in_channels = out_channels
        self.cnn = nn.Sequential(*layers, nn.Flatten())
        self.linear = nn.Sequential(nn.Linear(in_channels * height * width, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.linear(self.cnn(observations))


def legacy_policy_kwargs(
    features_dim: int = 256, channels: tuple[int, ...] = (32, 64, 64), ortho_init: bool = False
) -> dict[str, Any]:
    """``policy_kwargs`` of the legacy ``MaskablePPO("CnnPolicy", ...)`` network (``BlokusCNN``
    shared by actor and critic, one 256-unit hidden layer per head); kept for old checkpoints
    and the before/after bench."""
    return {
        "features_extractor_class": BlokusCNN,
        "features_extractor_kwargs": {"features_dim": features_dim, "channels": channels},
        "net_arch": {"pi": [256], "vf": [256]},
        "normalize_images": False,
        "ortho_init": ortho_init,
    }
