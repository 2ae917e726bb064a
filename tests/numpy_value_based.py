"""IQL, VDN and QMIX written again in float64 NumPy, for the exact update tests.

Nothing here imports TensorFlow: Q-values and the mixer are plain forward
passes, gradients are central finite differences of the loss (the TD targets
held fixed, as the learner's stop_gradient does), and the optimizer step is
PyTorch's Adam written out (``numpy_maddpg.adam_step``). The structure (which
agents share a network, which form a team) is the learner's own
``groups``/``mixed``/``units``; tests/test_value_based.py checks those apart.

``nets`` is a dict of float64 parameter lists in Keras order:
``q`` and ``target_q`` (one list per group), ``mixers`` and ``target_mixers``
(one dict per team of layer name -> [kernel, bias]), ``actors`` (one per agent).
"""

from __future__ import annotations

import copy

import numpy as np

from numpy_maddpg import adam_step, clip_global_norm, finite_difference_grad, masked_mean, mlp

MIXER_LAYERS = ("hyper_w1_hidden", "hyper_w1", "hyper_b1", "hyper_w2_hidden", "hyper_w2",
                "v_hidden", "v")


def dense(params, x, relu=False):
    y = x @ params[0] + params[1]
    return np.maximum(y, 0.0) if relu else y


def elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def layer_norm(state, epsilon=1e-3):
    """A LayerNorm without scale or shift over each state's features (var divides by S)."""
    mean = state.mean(axis=-1, keepdims=True)
    var = ((state - mean) ** 2).mean(axis=-1, keepdims=True)
    return (state - mean) / np.sqrt(var + epsilon)


def qmix(mixer, q, state, normalise=False):
    """QMIX's mixer: q [B, n], state [B, S] -> [B] (PyMARL's QMixer, two-layer hypernetworks);
    ``normalise``: the hypernetworks read ``layer_norm(state)`` (state_layer_norm)."""
    n = q.shape[1]
    if normalise:
        state = layer_norm(state)
    w1 = np.abs(dense(mixer["hyper_w1"], dense(mixer["hyper_w1_hidden"], state, True)))
    w1 = w1.reshape(len(q), n, -1)  # [B, n, E]
    b1 = dense(mixer["hyper_b1"], state)  # [B, E]
    hidden = elu(np.einsum("bn,bne->be", q, w1) + b1)
    w2 = np.abs(dense(mixer["hyper_w2"], dense(mixer["hyper_w2_hidden"], state, True)))
    v = dense(mixer["v"], dense(mixer["v_hidden"], state, True))[:, 0]
    return np.sum(hidden * w2, axis=-1) + v


def q_values(networks, groups, obs):
    """Every agent's Q-values: a shared network sees the observation and a one-hot id."""
    out = [None] * sum(len(g) for g in groups)
    for params, members in zip(networks, groups):
        for m, i in enumerate(members):
            x = obs[i]
            if len(members) > 1:
                x = np.concatenate([x, np.tile(np.eye(len(members))[m], (len(x), 1))], axis=-1)
            out[i] = mlp(params, x)
    return out


class FeedForward:
    """The Q-values of the feed-forward agents; numpy_recurrent.Recurrent is the GRU's."""

    @staticmethod
    def current(networks, groups, batch):
        return q_values(networks, groups, batch.obs)

    @staticmethod
    def next(networks, groups, batch):
        return q_values(networks, groups, batch.next_obs)


def mix(cfg, nets, kind, k, q, state):
    if cfg.mixer == "qmix":
        return qmix(nets[kind][k], q, state, cfg.state_layer_norm)
    return q.sum(axis=-1)


def team_rewards(batch, mixed, cfg):
    rewards = []
    for members in mixed:
        total = sum(batch.rewards[i] for i in members)
        if getattr(cfg, "team_reward", "sum") == "mean":
            total = total / len(members)
        rewards.append(total)
    return rewards


def mixed_alive(batch, mixed):
    return [np.max([batch.alive[i] for i in members], axis=0) for members in mixed]


class RunningMeanStd:
    """EPyMARL's RunningMeanStd (src/components/standarize_stream.py) transcribed from torch
    to float64 NumPy, line for line: ``torch.var`` is ``np.var(ddof=1)``."""

    def __init__(self, epsilon=1e-4):
        self.mean, self.var, self.count = 0.0, 1.0, epsilon

    def update(self, arr):
        arr = np.asarray(arr, np.float64).reshape(-1)
        self.update_from_moments(arr.mean(), arr.var(ddof=1), arr.shape[0])

    def update_from_moments(self, batch_mean, batch_var, batch_count):
        delta = batch_mean - self.mean
        tot_count = self.count + batch_count
        new_mean = self.mean + delta * batch_count / tot_count
        m_a = self.var * self.count
        m_b = batch_var * batch_count
        m_2 = m_a + m_b + np.square(delta) * self.count * batch_count / (self.count + batch_count)
        self.mean, self.var, self.count = new_mean, m_2 / (self.count + batch_count), tot_count


def standardise(rewards, alive, stats):
    """Updates ``stats`` (mean, var, count per TD error; in place) and standardises:
    EPyMARL's RunningMeanStd, whose batch variance is torch.var's (unbiased, n - 1),
    over the transitions where the TD error is alive."""
    out = []
    for k, (r, m) in enumerate(zip(rewards, alive)):
        count = m.sum()
        batch_mean = (r * m).sum() / max(count, 1.0)
        batch_var = (m * (r - batch_mean) ** 2).sum() / max(count - 1.0, 1.0)
        mean, var, old = stats["mean"][k], stats["var"][k], stats["count"][k]
        total = old + count
        delta = batch_mean - mean
        stats["mean"][k] = mean + delta * count / total
        stats["var"][k] = (var * old + batch_var * count + delta ** 2 * old * count / total) / total
        stats["count"][k] = total
        out.append((r - stats["mean"][k]) / np.sqrt(stats["var"][k] + 1e-8))
    return out


def td_targets(nets, batch, rewards, cfg, groups, mixed, agent=FeedForward):
    """y_k = R_k + gamma * (some agent of k goes on) * Q'_tot(s', double-Q next actions)."""
    next_target = agent.next(nets["target_q"], groups, batch)
    next_online = agent.next(nets["q"], groups, batch) if cfg.double_q else next_target
    goes_on = [a * (1 - t) for a, t in zip(batch.alive, batch.terminated)]
    values = [next_target[i][np.arange(len(goes_on[i])), np.argmax(next_online[i], axis=-1)]
              * goes_on[i] for i in range(len(goes_on))]
    next_state = np.concatenate(batch.next_obs, axis=-1)
    targets = []
    for k, members in enumerate(mixed):
        q_next = mix(cfg, nets, "target_mixers", k, np.stack([values[i] for i in members], -1),
                     next_state)
        bootstrap = np.max([goes_on[i] for i in members], axis=0)
        targets.append(rewards[k] + cfg.gamma * bootstrap * q_next)
    return targets


def td_losses(nets, batch, targets, cfg, groups, mixed, agent=FeedForward):
    q = agent.current(nets["q"], groups, batch)
    chosen = [np.sum(q[i] * batch.actions[i], axis=-1) * batch.alive[i] for i in range(len(q))]
    state = np.concatenate(batch.obs, axis=-1)
    losses = []
    for k, (members, alive) in enumerate(zip(mixed, mixed_alive(batch, mixed))):
        q_tot = mix(cfg, nets, "mixers", k, np.stack([chosen[i] for i in members], -1), state)
        losses.append(masked_mean((q_tot - targets[k]) ** 2, alive))
    return losses


def unit_params(nets, unit, cfg):
    """The parameters one optimizer steps, flat: its networks', then its mixers' (Keras order)."""
    params = [p for g in unit.groups for p in nets["q"][g]]
    if cfg.mixer == "qmix":
        params += [p for k in unit.mixed for layer in MIXER_LAYERS for p in nets["mixers"][k][layer]]
    return params


def with_unit_params(nets, unit, cfg, params):
    """A copy of ``nets`` with a unit's parameters replaced by ``params`` (unit_params's order)."""
    new = {"q": list(nets["q"]), "target_q": nets["target_q"],
           "mixers": [dict(m) for m in nets["mixers"]], "target_mixers": nets["target_mixers"]}
    start = 0
    for g in unit.groups:
        size = len(nets["q"][g])
        new["q"][g] = params[start: start + size]
        start += size
    if cfg.mixer == "qmix":
        for k in unit.mixed:
            for layer in MIXER_LAYERS:
                new["mixers"][k][layer] = params[start: start + 2]
                start += 2
    return new


def full_update(nets, batch, cfg, learner, stats, step=1, agent=FeedForward):
    """One update: targets, losses, finite-difference gradients clipped per unit, one Adam
    step per unit, the target update when ``step`` is a multiple of
    target_update_interval, and the actors of shared networks folded.

    Returns (new nets, losses per TD error, clipped gradients per unit).
    """
    nets = copy.deepcopy(nets)
    groups, mixed = learner.groups, learner.mixed
    rewards = team_rewards(batch, mixed, cfg)
    if cfg.standardise_rewards:
        rewards = standardise(rewards, mixed_alive(batch, mixed), stats)
    targets = td_targets(nets, batch, rewards, cfg, groups, mixed, agent)
    losses = td_losses(nets, batch, targets, cfg, groups, mixed, agent)
    grads = []
    for unit in learner.units:
        def loss_of(params, unit=unit):
            current = with_unit_params(nets, unit, cfg, params)
            return np.mean([td_losses(current, batch, targets, cfg, groups, mixed, agent)[k]
                            for k in unit.mixed])
        params = [p.copy() for p in unit_params(nets, unit, cfg)]
        grads.append(clip_global_norm(finite_difference_grad(loss_of, params), cfg.max_grad_norm))
    for unit, g in zip(learner.units, grads):
        stepped = adam_step(unit_params(nets, unit, cfg), g, {}, cfg.lr, cfg.adam_epsilon)
        nets = with_unit_params(nets, unit, cfg, stepped)
    if step % cfg.target_update_interval == 0:
        tau = cfg.tau
        nets["target_q"] = [[(1 - tau) * t + tau * s for t, s in zip(target, online)]
                            for target, online in zip(nets["target_q"], nets["q"])]
        nets["target_mixers"] = [{layer: [(1 - tau) * t + tau * s
                                          for t, s in zip(target[layer], online[layer])]
                                  for layer in MIXER_LAYERS}
                                 for target, online in zip(nets["target_mixers"], nets["mixers"])]
    nets["actors"] = actors_of(nets["q"], groups, [len(o[0]) for o in batch.obs])
    return nets, losses, grads


def actors_of(networks, groups, obs_dims):
    """Each agent's actor: its group's network, the id column folded into the first bias."""
    actors = [None] * len(obs_dims)
    for params, members in zip(networks, groups):
        for m, i in enumerate(members):
            if len(members) == 1:
                actors[i] = params
            else:
                kernel, bias, *rest = params
                actors[i] = [kernel[:obs_dims[i]], bias + kernel[obs_dims[i] + m], *rest]
    return actors
