"""The PyTorch teaching reference's MADDPG, on mpe2 simple_adversary_v3: a diagnostic.

    pip install torch==2.13.0
    python docs/results/torch_reference_diagnostic.py SEED EPISODES OUT.csv

Used to tell whether tf_maddpg's spread of returns over seeds is the
algorithm's or ours (docs/results/simple_adversary.md). Written by us from
the reference's design as ../shared/REFERENCE.md describes it: two-layer
64-unit ReLU nets initialised by torch.nn.Linear's default, one DDPG agent
per agent with Adam(1e-2) per network, agent by agent a critic step (target
actions: one-hot argmax of the target actors, epsilon 0.01) then an actor
step through the new critic (own action: straight-through hard
Gumbel-softmax; others: epsilon one-hot argmax of their current actors;
1e-3 logits regulariser), then soft target updates (tau 0.01); gamma 0.95,
batch 1024 drawn without replacement from a 1e5 ring, updates every 100 env
steps after 4,000 transitions. Evaluation as the reference: every 100
episodes, 100 fresh episodes acting on the epsilon one-hot of the logits.
One change from the book's code: the one-hot of a batch is built without a
Python loop over rows (the same numbers, much faster). tf_maddpg's own
PyTorch reference, with parity tests, is the subject of a later issue.
"""

import csv
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from mpe2 import simple_adversary_v3
from torch import nn

GAMMA, TAU, LR, BATCH, CAPACITY, WARMUP, EVERY, EPSILON = 0.95, 0.01, 1e-2, 1024, 100_000, 4000, 100, 0.01


def mlp(inputs, outputs):
    return nn.Sequential(nn.Linear(inputs, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                         nn.Linear(64, outputs))


def onehot(logits, eps=EPSILON):
    """One-hot argmax; each row replaced by a uniformly random action with probability eps."""
    greedy = (logits == logits.max(1, keepdim=True)[0]).float()
    random_rows = torch.eye(logits.shape[1])[torch.randint(logits.shape[1], (logits.shape[0],))]
    keep = (torch.rand(logits.shape[0]) > eps).float()[:, None]
    return keep * greedy + (1 - keep) * random_rows


def gumbel_hard(logits, temperature=1.0):
    u = torch.rand(logits.shape)
    soft = F.softmax((logits - torch.log(-torch.log(u + 1e-20) + 1e-20)) / temperature, dim=1)
    return (onehot(soft) - soft).detach() + soft


def main(seed, episodes, out):
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    torch.set_num_threads(1)
    env = simple_adversary_v3.parallel_env(max_cycles=25)
    agents = env.possible_agents
    n = len(agents)
    obs_dims = [env.observation_space(a).shape[0] for a in agents]
    act_dims = [env.action_space(a).n for a in agents]
    joint = sum(obs_dims) + sum(act_dims)
    actors = [mlp(o, a) for o, a in zip(obs_dims, act_dims)]
    critics = [mlp(joint, 1) for _ in agents]
    target_actors = [mlp(o, a) for o, a in zip(obs_dims, act_dims)]
    target_critics = [mlp(joint, 1) for _ in agents]
    for net, target in zip(actors + critics, target_actors + target_critics):
        target.load_state_dict(net.state_dict())
    actor_opt = [torch.optim.Adam(a.parameters(), lr=LR) for a in actors]
    critic_opt = [torch.optim.Adam(c.parameters(), lr=LR) for c in critics]
    buffer, write = [], 0

    def act(obs, explore):
        with torch.no_grad():
            logits = [a(torch.as_tensor(o[None], dtype=torch.float32)) for a, o in zip(actors, obs)]
            return [(gumbel_hard(l) if explore else onehot(l)).numpy()[0] for l in logits]

    def update():
        columns = list(zip(*random.sample(buffer, BATCH)))  # obs, actions, rewards, next_obs, done
        per_agent = [[torch.as_tensor(np.array([row[k] for row in col], np.float32)) for k in range(n)]
                     for col in columns]
        obs, actions, rewards, next_obs, done = per_agent
        for i in range(n):
            critic_opt[i].zero_grad()
            target_actions = [onehot(pi(o)) for pi, o in zip(target_actors, next_obs)]
            y = rewards[i][:, None] + GAMMA * target_critics[i](
                torch.cat((*next_obs, *target_actions), 1)) * (1 - done[i][:, None])
            q = critics[i](torch.cat((*obs, *actions), 1))
            F.mse_loss(q, y.detach()).backward()
            critic_opt[i].step()

            actor_opt[i].zero_grad()
            logits = actors[i](obs[i])
            joint_actions = [gumbel_hard(logits) if j == i else onehot(actors[j](obs[j]))
                             for j in range(n)]
            loss = -critics[i](torch.cat((*obs, *joint_actions), 1)).mean() + 1e-3 * (logits ** 2).mean()
            loss.backward()
            actor_opt[i].step()
        with torch.no_grad():
            for net, target in zip(actors + critics, target_actors + target_critics):
                for t, s in zip(target.parameters(), net.parameters()):
                    t.copy_(t * (1 - TAU) + s * TAU)

    def evaluate(episodes=100):
        eval_env = simple_adversary_v3.parallel_env(max_cycles=25)
        returns = np.zeros(n)
        for _ in range(episodes):
            obs, _ = eval_env.reset()
            for _ in range(25):
                actions = act([obs[a] for a in agents], explore=False)
                obs, rew, _, _, _ = eval_env.step({a: int(np.argmax(x)) for a, x in zip(agents, actions)})
                returns += np.array([rew[a] for a in agents]) / episodes
        return returns

    steps, start = 0, time.time()
    with open(out, "w", newline="") as f:
        log = csv.writer(f)
        log.writerow(["episode", "env_steps", "wall_s"] + [f"return/{a}" for a in agents])
        for episode in range(1, episodes + 1):
            obs_dict, _ = env.reset(seed=seed if episode == 1 else None)
            for _ in range(25):
                obs = [obs_dict[a] for a in agents]
                actions = act(obs, explore=True)
                obs_dict, rew, term, _, _ = env.step(
                    {a: int(np.argmax(x)) for a, x in zip(agents, actions)})
                transition = (obs, actions, [rew[a] for a in agents], [obs_dict[a] for a in agents],
                              [float(term[a]) for a in agents])
                if len(buffer) < CAPACITY:
                    buffer.append(transition)
                else:
                    buffer[write] = transition
                    write = (write + 1) % CAPACITY
                steps += 1
                if len(buffer) >= WARMUP and steps % EVERY == 0:
                    update()
            if episode % 100 == 0:
                returns = evaluate()
                log.writerow([episode, steps, round(time.time() - start, 1)] + list(np.round(returns, 3)))
                f.flush()
                print(episode, np.round(returns, 2), f"{time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
