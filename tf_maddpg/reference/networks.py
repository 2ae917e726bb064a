"""The reference's network: a small fully connected ReLU net."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn


class TwoLayerFC(nn.Module):
    """Fully connected layers with ReLU between them, initialised by ``torch.nn.Linear``.

    Named after the reference's two-hidden-layer net; ``hidden_sizes`` may
    hold any number of layers, like ``MADDPGConfig.hidden_sizes``. The layers
    are ``self.layers`` (hidden ones first, then the output layer), the same
    order as the Dense layers of tf_maddpg's Keras networks.

    Args:
      input_dim: length of the input vector.
      output_dim: length of the output vector (no activation on it).
      hidden_sizes: widths of the hidden layers.
    """

    def __init__(self, input_dim: int, output_dim: int, hidden_sizes: Sequence[int] = (64, 64)):
        super().__init__()
        sizes = [input_dim, *hidden_sizes, output_dim]
        self.layers = nn.ModuleList(nn.Linear(fan_in, fan_out)
                                    for fan_in, fan_out in itertools.pairwise(sizes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, input_dim] -> [B, output_dim]."""
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)
