"""MADDPG's settings.

The defaults are the settings of the PyTorch teaching reference (Hands-on RL,
chapter 21), so that a run with ``MADDPGConfig()`` is directly comparable to
it. ``MADDPGConfig.original()`` gives openai/maddpg's algorithm and settings
(Lowe et al. 2017, https://arxiv.org/abs/1706.02275).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Dict, Optional, Tuple

from tf_maddpg.config import (OffPolicyConfig, check_bool, check_choice, check_float, documented,
                              is_int, require)

UPDATE_ORDERS = ("sequential", "simultaneous")
TARGET_ACTIONS = ("argmax", "gumbel")
OTHER_ACTIONS = ("current", "batch")
OWN_ACTIONS = ("straight_through", "soft")
GRAD_CLIPS = ("global_norm", "per_tensor")
TARGET_UPDATES = ("after_all", "per_agent")


@dataclasses.dataclass(frozen=True)
class MADDPGConfig(OffPolicyConfig):
    """Hyperparameters of MADDPG and of its training run.

    Every field is validated in ``__post_init__``; a bad value raises a
    ``ValueError`` that names the field and what it accepts.
    """

    presets: ClassVar[Dict[str, Dict[str, object]]] = {"original": dict(
        update_order="sequential", target_update="per_agent", max_grad_norm=0.5,
        grad_clip="per_tensor", target_actions="gumbel", other_actions="batch",
        own_action="soft", epsilon=0.0, buffer_size=1_000_000, minimal_size=25_600,
        num_episodes=60_000)}
    """``original``: openai/maddpg's algorithm and settings (``original()``)."""

    algo: ClassVar[str] = "maddpg"
    choices: ClassVar[Dict[str, Tuple[str, ...]]] = {
        **OffPolicyConfig.choices, "grad_clip": GRAD_CLIPS, "update_order": UPDATE_ORDERS,
        "target_actions": TARGET_ACTIONS, "other_actions": OTHER_ACTIONS,
        "own_action": OWN_ACTIONS, "target_update": TARGET_UPDATES}
    """The values each text field takes (the command line's choices)."""

    # --- Optimisation --------------------------------------------------------
    actor_lr: float = documented(1e-2, "Adam learning rate of every actor.")
    critic_lr: float = documented(1e-2, "Adam learning rate of every critic.")
    adam_epsilon: float = documented(1e-8, """
        Adam's epsilon. 1e-8 is torch.optim.Adam's default, the reference's.""")
    gamma: float = documented(0.95, "Discount factor.")
    tau: float = documented(0.01, """
        Soft target update rate: target <- (1 - tau) * target + tau * online.""")
    hidden_sizes: Tuple[int, ...] = documented((64, 64), """
        Hidden layer widths (ReLU) of every actor and critic.""")
    max_grad_norm: Optional[float] = documented(None, """
        Clip gradients to this norm (see grad_clip); None turns it off. openai/maddpg
        clips at 0.5; the PyTorch reference does not clip.""")
    grad_clip: str = documented("global_norm", """
        How max_grad_norm clips: 'global_norm' (one norm over each network's gradients)
        or 'per_tensor' (each gradient tensor on its own, as openai/maddpg's
        clip_by_norm does).""")
    logits_l2: float = documented(1e-3, """
        Weight of mean(logits ** 2) in the actor loss (the original's regulariser).""")

    # --- Exploration and the discrete relaxation ------------------------------
    gumbel_temperature: float = documented(1.0, """
        Temperature of the Gumbel-softmax relaxation.""")
    epsilon: float = documented(0.01, """
        Probability that a one-hot action is replaced by a uniformly random one. The
        reference applies it wherever it forms a one-hot action: exploration and, inside
        the update, target actions, the other agents' actions and the straight-through
        sample. Greedy actions (evaluation) never use it.""")
    exploration_noise: float = documented(0.1, """
        Box actions only: std of the Gaussian exploration noise, as a fraction of half
        the width of the action space.""")

    # --- Variants ------------------------------------------------------------
    update_order: str = documented("sequential", """
        'sequential': agent by agent, critic then actor, each actor loss through the
        freshly updated critic and the other agents' already updated actors (both
        references). 'simultaneous': every loss from the pre-update weights.""")
    target_actions: str = documented("argmax", """
        Discrete target actions a'_j: 'argmax' (one-hot argmax of the target actors, the
        reference) or 'gumbel' (a soft Gumbel-softmax sample, the original).""")
    other_actions: str = documented("current", """
        Other agents' actions in agent i's actor loss: 'current' (one-hot argmax of
        their current actors, the reference) or 'batch' (from the replay batch, the
        original).""")
    own_action: str = documented("straight_through", """
        Discrete agent i's own action in its actor loss: 'straight_through' (a one-hot
        Gumbel-softmax sample with the soft sample's gradient, the reference) or 'soft'
        (the soft Gumbel-softmax sample itself, the original).""")
    target_update: str = documented("after_all", """
        When the targets soft-update: 'after_all' (every target once every agent has
        stepped, the reference) or 'per_agent' (agent i's targets right after agent i's
        step, the original; needs update_order='sequential').""")
    jit_compile: bool = documented(False, """
        Compile the update with XLA (no faster than plain tf.function on the 2-core CPU
        of docs/benchmarks.md; try it on a GPU).""")

    def __post_init__(self):
        # Accept lists (from JSON or a command line) for the tuple field.
        if isinstance(self.hidden_sizes, (list, tuple)):
            object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        super().__post_init__()
        check_float(self, "actor_lr", low=0.0, low_open=True)
        check_float(self, "critic_lr", low=0.0, low_open=True)
        check_float(self, "adam_epsilon", low=0.0, low_open=True)
        check_float(self, "gamma", low=0.0, high=1.0)
        check_float(self, "tau", low=0.0, high=1.0, low_open=True)
        require(self, isinstance(self.hidden_sizes, tuple) and len(self.hidden_sizes) >= 1
                and all(is_int(h) and h >= 1 for h in self.hidden_sizes),
                "hidden_sizes", "one or more integers >= 1")
        if self.max_grad_norm is not None:
            check_float(self, "max_grad_norm", low=0.0, low_open=True,
                        allowed="None or a float > 0")
        check_choice(self, "grad_clip", GRAD_CLIPS)
        check_float(self, "logits_l2", low=0.0)
        check_float(self, "gumbel_temperature", low=0.0, low_open=True)
        check_float(self, "epsilon", low=0.0, high=1.0)
        check_float(self, "exploration_noise", low=0.0)
        check_choice(self, "update_order", UPDATE_ORDERS)
        check_choice(self, "target_actions", TARGET_ACTIONS)
        check_choice(self, "other_actions", OTHER_ACTIONS)
        check_choice(self, "own_action", OWN_ACTIONS)
        check_choice(self, "target_update", TARGET_UPDATES)
        require(self, self.target_update == "after_all" or self.update_order == "sequential",
                "target_update", "'after_all' with update_order='simultaneous' (per-agent "
                "target updates only differ when agents update one after another)")
        check_bool(self, "jit_compile")

    @classmethod
    def original(cls, **overrides) -> "MADDPGConfig":
        """openai/maddpg's algorithm and settings (Lowe et al. 2017; the preset
        ``original``), with overrides.

        Agent by agent, with agent i's targets soft-updated right after its
        step; Gumbel-softmax target actions; the other agents' actions from
        the batch and agent i's own as the soft Gumbel-softmax sample in its
        actor loss; each gradient tensor clipped to norm 0.5; no epsilon, a
        1e6 buffer and 25,600 warm-up transitions; 60,000 episodes. One
        difference is left: every agent learns from the same batch, where
        openai/maddpg draws a batch per agent.
        """
        return cls.from_preset("original", **overrides)
