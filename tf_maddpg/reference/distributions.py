"""Gumbel-softmax for Discrete actions and the scaled tanh for Box ones, in PyTorch.

The same formulas as ``tf_maddpg.networks.distributions``, with every random draw an
argument, so that both frameworks can be fed the same noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from tf_maddpg.networks.distributions import TINY


def gumbel_from_uniform(uniform: torch.Tensor) -> torch.Tensor:
    """Gumbel(0, 1) samples from Uniform(0, 1) ones: g = -log(-log(u))."""
    return -torch.log(-torch.log(uniform + TINY) + TINY)


def gumbel_softmax_sample(logits: torch.Tensor, uniform: torch.Tensor,
                          temperature: float = 1.0) -> torch.Tensor:
    """The soft relaxation: softmax((logits + g) / temperature). [B, A] -> [B, A]."""
    return F.softmax((logits + gumbel_from_uniform(uniform)) / temperature, dim=-1)


def onehot_from_logits(scores: torch.Tensor, explore_uniform: torch.Tensor,
                       random_action: torch.Tensor, epsilon: float) -> torch.Tensor:
    """One-hot argmax of ``scores``, each row replaced by a random action w.p. epsilon.

    Args:
      scores: [B, A] logits or probabilities.
      explore_uniform: [B] Uniform(0, 1); a row explores when it is <= epsilon.
      random_action: [B] int, the action a row takes when it explores.
      epsilon: the exploration probability (0 gives the plain argmax).

    Returns:
      [B, A] one-hot tensor of ``scores``'s dtype, with no gradient.
    """
    depth = scores.shape[-1]
    greedy = F.one_hot(scores.detach().argmax(dim=-1), depth).to(scores.dtype)
    if epsilon <= 0:
        return greedy
    random = F.one_hot(random_action.long(), depth).to(scores.dtype)
    keep = explore_uniform > epsilon  # [B]
    return torch.where(keep[:, None], greedy, random)


def gumbel_softmax_hard(logits: torch.Tensor, uniform: torch.Tensor,
                        explore_uniform: torch.Tensor, random_action: torch.Tensor,
                        temperature: float = 1.0, epsilon: float = 0.0) -> torch.Tensor:
    """Straight-through Gumbel-softmax: a one-hot value with the soft sample's gradient.

    Returns ``(hard - soft).detach() + soft``, where ``soft`` is
    ``gumbel_softmax_sample`` and ``hard`` its ``onehot_from_logits``. [B, A].
    """
    soft = gumbel_softmax_sample(logits, uniform, temperature)
    hard = onehot_from_logits(soft, explore_uniform, random_action, epsilon)
    return (hard - soft).detach() + soft


def squash_to_bounds(preactivation: torch.Tensor, low: Sequence[float],
                     high: Sequence[float]) -> torch.Tensor:
    """tanh scaled to [low, high]: low + (tanh(x) + 1) * (high - low) / 2."""
    low = torch.as_tensor(low, dtype=preactivation.dtype)
    high = torch.as_tensor(high, dtype=preactivation.dtype)
    return low + (torch.tanh(preactivation) + 1.0) * (0.5 * (high - low))
