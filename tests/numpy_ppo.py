"""The PPO family's losses in float64 NumPy, written from the formulas (FAMILY.md), for
the exact tests: forward passes read the Keras models' layers with the weights
given in a dict (so that finite differences can move any one of them)."""

import math

import keras
import numpy as np

from tf_maddpg.networks.stochastic import AppendAgentId, GaussianHead

LOG_2PI = math.log(2 * math.pi)


def weights_of(models):
    """{variable path: float64 copy} of every trainable variable of ``models``."""
    out = {}
    for m in models:
        for v in m.trainable_variables:
            out[v.path] = np.array(v.numpy(), np.float64)
    return out


def forward(model, x, params):
    """A stochastic actor's unclipped output (logits or mean) or a critic's value."""
    x = np.asarray(x, np.float64)
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer | keras.layers.Identity):
            continue
        if isinstance(layer, AppendAgentId):
            one_hot = np.eye(layer.count)[layer.index]
            x = np.concatenate([x, np.tile(one_hot, (len(x), 1))], axis=1)
        elif isinstance(layer, keras.layers.LayerNormalization):
            mean = x.mean(axis=1, keepdims=True)
            var = x.var(axis=1, keepdims=True)
            x = (x - mean) / np.sqrt(var + layer.epsilon)
            x = x * params[layer.gamma.path] + params[layer.beta.path]
        elif isinstance(layer, keras.layers.Dense):
            x = x @ params[layer.kernel.path] + params[layer.bias.path]
            if layer.activation is keras.activations.relu:
                x = np.maximum(x, 0.0)
        elif isinstance(layer, GaussianHead):
            return x
        else:
            raise AssertionError(f"no NumPy forward for {layer}")
    return x


def log_std_of(actor, params):
    return params[actor.get_layer("gaussian").log_std.path]


def log_prob_entropy(spec, actor, obs, action, params):
    out = forward(actor, obs, params)
    if spec.discrete:
        shifted = out - out.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return (action * log_p).sum(axis=1), -(np.exp(log_p) * log_p).sum(axis=1)
    log_std = log_std_of(actor, params)
    z = (action - out) / np.exp(log_std)
    log_prob = (-0.5 * z ** 2 - log_std - 0.5 * LOG_2PI).sum(axis=1)
    return log_prob, np.full(len(out), (0.5 + 0.5 * LOG_2PI + log_std).sum())


def huber(error, delta):
    if delta is None:
        return 0.5 * error ** 2
    a = np.abs(error)
    return np.where(a <= delta, 0.5 * error ** 2, delta * (a - 0.5 * delta))


def split(packed, sizes):
    return np.split(np.asarray(packed, np.float64), np.cumsum(sizes)[:-1], axis=1)


def group_losses(learner, batch, params):
    """({actor group: actor loss}, {critic group: critic loss}) of ``learner``'s networks,
    float64; ``batch.returns`` in the critics' (normalised) units."""
    config, specs = learner.config, learner.specs
    obs = split(batch.obs, [s.obs_dim for s in specs])
    actions = split(batch.actions, [s.action_dim for s in specs])
    b = {k: np.asarray(getattr(batch, k), np.float64) for k in batch._fields}
    actor_losses, critic_losses = {}, {}
    for g, group in enumerate(learner.groups):
        policy = entropy = rows = 0.0
        for i in group.members:
            log_prob, ent = log_prob_entropy(specs[i], learner.actors[i], obs[i], actions[i],
                                             params)
            mask = b["mask"][:, i]
            ratio = np.exp(log_prob - b["old_log_probs"][:, i])
            adv = b["advantages"][:, i]
            eps = config.clip_ratio
            surr = np.minimum(ratio * adv, np.clip(ratio, 1 - eps, 1 + eps) * adv)
            policy += -(surr * b["factor"][:, i] * mask).sum()
            entropy += (ent * mask).sum()
            rows += mask.sum()
        actor_losses[g] = (policy - config.entropy_coef * entropy) / max(rows, 1.0)
    for c, group in enumerate(learner.critic_groups):
        value = rows = 0.0
        for i in group.members:
            mask = b["mask"][:, i]
            critic_in = b["obs"] if type(config).critic_input == "state" else obs[i]
            v = forward(learner.critics[i], critic_in, params)[:, 0]
            loss = huber(b["returns"][:, i] - v, config.huber_delta)
            if config.value_clip is not None:
                old = b["old_values"][:, i]
                clipped = old + np.clip(v - old, -config.value_clip, config.value_clip)
                loss = np.maximum(loss, huber(b["returns"][:, i] - clipped, config.huber_delta))
            value += (loss * mask).sum()
            rows += mask.sum()
        critic_losses[c] = config.value_coef * value / max(rows, 1.0)
    return actor_losses, critic_losses


class ValueNorm:
    """The MAPPO repository's ValueNorm (utils/valuenorm.py) in float64 NumPy: debiased
    exponential averages of the targets' mean and square, beta 0.99999, epsilon 1e-5,
    the variance floored at 1e-2."""

    def __init__(self, beta=0.99999):
        self.beta, self.mean, self.mean_sq, self.debias = beta, 0.0, 0.0, 0.0

    def update(self, targets):
        b = self.beta
        self.mean = self.mean * b + np.mean(targets) * (1 - b)
        self.mean_sq = self.mean_sq * b + np.mean(np.square(targets)) * (1 - b)
        self.debias = self.debias * b + (1 - b)

    def stats(self):
        debias = max(self.debias, 1e-5)
        mean = self.mean / debias
        return mean, math.sqrt(max(self.mean_sq / debias - mean ** 2, 1e-2))

    def normalize(self, x):
        mean, std = self.stats()
        return (np.asarray(x, np.float64) - mean) / std


def team_sums(rewards, alive, teams, mean=False):
    """Every member's reward replaced by its team's sum (or mean) over the alive members."""
    out = np.zeros_like(np.asarray(rewards, np.float64))
    for team in teams:
        for i in team:
            count = np.zeros(out.shape[:-1])
            for j in team:
                out[..., i] += np.where(alive[..., j], rewards[..., j], 0.0)
                count += alive[..., j]
            if mean:
                out[..., i] /= np.maximum(count, 1)
    return out


def finite_difference(loss, params, paths, h=1e-6):
    """{path: d loss / d params[path]} by central differences (float64)."""
    grads = {}
    for path in paths:
        g = np.zeros_like(params[path])
        for index in np.ndindex(g.shape):
            old = params[path][index]
            params[path][index] = old + h
            up = loss(params)
            params[path][index] = old - h
            down = loss(params)
            params[path][index] = old
            g[index] = (up - down) / (2 * h)
        grads[path] = g
    return grads


def adam_first_step(params, grads, lr, eps, max_norm):
    """New weights after one first Adam step (PyTorch's epsilon) of clipped gradients."""
    norm = math.sqrt(sum((g ** 2).sum() for g in grads.values()))
    scale = min(1.0, max_norm / norm) if max_norm is not None and norm > 0 else 1.0
    # Step 1: m = (1 - b1) g, v = (1 - b2) g^2; w -= lr / (1 - b1) * m / (sqrt(v / (1 - b2)) + eps)
    return {p: params[p] - lr * scale * g / (np.abs(scale * g) + eps) for p, g in grads.items()}


def gae_by_sums(rewards, values, next_values, terminated, truncated, alive, gamma, lam):
    """GAE from its definition: A_t = sum_l (gamma lam)^l delta_{t+l} over the rest of the
    agent's episode inside the rollout (float64 loops, no recursion)."""
    T, E, N = rewards.shape
    adv = np.zeros((T, E, N))
    for e in range(E):
        for i in range(N):
            for t in range(T):
                if not alive[t, e, i]:
                    continue
                total, l = 0.0, 0
                while True:
                    u = t + l
                    boot = 0.0 if terminated[u, e, i] else next_values[u, e, i]
                    delta = rewards[u, e, i] + gamma * boot - values[u, e, i]
                    total += (gamma * lam) ** l * delta
                    ended = (terminated[u, e, i] or truncated[u, e, i] or u + 1 == T
                             or not alive[u + 1, e, i])
                    if ended:
                        break
                    l += 1
                adv[t, e, i] = total
    return adv, np.where(alive, adv + values, 0.0)
