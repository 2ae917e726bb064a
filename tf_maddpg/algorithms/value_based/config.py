"""The settings IQL, VDN and QMIX share: Q-networks, targets, exploration and teams.

The defaults are EPyMARL's (Papoudakis et al. 2021, https://arxiv.org/abs/2006.07869,
github.com/uoe-agents/epymarl, ``src/config/default.yaml`` and
``src/config/algs/{iql,vdn,qmix}.yaml``), the standard MPE benchmark of this
family, with its feed-forward agent (``use_rnn: False``: two hidden layers of
64) and its episode batches converted to transitions for this library's
replay of single steps (mpe2 episodes are 25 steps):

* one update per 25-step episode collected on a batch of 32 episodes:
  ``update_interval=25``, ``batch_size=800``; a buffer of 5,000 episodes:
  ``buffer_size=125_000``; the first update once a batch can be drawn;
* Adam (lr 5e-4; IQL 3e-4), gradient norm clipped at 10, reward
  standardisation, double Q-learning, the target networks copied every 200
  updates (EPyMARL: every 200 episodes, one update per episode);
* epsilon-greedy from 1 to 0.05 over 50,000 env steps (IQL: 200,000);
* parameter sharing with an agent-id one-hot in the input (``obs_agent_id``);
* the team reward is the sum of its members' rewards (``reward_scalarisation: sum``);
* 2.05M env steps (82,000 episodes), evaluated every 50,000 steps (2,000
  episodes) on 100 greedy episodes.

What differs from EPyMARL: the discount, 0.9 (JaxMARL's for its IQL, VDN and
QMIX on MPE, ``baselines/QLearning/config/alg/``) in place of 0.99 (below);
the time limit bootstraps (EPyMARL's runners store a transition as terminated
unless the env's info says ``episode_limit``, which its gymma wrapper for MPE
never does, so EPyMARL's targets stop at MPE's 25th step, as JaxMARL's do);
single transitions instead of whole episodes (feed-forward agents need no
history); no last action in the observations (``obs_last_action``); and
TorchAdam's step (PyTorch's Adam formula, as EPyMARL's).

Why gamma 0.9: mpe2's episodes are 25 steps, truncated, never terminated, so
with 0.99 (a 100-step horizon) most of a target is the bootstrapped estimate of
what lies beyond the episode. IQL and VDN learned less with 0.99: three seeds
each at 0.96M env steps (docs/results/family/README.md, "IQL and VDN with
gamma 0.9"), mean return per agent with 0.99 / 0.9, simple_spread IQL -20.2 /
-16.0, VDN -15.5 / -11.0; simple_speaker_listener IQL -15.7 / -13.3, VDN -16.8
/ -13.6; simple_reference the same within the seeds' spread. On simple_tag,
with 0.99, the good agent's TD loss of IQL and VDN ran away after 1M env steps
(to 400 - 100,000 by 2M, in all six runs of docs/results/family) and its return
with it.

QMIX with 0.99 diverged on simple_spread, and its cause was the mixer's input
(``QMIXConfig.state_layer_norm``, ``networks/mixers.py``). Seed 0, the results'
command line with ``--gamma 0.99``: TD loss 0.33 at 40k env steps, 8.5 at 200k,
73 at 400k (about 16,000 at 1.6M in the first run), and the return fell to
random play's (-25.9 per agent at 400k). The hypernetworks read the raw state,
which mpe2 does not bound, and their outputs grow with it, so the mixer's
weights of the Q-values (absolute values: larger in every direction) are
largest at the states farthest out: 1.8 - 2.4 times the mean of the nearer half
of the replay over the first 200k env steps, while the agents' own Q-values
spread over 0.05 between actions and the mixer multiplied them by 20 - 130.
Where the gain is largest the targets' maximisation bias is too, and over a
bootstrapped 100-step horizon it compounded: at 80k env steps QMIX valued the
farthest tenth of the replay's states 5 below the nearer half (their rewards
are 1.2 lower), at 120k 13 above, at 160k 44 above; the greedy policy went
there, the states grew (rms 0.7 -> 1.0) and the gain with them. Not the cause,
each diverging the same way by 200k env steps (TD loss): a per-feature running
standardisation of the state (6.2; it rescales the state but does not bound
it), hypernetworks initialised 1,000 times smaller (JaxMARL's init scale;
11.7), EPyMARL's time limit as a termination (10.4; its targets are then the
same states' with and without the bootstrap), and earlier a lower lr (1e-4), no
reward standardisation and soft targets (tau 0.005).

A LayerNorm of the state before the hypernetworks bounds their input, and with
it the divergence went: the far states stayed below the near ones (by 10 - 28
throughout), the gain at far states 0.74 - 0.88 times that at near ones, and
the TD loss at most 4.1 (3.5 at 2M) over 2M env steps, Q_tot levelling at about
90. But QMIX then learned as IQL and VDN do with 0.99, less than with 0.9:
-15.5 per agent at 400k, -16.3 at 800k, -15.7 at 2M, against -12.7, -11.2 and
-9.7 with 0.9 (seed 0 of docs/results/family); its Q_tot of about 90 is what a
policy scoring about -9.5 would earn (every step at that reward for 100 steps),
the one it acts with scores -16: the maximisation bias of a 100-step horizon,
which faster target updates (every 50 updates: Q_tot 150, -19.2 at 400k) made
worse and the time limit as a termination did not mend (-17.7 at 400k, the TD
loss 11.3). With 0.9 the LayerNorm changed little (seed 0: -13.2 per agent at
400k against -12.7). So gamma stays 0.9 for all three, and QMIX keeps the raw
state by default (``state_layer_norm``; the runs before the field had it).

``agent='gru'`` is EPyMARL's recurrent agent (``use_rnn: True``, ``hidden_dim:
64``) and its replay of whole episodes: the same counts in transitions (800 =
32 episodes, 125,000 = 5,000 episodes), every update on whole episodes unrolled
from zero hidden states (``value_based/recurrent.py``, ``storage/episodes.py``).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Dict, Optional, Sequence, Tuple

from tf_maddpg.algorithms.teams import TEAM_RULES
from tf_maddpg.config import (OffPolicyConfig, check_bool, check_choice, check_float, check_int,
                              documented, is_int, require)

AGENTS = ("mlp", "gru")
"""The kinds of Q-network: feed-forward ('mlp') or recurrent ('gru')."""


@dataclasses.dataclass(frozen=True)
class ValueBasedConfig(OffPolicyConfig):
    """Hyperparameters of the value-based family (IQL, VDN, QMIX) and of its training run.

    Every field is validated in ``__post_init__``; a bad value raises a
    ``ValueError`` that names the field and what it accepts. Subclasses set
    ``algo`` and ``mixer``.
    """

    mixer: ClassVar[str] = "none"
    """How a team's Q-values combine into the one its TD error trains: 'none'
    (IQL: each agent alone, on its own reward), 'sum' (VDN) or 'qmix': a key of
    ``networks/mixers.MIXERS``. Fixed by the algorithm."""
    choices: ClassVar[Dict[str, Tuple[str, ...]]] = {
        **OffPolicyConfig.choices, "teams": TEAM_RULES, "agent": AGENTS}
    """The values each text field takes (the command line's choices)."""

    # --- The run: EPyMARL's budget, one update per episode ---------------------------
    num_episodes: int = documented(82_000, """
        Training episodes (EPyMARL's 2.05M env steps at 25 steps an episode).""")
    eval_interval: int = documented(2_000, """
        Evaluate every this many training episodes (EPyMARL: every 50,000 env steps).""")
    checkpoint_interval: int = documented(2_000, """
        Save a checkpoint every this many episodes (and at the end).""")
    batch_size: int = documented(800, """
        Transitions per update (EPyMARL: 32 episodes of 25 steps).""")
    buffer_size: int = documented(125_000, """
        Replay capacity in transitions (EPyMARL: 5,000 episodes).""")
    minimal_size: int = documented(800, """
        Transitions stored before the first update (EPyMARL: one batch).""")
    update_interval: int = documented(25, """
        Env steps between updates (EPyMARL: one update per episode collected).""")

    # --- Optimisation ----------------------------------------------------------------
    lr: float = documented(5e-4, """
        Adam learning rate of every network the update trains (Q-networks and mixers).
        EPyMARL: 5e-4 for VDN and QMIX, 3e-4 for IQL.""")
    adam_epsilon: float = documented(1e-8, """
        Adam's epsilon (torch.optim.Adam's default, EPyMARL's).""")
    gamma: float = documented(0.9, """
        Discount factor: JaxMARL's for MPE (EPyMARL's 0.99 learned less here; QMIX's
        divergence with it came from its mixer's raw state, ``state_layer_norm``; see
        this module's docstring).""")
    max_grad_norm: Optional[float] = documented(10.0, """
        Clip the gradients of each team's networks (IQL: each network's) to this global
        norm; None turns it off.""")
    standardise_rewards: bool = documented(True, """
        Standardise the rewards of each TD error with running statistics of every reward
        it has trained on: (r - mean) / std (EPyMARL's standardise_rewards).""")

    # --- Targets -------------------------------------------------------------------
    double_q: bool = documented(True, """
        Double Q-learning: the next action is the online network's greedy one, valued by
        the target network (False: the target network's own maximum).""")
    target_update_interval: int = documented(200, """
        Move the target networks (and target mixers) every this many updates.""")
    tau: float = documented(1.0, """
        Every target_update_interval updates, target <- (1 - tau) * target + tau *
        online: 1 copies the networks (EPyMARL's hard update); a soft update is a tau
        below 1 with target_update_interval=1.""")

    # --- Networks ----------------------------------------------------------------------
    agent: str = documented("mlp", """
        The Q-networks: 'mlp' (feed-forward on one observation, hidden_sizes; the replay
        holds single transitions) or 'gru' (EPyMARL's recurrent RNNAgent, use_rnn:
        Dense(rnn_hidden_dim, relu) -> GRU cell -> Dense; the replay holds whole
        episodes, batch_size, buffer_size and minimal_size still counted in transitions,
        so multiples of episode_length: the defaults are 32 and 5,000 episodes of 25
        steps; every update unrolls the networks over the sampled episodes from zero
        hidden states).""")
    rnn_hidden_dim: int = documented(64, """
        agent='gru': the width of the first layer and of the GRU's hidden state
        (EPyMARL's hidden_dim).""")
    hidden_sizes: Tuple[int, ...] = documented((64, 64), """
        Hidden layer widths (ReLU) of every Q-network (agent='mlp').""")
    share_parameters: bool = documented(True, """
        Agents of one team with the same observation and action sizes share one
        Q-network, a one-hot of the agent's place among them appended to its observation
        (EPyMARL's obs_agent_id); False gives every agent its own.""")

    # --- Exploration -------------------------------------------------------------------
    epsilon_start: float = documented(1.0, """
        Epsilon-greedy: the probability of a uniformly random action at the first env
        step.""")
    epsilon_finish: float = documented(0.05, """
        Epsilon after the annealing (and evaluation acts greedily, with none).""")
    epsilon_anneal_steps: int = documented(50_000, """
        Env steps over which epsilon falls linearly from epsilon_start to
        epsilon_finish. Counted by the acting policy over every exploring step, resumed
        runs included.""")

    # --- Teams -------------------------------------------------------------------------
    teams: str = documented("auto", """
        Which agents form a team: 'one' (all), 'by_name' (agents whose names differ only
        by their numbers: adversary_* against agent_*), or 'auto' ('by_name' when some
        agent is an mpe2 adversary, adversary_*, leadadversary_* or eve_*; else 'one').
        VDN and QMIX train one mixer and one TD error per team; with share_parameters
        the agents of one team with the same sizes share a Q-network.""")

    def __post_init__(self):
        if isinstance(self.hidden_sizes, (list, tuple)):
            object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        super().__post_init__()
        check_float(self, "lr", low=0.0, low_open=True)
        check_float(self, "adam_epsilon", low=0.0, low_open=True)
        check_float(self, "gamma", low=0.0, high=1.0)
        if self.max_grad_norm is not None:
            check_float(self, "max_grad_norm", low=0.0, low_open=True,
                        allowed="None or a float > 0")
        check_bool(self, "standardise_rewards")
        check_bool(self, "double_q")
        check_int(self, "target_update_interval", low=1)
        check_float(self, "tau", low=0.0, high=1.0, low_open=True)
        require(self, len(self.hidden_sizes) >= 1
                and all(is_int(h) and h >= 1 for h in self.hidden_sizes),
                "hidden_sizes", "one or more integers >= 1")
        check_bool(self, "share_parameters")
        check_float(self, "epsilon_start", low=0.0, high=1.0)
        check_float(self, "epsilon_finish", low=0.0, high=1.0)
        check_int(self, "epsilon_anneal_steps", low=1)
        check_choice(self, "teams", TEAM_RULES)
        check_choice(self, "agent", AGENTS)
        check_int(self, "rnn_hidden_dim", low=1)
        if self.agent == "gru":
            steps = self.episode_length
            for field in ("batch_size", "buffer_size", "minimal_size"):
                require(self, getattr(self, field) % steps == 0, field,
                        f"a multiple of episode_length ({steps}) with agent='gru', whose "
                        "replay holds whole episodes (batch_size, buffer_size and "
                        "minimal_size count their transitions)")
            require(self, not self.async_update, "async_update",
                    "False with agent='gru' (the recurrent policy acts through the graph "
                    "with the networks' own weights, which a background update would write "
                    "while it reads them)")

    def check_agents(self, specs: Sequence) -> None:
        """Refuses agents with Box actions: Q-learning needs a finite set of actions.

        Raises:
          ValueError: naming the first Box agent and what trains Box actions.
        """
        for spec in specs:
            if not spec.discrete:
                raise ValueError(
                    f"agent {spec.name!r} has a Box action space ({spec.action_dim} "
                    f"dimensions), and {self.algo or 'a value-based algorithm'} learns "
                    "Q-values of Discrete actions only; train Box actions with maddpg or "
                    "matd3 (off-policy) or ippo, mappo or happo (on-policy), or give the "
                    "scenario Discrete actions (mpe2: continuous_actions=False)")
