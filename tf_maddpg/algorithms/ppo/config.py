"""The settings every PPO-family algorithm (IPPO, MAPPO, HAPPO) shares.

The defaults are the MAPPO repository's MPE settings (marlbenchmark/on-policy,
``scripts/train_mpe_scripts/train_mpe_spread.sh``, ``config.py``, the MLP
policy ``algorithms/utils/mlp.py`` and ``utils/valuenorm.py``): 128 rollout
threads of 25-step episodes, 10 PPO epochs, one minibatch, learning rate 7e-4
for actor and critic, Adam epsilon 1e-5, clip 0.2, GAE lambda 0.95, gamma
0.99, entropy 0.01, Huber value loss with delta 10 and value clipping, value
normalisation updated at every minibatch step, gradient norm 10, hidden layers
of 64 with a LayerNorm on the input and after every hidden layer, orthogonal
initialisation, and every agent of a cooperative world trained on the team's
summed reward (the repository's MPE gives each agent the sum).

What differs from that repository, on purpose: a feed-forward policy (its
spread script runs the recurrent rMAPPO; the MAPPO paper reports both), ReLU
(the script passes ``--use_ReLU``, which turns it off: Tanh), episodes
bootstrapped at the 25-step truncation (the repository does not), and mpe2's
scenarios (no self-collision, landmarks not scaled by 0.8; see FAMILY.md).

Presets (``--preset``, ``from_preset``): ``harl`` on MAPPO and HAPPO is HARL's
tuned MPE configuration (PKU-MARL/HARL, ``tuned_configs/pettingzoo_mpe/``): lr
5e-4, 5 epochs, hidden layers of 128, 20 threads x 200 steps (160 episodes of
25 steps) per update (MAPPO: one V(s) critic). On mpe2 it learns slower than
these defaults (simple_spread, 2M env steps: MAPPO -14.1 with the defaults; HARL's
MAPPO settings -17.0 at 2.6M); on mpe2's scenarios with the original MPE's order
of integration, where HARL's curves were made, HARL's HAPPO settings run ahead of
HARL's own curve (``tf_maddpg/algorithms/happo/config.py``).

A rollout is one lockstep round of the loop: ``num_envs`` episodes of
``episode_length`` steps, so the MAPPO repository's 128 threads x 25 steps is
``num_envs=128`` with mpe2's 25-step episodes.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Dict, Optional, Tuple

from tf_maddpg.algorithms.teams import TEAM_REWARDS, TEAM_RULES
from tf_maddpg.config import (RunConfig, check_bool, check_choice, check_float, check_int,
                              documented, is_int, require)

LEARNING_REWARDS = TEAM_REWARDS + ("own",)
"""What each agent learns from: its team's reward ('sum' or 'mean' of the
members') or its 'own'."""

VALUE_NORM_UPDATES = ("minibatch", "rollout")
"""When the value normaliser's statistics move: at every minibatch step (the
MAPPO repository and HARL) or once per rollout (this library before 2026-12)."""


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
    choices: ClassVar[Dict[str, Tuple[str, ...]]] = {
        **RunConfig.choices, "teams": TEAM_RULES, "team_reward": LEARNING_REWARDS,
        "value_norm_update": VALUE_NORM_UPDATES}
    """The values each text field takes (the command line's choices)."""
    saved_defaults: ClassVar[Dict[str, object]] = {
        "hidden_norm": False, "team_reward": "own", "value_norm_update": "rollout",
        "jit_compile": False}
    """What runs saved before these fields existed were trained with."""

    # --- The run: the MAPPO repository's rollout ------------------------------------
    num_episodes: int = documented(80_000, """
        Training episodes (80,000 x 25 steps = 2M env steps).""")
    num_envs: int = documented(128, """
        Environments per rollout: each update learns from one episode of each (the MAPPO
        repository's n_rollout_threads).""")
    eval_interval: int = documented(3_200, """
        Evaluate every this many training episodes (25 updates with 128 envs, 80,000 env
        steps: 25 evaluations in the 80,000 episodes, the last at the last episode).""")
    checkpoint_interval: int = documented(16_000, """
        Save a checkpoint every this many episodes (and at the end).""")

    # --- Optimisation -------------------------------------------------------------
    actor_lr: float = documented(7e-4, "Adam learning rate of every actor.")
    critic_lr: float = documented(7e-4, "Adam learning rate of every critic.")
    adam_epsilon: float = documented(1e-5, """
        Adam's epsilon (PyTorch's placement, as the MAPPO repository's
        torch.optim.Adam).""")
    gamma: float = documented(0.99, "Discount factor.")
    gae_lambda: float = documented(0.95, """
        GAE's lambda (1 gives Monte Carlo returns bootstrapped at truncation).""")
    epochs: int = documented(10, "Passes over each rollout (PPO epochs).")
    num_minibatches: int = documented(1, """
        Minibatches per epoch: the rollout's steps are shuffled and split in this many
        parts, one gradient step each.""")
    clip_ratio: float = documented(0.2, """
        PPO's epsilon: the probability ratio is clipped to [1 - eps, 1 + eps].""")
    value_clip: Optional[float] = documented(0.2, """
        Clip the new value to this distance from the rollout's value and take the larger
        (pessimistic) of the clipped and unclipped losses, as the MAPPO paper and code
        do; None turns value clipping off.""")
    huber_delta: Optional[float] = documented(10.0, """
        The value loss is the Huber loss with this delta; None: the squared error / 2.""")
    entropy_coef: float = documented(0.01, """
        Weight of the policy entropy bonus in the actor loss.""")
    value_coef: float = documented(1.0, "Weight of the value loss in the critic loss.")
    max_grad_norm: Optional[float] = documented(10.0, """
        Clip each network's gradients to this global norm; None turns it off.""")
    value_norm: bool = documented(True, """
        Normalise value targets with running statistics (the MAPPO repository's
        ValueNorm: debiased moving averages with beta 0.99999); the critic learns the
        normalised value and GAE uses the de-normalised one.""")
    value_norm_update: str = documented("minibatch", """
        When the normaliser's statistics move: 'minibatch' (before every gradient step,
        with its value targets: the MAPPO repository and HARL) or 'rollout' (once per
        update, with all of the rollout's targets).""")
    advantage_norm: bool = documented(True, """
        Standardise the advantages of each actor network over its rollout.""")

    # --- Networks -----------------------------------------------------------------
    hidden_sizes: Tuple[int, ...] = documented((64, 64), """
        Hidden layer widths (ReLU) of every actor and critic.""")
    input_norm: bool = documented(True, """
        A LayerNorm on every network's input (the MAPPO repository's
        use_feature_normalization).""")
    hidden_norm: bool = documented(True, """
        A LayerNorm after every hidden layer (the MAPPO repository's and HARL's MLP:
        Linear, ReLU, LayerNorm).""")
    share_parameters: bool = documented(True, """
        Agents with the same observation and action spaces share one actor and one
        critic, with a one-hot of the agent's index among them appended to their inputs
        (the MAPPO repository's share_policy).""")

    # --- Rewards and critics ------------------------------------------------------
    team_reward: str = documented("sum", """
        What every agent learns from: its team's reward, the 'sum' of the members'
        rewards (the MAPPO repository's and HARL's MPE give every agent the sum of all
        agents' rewards) or their 'mean', or its 'own' reward. Evaluation returns are
        each agent's own either way.""")
    teams: str = documented("auto", """
        Which agents form a team: 'one' (all), 'by_name' (agents whose names differ only
        by their numbers: adversary_* against agent_*), or 'auto' ('by_name' when some
        agent is an mpe2 adversary, else 'one').""")
    team_critic: bool = documented(False, """
        One value critic per team, of the global state, without agent ids (HARL's V(s)):
        every member's advantage is the team's. Needs a team reward and a critic of the
        state. False: a critic per agent (shared within a parameter group, with agent
        ids), the MAPPO repository's.""")
    init_std: float = documented(0.5, """
        Box actions: the Gaussian's initial std, as a fraction of half the width of the
        action space (the log-std is learned, one per action dimension and actor).
        Actions are sampled unbounded and clipped to the bounds when they enter the
        environment; the log-probability is that of the unclipped sample.""")
    jit_compile: bool = documented(True, """
        Compile each update (every epoch and minibatch, one call) with XLA when a round
        has 1,024 rows or more (num_envs x episode_length; smaller updates do not earn
        back the seconds of the compile): about twice as fast on the 2-core CPU of
        docs/benchmarks.md, the same losses to float32 rounding. False: TensorFlow's
        graph without XLA.""")

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
        for name in ("value_norm", "advantage_norm", "input_norm", "hidden_norm",
                     "share_parameters", "team_critic", "jit_compile"):
            check_bool(self, name)
        check_choice(self, "teams", TEAM_RULES)
        check_choice(self, "team_reward", LEARNING_REWARDS)
        check_choice(self, "value_norm_update", VALUE_NORM_UPDATES)
        if self.team_critic:
            require(self, type(self).critic_input == "state", "team_critic",
                    f"False for {self.algo} (its critics see each agent's own observation)")
            require(self, self.team_reward != "own", "team_reward",
                    "'sum' or 'mean' with team_critic=True (a team's critic learns the team's "
                    "reward; team_critic=False gives each agent a critic of its own)")
