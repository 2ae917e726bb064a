"""The settings every PPO-family algorithm (IPPO, MAPPO, HAPPO) shares.

The defaults are the MAPPO repository's MPE settings (marlbenchmark/on-policy,
``scripts/train_mpe_scripts/train_mpe_spread.sh`` and ``config.py``: 128
rollout threads of 25-step episodes, 10 PPO epochs, one minibatch, learning
rate 7e-4 for actor and critic, Adam epsilon 1e-5, clip 0.2, GAE lambda 0.95,
gamma 0.99, entropy 0.01, Huber value loss with delta 10 and value clipping,
value normalisation, gradient norm 10, hidden layers of 64 with an input
LayerNorm, orthogonal initialisation). HAPPO changes what HARL changes
(``tf_maddpg/algorithms/happo/config.py``).

A rollout is one lockstep round of the loop: ``num_envs`` episodes of
``episode_length`` steps, so the MAPPO repository's 128 threads x 25 steps is
``num_envs=128`` with mpe2's 25-step episodes.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Optional, Tuple

from tf_maddpg.config import (RunConfig, check_bool, check_float, check_int, is_int,
                              require)


@dataclasses.dataclass(frozen=True)
class PPOConfig(RunConfig):
    """Hyperparameters of the on-policy (PPO) family and of its training run.

    Every field is validated in ``__post_init__``; a bad value raises a
    ``ValueError`` that names the field and what it accepts.
    """

    critic_input: ClassVar[str] = "state"
    """What each critic sees: 'state' (the global state: every agent's
    observation, mpe2's env.state(), MAPPO and HAPPO) or 'observation' (the
    agent's own, IPPO). Fixed by the algorithm."""

    # --- The run: the MAPPO repository's rollout ------------------------------------
    num_episodes: int = 80_000
    """Training episodes (80,000 x 25 steps = 2M env steps)."""
    num_envs: int = 128
    """Environments per rollout: each update learns from one episode of each
    (the MAPPO repository's n_rollout_threads)."""
    eval_interval: int = 1_280
    """Evaluate every this many training episodes (10 updates with 128 envs)."""
    checkpoint_interval: int = 12_800
    """Save a checkpoint every this many episodes (and at the end)."""

    # --- Optimisation -------------------------------------------------------------
    actor_lr: float = 7e-4
    """Adam learning rate of every actor."""
    critic_lr: float = 7e-4
    """Adam learning rate of every critic."""
    adam_epsilon: float = 1e-5
    """Adam's epsilon (PyTorch's placement, as the MAPPO repository's torch.optim.Adam)."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE's lambda (1 gives Monte Carlo returns bootstrapped at truncation)."""
    epochs: int = 10
    """Passes over each rollout (PPO epochs)."""
    num_minibatches: int = 1
    """Minibatches per epoch: the rollout's steps are shuffled and split in this
    many parts, one gradient step each."""
    clip_ratio: float = 0.2
    """PPO's epsilon: the probability ratio is clipped to [1 - eps, 1 + eps]."""
    value_clip: Optional[float] = 0.2
    """Clip the new value to this distance from the rollout's value and take the
    larger (pessimistic) of the clipped and unclipped losses, as the MAPPO
    paper and code do; None turns value clipping off."""
    huber_delta: Optional[float] = 10.0
    """The value loss is the Huber loss with this delta; None: the squared error / 2."""
    entropy_coef: float = 0.01
    """Weight of the policy entropy bonus in the actor loss."""
    value_coef: float = 1.0
    """Weight of the value loss in the critic loss."""
    max_grad_norm: Optional[float] = 10.0
    """Clip each network's gradients to this global norm; None turns it off."""
    value_norm: bool = True
    """Normalise value targets with running statistics (the MAPPO repository's
    ValueNorm: debiased moving averages with beta 0.99999); the critic learns
    the normalised value and GAE uses the de-normalised one."""
    advantage_norm: bool = True
    """Standardise the advantages of each actor network over its rollout."""

    # --- Networks -----------------------------------------------------------------
    hidden_sizes: Tuple[int, ...] = (64, 64)
    """Hidden layer widths (ReLU) of every actor and critic."""
    input_norm: bool = True
    """A LayerNorm on every network's input (the MAPPO repository's
    use_feature_normalization)."""
    share_parameters: bool = True
    """Agents with the same observation and action spaces share one actor and
    one critic, with a one-hot of the agent's index among them appended to
    their inputs (the MAPPO repository's share_policy)."""
    init_std: float = 0.5
    """Box actions: the Gaussian's initial std, as a fraction of half the width
    of the action space (the log-std is learned, one per action dimension and
    actor). Actions are sampled unbounded and clipped to the bounds when they
    enter the environment; the log-probability is that of the unclipped sample."""

    def __post_init__(self):
        if isinstance(self.hidden_sizes, (list, tuple)):
            object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        super().__post_init__()
        for name in ("actor_lr", "critic_lr", "adam_epsilon", "clip_ratio", "init_std"):
            check_float(self, name, low=0.0, low_open=True)
        for name in ("gamma", "gae_lambda"):
            check_float(self, name, low=0.0, high=1.0)
        for name in ("entropy_coef", "value_coef"):
            check_float(self, name, low=0.0)
        for name in ("value_clip", "huber_delta", "max_grad_norm"):
            if getattr(self, name) is not None:
                check_float(self, name, low=0.0, low_open=True, allowed="None or a float > 0")
        check_int(self, "epochs", low=1)
        check_int(self, "num_minibatches", low=1)
        require(self, isinstance(self.hidden_sizes, tuple) and len(self.hidden_sizes) >= 1
                and all(is_int(h) and h >= 1 for h in self.hidden_sizes),
                "hidden_sizes", "one or more integers >= 1")
        for name in ("value_norm", "advantage_norm", "input_norm", "share_parameters"):
            check_bool(self, name)
