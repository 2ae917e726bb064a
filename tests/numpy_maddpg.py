"""MADDPG written again in float64 NumPy, for the exact update tests.

Nothing here imports TensorFlow: losses are plain forward passes, gradients
are central finite differences of those losses, and the optimizer step is
Adam written out by hand (PyTorch's formula, which ``TorchAdam`` follows). The learner must agree with it.
"""

from __future__ import annotations

import copy

import numpy as np

TINY = 1e-20


# --- Networks --------------------------------------------------------------------------

def mlp(params, x):
    """params: [W0, b0, W1, b1, ..., Wout, bout] (Keras order); ReLU hidden layers."""
    h = x
    for k in range(0, len(params) - 2, 2):
        h = np.maximum(h @ params[k] + params[k + 1], 0.0)
    return h @ params[-2] + params[-1]


def squash(pre, spec):
    low, high = np.asarray(spec.low), np.asarray(spec.high)
    return low + (np.tanh(pre) + 1.0) * 0.5 * (high - low)


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def gumbel_soft(logits, uniform, temperature):
    g = -np.log(-np.log(uniform + TINY) + TINY)
    return softmax((logits + g) / temperature)


def eps_onehot(scores, explore, random_action, epsilon):
    n, depth = scores.shape
    out = np.eye(depth)[np.argmax(scores, axis=-1)]
    if epsilon > 0:
        rand = np.eye(depth)[random_action]
        out = np.where((explore > epsilon)[:, None], out, rand)
    return out


def masked_mean(x, m):
    return np.sum(x * m) / max(np.sum(m), 1.0)


def q_value(critic, obs, actions, alive):
    joint = np.concatenate([o * m[:, None] for o, m in zip(obs, alive)]
                           + [a * m[:, None] for a, m in zip(actions, alive)], axis=-1)
    return mlp(critic, joint)[:, 0]


# --- Losses ----------------------------------------------------------------------------

def target_actions(nets, batch, noise_i, cfg, specs, smoothing_i=None):
    """Every agent's target action a'_j for agent i's critic loss (MATD3: smoothed).

    Box: the target actor's action. Discrete: the one-hot argmax of its
    logits with epsilon rows, or (target_actions='gumbel') the soft
    Gumbel-softmax sample. MATD3's smoothing (``smoothing_i``, standard
    normal per agent) draws clip(target_noise * normal, +-target_noise_clip):
    a Box agent's action gets it times half the range and is clipped to the
    bounds; a Discrete agent's logits get it before the target action is formed.
    """
    actions = []
    for j, spec in enumerate(specs):
        out = mlp(nets["target_actors"][j], batch.next_obs[j])
        clipped = None
        if smoothing_i is not None:
            clipped = np.clip(cfg.target_noise * smoothing_i[j], -cfg.target_noise_clip,
                              cfg.target_noise_clip)
        if not spec.discrete:
            action = squash(out, spec)
            if clipped is not None:
                low, high = np.asarray(spec.low), np.asarray(spec.high)
                action = np.clip(action + clipped * 0.5 * (high - low), low, high)
        else:
            if clipped is not None:
                out = out + clipped
            if cfg.target_actions == "gumbel":
                action = gumbel_soft(out, noise_i[j].uniform, cfg.gumbel_temperature)
            else:
                action = eps_onehot(out, noise_i[j].explore, noise_i[j].random_action, cfg.epsilon)
        actions.append(action)
    return actions


def critic_loss(i, nets, batch, noise_i, cfg, specs):
    """Agent i's TD loss; nets holds float64 params: actors, critics, target_*."""
    next_alive = [a * (1 - t) for a, t in zip(batch.alive, batch.terminated)]
    next_actions = target_actions(nets, batch, noise_i, cfg, specs)
    q_next = q_value(nets["target_critics"][i], batch.next_obs, next_actions, next_alive)
    y = batch.rewards[i] + cfg.gamma * (1 - batch.terminated[i]) * q_next
    q = q_value(nets["critics"][i], batch.obs, batch.actions, batch.alive)
    return masked_mean((q - y) ** 2, batch.alive[i])


def twin_critic_loss(i, nets, batch, noise_i, smoothing_i, cfg, specs):
    """MATD3: L(Q1_i) + L(Q2_i), both against r + gamma (1 - d) min(Q1', Q2') of smoothed a'."""
    next_alive = [a * (1 - t) for a, t in zip(batch.alive, batch.terminated)]
    next_actions = target_actions(nets, batch, noise_i, cfg, specs, smoothing_i)
    q_next = np.minimum(
        q_value(nets["target_critics"][i], batch.next_obs, next_actions, next_alive),
        q_value(nets["target_critics2"][i], batch.next_obs, next_actions, next_alive))
    y = batch.rewards[i] + cfg.gamma * (1 - batch.terminated[i]) * q_next
    return sum(masked_mean((q_value(nets[kind][i], batch.obs, batch.actions, batch.alive) - y) ** 2,
                           batch.alive[i]) for kind in ("critics", "critics2"))


def actor_loss(i, nets, batch, noise_i, cfg, specs, anchor=None):
    """Agent i's policy loss.

    With own_action='soft' a Discrete agent's own action is the soft
    Gumbel-softmax sample, an ordinary function of its params. With
    'straight_through' the forward value uses the hard one-hot sample, whose
    derivative is zero almost everywhere; the straight-through estimator
    differentiates the soft sample instead. ``anchor`` (actor i's params at
    which the hard sample is taken, default: the current ones) turns that
    into an ordinary function: a_i = soft(params) + (hard - soft)(anchor),
    equal to the hard sample at the anchor, with the soft sample's derivative.
    """
    spec = specs[i]
    raw = mlp(nets["actors"][i], batch.obs[i])
    if spec.discrete and cfg.own_action == "soft":
        own = gumbel_soft(raw, noise_i[i].uniform, cfg.gumbel_temperature)
    elif spec.discrete:
        nz = noise_i[i]
        soft = gumbel_soft(raw, nz.uniform, cfg.gumbel_temperature)
        anchor_raw = raw if anchor is None else mlp(anchor, batch.obs[i])
        anchor_soft = gumbel_soft(anchor_raw, nz.uniform, cfg.gumbel_temperature)
        hard = eps_onehot(anchor_soft, nz.explore, nz.random_action, cfg.epsilon)
        own = soft + (hard - anchor_soft)
    else:
        own = squash(raw, spec)
    actions = []
    for j, spec_j in enumerate(specs):
        if j == i:
            actions.append(own)
        elif cfg.other_actions == "batch":
            actions.append(batch.actions[j])
        else:
            out = mlp(nets["actors"][j], batch.obs[j])
            actions.append(eps_onehot(out, noise_i[j].explore, noise_i[j].random_action,
                                      cfg.epsilon) if spec_j.discrete else squash(out, spec_j))
    q = q_value(nets["critics"][i], batch.obs, actions, batch.alive)
    reg = masked_mean(np.mean(raw ** 2, axis=-1), batch.alive[i])
    return -masked_mean(q, batch.alive[i]) + cfg.logits_l2 * reg


# --- Finite differences, Adam, the whole update ------------------------------------------

def finite_difference_grad(loss_of, params, h=1e-6):
    """Central differences of ``loss_of(params)`` w.r.t. every entry of every array."""
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = loss_of(params)
            p[idx] = old - h
            down = loss_of(params)
            p[idx] = old
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def clip_global_norm(grads, max_norm):
    """One network's gradients scaled together to global norm <= max_norm (None: as they are)."""
    if max_norm is None:
        return grads
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [g * max_norm / max(norm, max_norm) for g in grads]


def clip_per_tensor(grads, max_norm):
    """Each gradient tensor scaled on its own to norm <= max_norm (tf.clip_by_norm)."""
    if max_norm is None:
        return grads
    return [g * max_norm / max(np.sqrt(np.sum(g ** 2)), max_norm) for g in grads]


def clip(grads, cfg):
    """One network's gradients clipped as cfg.grad_clip and cfg.max_grad_norm say."""
    if cfg.grad_clip == "per_tensor":
        return clip_per_tensor(grads, cfg.max_grad_norm)
    return clip_global_norm(grads, cfg.max_grad_norm)


def soft_update(nets, kinds, agents, tau):
    """target_<kind>[i] <- (1 - tau) target + tau <kind>[i], in place, for i in agents."""
    for kind in kinds:
        for i in agents:
            nets["target_" + kind][i] = [t * (1 - tau) + s * tau for t, s in
                                         zip(nets["target_" + kind][i], nets[kind][i])]


def with_net(nets, kind, i, params):
    """A shallow copy of ``nets`` with nets[kind][i] replaced."""
    new = {k: list(v) for k, v in nets.items()}
    new[kind][i] = params
    return new


def full_update(nets, batch, noise, cfg, specs, adam=None):
    """One MADDPG update of every agent (the learner's order) and the soft updates.

    The targets move once at the end (target_update='after_all') or agent
    i's right after its actor step ('per_agent'); agent i + 1's critic loss
    then sees agent i's new target actor. ``adam`` maps (kind, i) to that
    network's Adam state (updated in place; fresh ones when None).
    Returns (new nets, losses dict, dict of the clipped gradients each step used).
    """
    nets = copy.deepcopy(nets)
    adam = {} if adam is None else adam
    n = len(specs)
    losses, grads = {}, {}

    def critic_step(i, current):
        def loss_of(p):
            return critic_loss(i, with_net(current, "critics", i, p), batch, noise.target[i],
                               cfg, specs)
        params = [p.copy() for p in current["critics"][i]]
        return loss_of(params), clip(finite_difference_grad(loss_of, params), cfg)

    def actor_step(i, current):
        anchor = [p.copy() for p in current["actors"][i]]

        def loss_of(p):
            return actor_loss(i, with_net(current, "actors", i, p), batch, noise.actor[i],
                              cfg, specs, anchor=anchor)
        params = [p.copy() for p in current["actors"][i]]
        return loss_of(params), clip(finite_difference_grad(loss_of, params), cfg)

    def apply(kind, i, g, lr):
        nets[kind][i] = adam_step(nets[kind][i], g, adam.setdefault((kind, i), {}), lr,
                                  cfg.adam_epsilon)

    if cfg.update_order == "sequential":
        for i in range(n):
            losses[("critic", i)], grads[("critic", i)] = critic_step(i, nets)
            apply("critics", i, grads[("critic", i)], cfg.critic_lr)
            losses[("actor", i)], grads[("actor", i)] = actor_step(i, nets)
            apply("actors", i, grads[("actor", i)], cfg.actor_lr)
            if cfg.target_update == "per_agent":
                soft_update(nets, ("actors", "critics"), [i], cfg.tau)
    else:
        before = copy.deepcopy(nets)
        for i in range(n):
            losses[("critic", i)], grads[("critic", i)] = critic_step(i, before)
            losses[("actor", i)], grads[("actor", i)] = actor_step(i, before)
        for i in range(n):
            apply("critics", i, grads[("critic", i)], cfg.critic_lr)
            apply("actors", i, grads[("actor", i)], cfg.actor_lr)
    if cfg.target_update == "after_all":
        soft_update(nets, ("actors", "critics"), range(n), cfg.tau)
    return nets, losses, grads


def adam_step(params, grads, state, lr, epsilon, beta_1=0.9, beta_2=0.999):
    """torch.optim.Adam's update at any step; ``state`` ({"t", "m", "v"}) is updated in place."""
    if not state:
        state.update(t=0, m=[np.zeros_like(p) for p in params], v=[np.zeros_like(p) for p in params])
    state["t"] += 1
    t, out = state["t"], []
    for k, (p, g) in enumerate(zip(params, grads)):
        state["m"][k] = beta_1 * state["m"][k] + (1 - beta_1) * g
        state["v"][k] = beta_2 * state["v"][k] + (1 - beta_2) * g ** 2
        denominator = np.sqrt(state["v"][k]) / np.sqrt(1 - beta_2 ** t) + epsilon
        out.append(p - lr / (1 - beta_1 ** t) * state["m"][k] / denominator)
    return out


def matd3_update(nets, batch, noise, cfg, specs, update_actors, adam):
    """One MATD3 update (sequential order): every agent's twin critics, and when
    ``update_actors`` its actor (through Q1) and the targets: agent i's right
    after its actor step (target_update='per_agent') or all at the end.

    ``adam`` maps (kind, i) to that network's Adam state and is updated in place.
    Returns (new nets, losses dict).
    """
    nets = copy.deepcopy(nets)
    losses = {}
    kinds = ("actors", "critics", "critics2")
    for i in range(len(specs)):
        for_critics = {}
        for kind in ("critics", "critics2"):
            def loss_of(p, kind=kind):
                return twin_critic_loss(i, with_net(nets, kind, i, p), batch, noise.target[i],
                                        noise.smoothing[i], cfg, specs)
            losses[("critic", i)] = loss_of([p.copy() for p in nets[kind][i]])
            for_critics[kind] = finite_difference_grad(loss_of, [p.copy() for p in nets[kind][i]])
        for kind, grads in for_critics.items():
            nets[kind][i] = adam_step(nets[kind][i], clip(grads, cfg),
                                      adam.setdefault((kind, i), {}), cfg.critic_lr,
                                      cfg.adam_epsilon)
        if not update_actors:
            continue
        anchor = [p.copy() for p in nets["actors"][i]]

        def actor_of(p):
            return actor_loss(i, with_net(nets, "actors", i, p), batch, noise.actor[i], cfg,
                              specs, anchor=anchor)
        params = [p.copy() for p in nets["actors"][i]]
        losses[("actor", i)] = actor_of(params)
        grads = clip(finite_difference_grad(actor_of, params), cfg)
        nets["actors"][i] = adam_step(nets["actors"][i], grads, adam.setdefault(("actors", i), {}),
                                      cfg.actor_lr, cfg.adam_epsilon)
        if cfg.target_update == "per_agent":
            soft_update(nets, kinds, [i], cfg.tau)
    if update_actors and cfg.target_update == "after_all":
        soft_update(nets, kinds, range(len(specs)), cfg.tau)
    return nets, losses
