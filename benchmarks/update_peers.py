"""One PPO update of the matched settings: tf_maddpg's against the same update in JAX.

benchmarks/peers.py times whole training runs. This script times the piece
that decides them, one round's update at peers.py's matched settings: 10
epochs x 1 minibatch of 9,600 rows (3 agents x 128 environments x 25 steps of
simple_spread), a shared actor and critic of 64 x 64 with tanh, JaxMARL's
loss (clipped ratio, clipped value, entropy 0.01, gradient norm 0.5, Adam).
Three programs, each in a fresh process with 2 threads, taking turns:

- ``tf_maddpg``: ``PPOLearner.train`` (the one compiled call of every epoch,
  XLA) of an IPPO learner with peers.py's matched options, on the rows of a
  real round (a short ``tf_maddpg.train`` run captures them);
- ``TensorFlow, bare``: the same update written directly in TensorFlow (one
  ``tf.function`` with XLA, a ``tf.while_loop`` over the epochs), no library;
- ``JAX``: the same update written as JaxMARL's ``_update_epoch`` is (jit,
  ``lax.scan`` over the epochs, a permutation of the rows per epoch), run by
  ``--jax-python`` (a Python with jax and optax, e.g. JaxMARL's).

Each prints milliseconds per update (median of ``--calls`` calls after one
warm-up call that compiles). The table gives the median over ``--repeats``
processes and the ratio to JAX's, measured in the same run::

    python benchmarks/update_peers.py --jax-python ~/jaxvenv/bin/python --repeats 3

Without a Python that imports jax and optax the JAX row is skipped with one line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

import _common

ROWS, OBS, ACTIONS, HIDDEN, EPOCHS = 9_600, 18, 5, 64, 10
"""One round at peers.py's matched settings on simple_spread: rows, sizes, epochs."""

JAX_PROGRAM = r"""
import sys, time
import numpy as np, jax, jax.numpy as jnp, optax
rows, obs_dim, actions, hidden, epochs, calls = map(int, sys.argv[1:7])
rng = np.random.default_rng(0)
def dense(i, o):
    return {"w": jnp.asarray((rng.normal(size=(i, o)) / np.sqrt(i)).astype(np.float32)),
            "b": jnp.zeros(o, jnp.float32)}
params = {"actor": [dense(obs_dim, hidden), dense(hidden, hidden), dense(hidden, actions)],
          "critic": [dense(obs_dim, hidden), dense(hidden, hidden), dense(hidden, 1)]}
def mlp(layers, x):
    for layer in layers[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ layers[-1]["w"] + layers[-1]["b"]
data = {"obs": jnp.asarray(rng.normal(size=(rows, obs_dim)).astype(np.float32)),
        "action": jnp.asarray(rng.integers(0, actions, rows)),
        "log_prob": jnp.asarray(np.full(rows, -np.log(actions), np.float32)),
        "value": jnp.asarray(rng.normal(size=rows).astype(np.float32)),
        "gae": jnp.asarray(rng.normal(size=rows).astype(np.float32)),
        "target": jnp.asarray(rng.normal(size=rows).astype(np.float32))}
tx = optax.chain(optax.clip_by_global_norm(0.5), optax.adam(5e-4, eps=1e-5))
def loss_fn(params, b):  # JaxMARL's ippo_ff_mpe.py _loss_fn
    logits = mlp(params["actor"], b["obs"])
    value = mlp(params["critic"], b["obs"])[:, 0]
    log_p = jax.nn.log_softmax(logits)
    log_prob = jnp.take_along_axis(log_p, b["action"][:, None], 1)[:, 0]
    clipped = b["value"] + (value - b["value"]).clip(-0.2, 0.2)
    value_loss = 0.5 * jnp.maximum((value - b["target"]) ** 2,
                                   (clipped - b["target"]) ** 2).mean()
    ratio = jnp.exp(log_prob - b["log_prob"])
    gae = (b["gae"] - b["gae"].mean()) / (b["gae"].std() + 1e-8)
    actor_loss = -jnp.minimum(ratio * gae, ratio.clip(0.8, 1.2) * gae).mean()
    entropy = -(jnp.exp(log_p) * log_p).sum(-1).mean()
    return actor_loss + 0.5 * value_loss - 0.01 * entropy
@jax.jit
def update(params, opt_state, key):
    def epoch(carry, key):  # JaxMARL's _update_epoch with one minibatch
        params, opt_state = carry
        order = jax.random.permutation(key, rows)
        batch = jax.tree_util.tree_map(lambda x: jnp.take(x, order, axis=0), data)
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss
    (params, opt_state), losses = jax.lax.scan(epoch, (params, opt_state),
                                               jax.random.split(key, epochs))
    return params, opt_state, losses.sum()
opt_state, key = tx.init(params), jax.random.PRNGKey(0)
params, opt_state, loss = update(params, opt_state, key)
loss.block_until_ready()
times = []
for _ in range(calls):
    key, sub = jax.random.split(key)
    start = time.perf_counter()
    params, opt_state, loss = update(params, opt_state, sub)
    loss.block_until_ready()
    times.append(time.perf_counter() - start)
print("MS", 1e3 * float(np.median(times)))
"""


def ours(calls: int) -> float:
    """Milliseconds per ``PPOLearner.train`` call on a real round's rows."""
    from peers import ENVS, MATCHED, STEPS

    from tf_maddpg import train
    from tf_maddpg.algorithms.ppo.learner import PPOLearner
    from tf_maddpg.cli.parser import build_parser
    from tf_maddpg.cli.configs import config_from, config_options

    argv = ["train", "simple_spread_v3", "--algo", "ippo"] + MATCHED
    args = build_parser(argv).parse_args(argv)
    config = config_from(None, config_options(args), "ippo", None)
    captured = []
    original = PPOLearner.train

    def capture(self, rows):
        captured.append((self, rows))
        return original(self, rows)

    PPOLearner.train = capture
    train(config.replace(num_episodes=2 * ENVS, eval_interval=10**6), "simple_spread_v3",
          verbose=False)
    PPOLearner.train = original
    learner, rows = captured[-1]
    assert len(rows["mask"]) * len(learner.specs) == ROWS == ENVS * STEPS * 3
    times = _common.time_repeats(lambda: learner.train(rows), calls, warmup=1)
    return 1e3 * statistics.median(times)


def bare(calls: int) -> float:
    """Milliseconds per call of the same update written directly in TensorFlow."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)

    def dense(i, o):
        return [tf.Variable((rng.normal(size=(i, o)) / np.sqrt(i)).astype(np.float32)),
                tf.Variable(np.zeros(o, np.float32))]

    actor = [dense(OBS, HIDDEN), dense(HIDDEN, HIDDEN), dense(HIDDEN, ACTIONS)]
    critic = [dense(OBS, HIDDEN), dense(HIDDEN, HIDDEN), dense(HIDDEN, 1)]
    variables = [v for layer in actor + critic for v in layer]
    optimizer = tf.keras.optimizers.Adam(5e-4, epsilon=1e-5)
    optimizer.build(variables)
    data = dict(obs=rng.normal(size=(ROWS, OBS)), action=rng.integers(0, ACTIONS, ROWS),
                log_prob=np.full(ROWS, -np.log(ACTIONS)), value=rng.normal(size=ROWS),
                gae=rng.normal(size=ROWS), target=rng.normal(size=ROWS))
    data = {k: tf.constant(v, tf.int32 if k == "action" else tf.float32) for k, v in data.items()}

    def mlp(layers, x):
        for w, b in layers[:-1]:
            x = tf.tanh(x @ w + b)
        return x @ layers[-1][0] + layers[-1][1]

    def step(order):
        b = {k: tf.gather(v, order) for k, v in data.items()}
        with tf.GradientTape() as tape:
            log_p = tf.nn.log_softmax(mlp(actor, b["obs"]))
            value = mlp(critic, b["obs"])[:, 0]
            log_prob = tf.gather(log_p, b["action"], batch_dims=1)
            clipped = b["value"] + tf.clip_by_value(value - b["value"], -0.2, 0.2)
            value_loss = 0.5 * tf.reduce_mean(tf.maximum((value - b["target"]) ** 2,
                                                         (clipped - b["target"]) ** 2))
            ratio = tf.exp(log_prob - b["log_prob"])
            gae = (b["gae"] - tf.reduce_mean(b["gae"])) / (tf.math.reduce_std(b["gae"]) + 1e-8)
            actor_loss = -tf.reduce_mean(tf.minimum(ratio * gae,
                                                    tf.clip_by_value(ratio, 0.8, 1.2) * gae))
            entropy = -tf.reduce_mean(tf.reduce_sum(tf.exp(log_p) * log_p, -1))
            loss = actor_loss + 0.5 * value_loss - 0.01 * entropy
        grads, _ = tf.clip_by_global_norm(tape.gradient(loss, variables), 0.5)
        optimizer.apply(grads, variables)
        return loss

    @tf.function(jit_compile=True, autograph=False)
    def update(orders):
        def body(e, total):
            return e + 1, total + step(orders[e])
        return tf.while_loop(lambda e, _: e < EPOCHS, body, (0, 0.0))[1]

    def call():
        orders = np.stack([rng.permutation(ROWS) for _ in range(EPOCHS)]).astype(np.int32)
        return float(update(orders))

    return 1e3 * statistics.median(_common.time_repeats(call, calls, warmup=1))


def run_side(side: str, args) -> float:
    """Milliseconds per update of ``side``, from a fresh process."""
    if side == "JAX":
        command = [args.jax_python, "-c", JAX_PROGRAM] + [str(v) for v in (
            ROWS, OBS, ACTIONS, HIDDEN, EPOCHS, args.calls)]
    else:
        command = [sys.executable, __file__, "--side", side, "--calls", str(args.calls)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", OMP_NUM_THREADS="2",
               XLA_FLAGS=os.environ.get("XLA_FLAGS", ""))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("MS ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{side} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return float(lines[-1].split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jax-python", default=sys.executable,
                        help="a Python with jax and optax (default: this one)")
    parser.add_argument("--repeats", type=int, default=3, help="processes per program")
    parser.add_argument("--calls", type=int, default=20, help="timed updates per process")
    parser.add_argument("--side", choices=["tf_maddpg", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        _common.pin_threads(2)
        print("MS", ours(args.calls) if args.side == "tf_maddpg" else bare(args.calls))
        return
    check = subprocess.run([args.jax_python, "-c", "import jax, optax"], capture_output=True,
                           text=True)
    sides = {"tf_maddpg": "tf_maddpg PPOLearner.train (IPPO, matched options)",
             "bare": "TensorFlow, bare (the same update, one XLA call)"}
    if check.returncode == 0:
        sides["JAX"] = "JAX (JaxMARL's update: jit, lax.scan)"
    else:
        print(f"JAX skipped: {args.jax_python} cannot import jax and optax")
    times = {side: [] for side in sides}
    for repeat in range(args.repeats):
        for side in sides:
            times[side].append(run_side(side, args))
            print(f"[repeat {repeat + 1}] {sides[side]}: {times[side][-1]:.1f} ms", flush=True)
    peer = statistics.median(times["JAX"]) if "JAX" in times else None
    rows = [[sides[s], f"{statistics.median(t):.1f}", ", ".join(f"{v:.1f}" for v in t),
             f"{statistics.median(t) / EPOCHS:.2f}",
             f"{peer / statistics.median(t):.2f}" if peer else "-"] for s, t in times.items()]
    print(f"\nOne update: {EPOCHS} epochs x 1 minibatch of {ROWS:,} rows, actor and critic "
          f"{HIDDEN} x {HIDDEN}; median of {args.repeats} processes x {args.calls} calls")
    print(_common.markdown_table(["program", "ms per update", "runs", "ms per gradient step",
                                  "speed against JAX"], rows))
    print(f"\n{_common.machine_line()}\n{_common.command_line()}")


if __name__ == "__main__":
    main()
