"""Train on mpe2's scenarios with the original MPE's order of integration: an experiment.

    python examples/legacy_physics.py simple_spread_v3 --algo happo --out runs/legacy/happo

mpe2 (like PettingZoo 1.23+ and JaxMARL) moves every body by its velocity
*before* the step's forces change that velocity, so an action moves its agent
only from the next step on, and a step's reward does not depend on the action
taken in it. The original MPE, EPyMARL's, the MAPPO repository's and
PettingZoo up to 1.22.3 (the version HARL's MPE results were made with)
update the velocity first and move by the new one: the action's effect is in
the same step's reward. FAMILY.md's conversions account for what the order
costs a converged policy (about 0.8 per agent on simple_spread); this script
measures what it costs *learning*, by training the same configuration on the
batched mpe2 with ``BatchedWorld.step`` replaced by the old order (velocity:
damping, forces, speed limit; then position).

Every option of ``tf-maddpg train`` works (``--help``; ``--resume`` continues
such a run with this physics); the backend is always the batched one, and the run folder gets a ``physics.txt`` that says how it
was made (its returns compare with HARL's unconverted-for-order figures, not
with mpe2 runs).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from tf_maddpg.envs.batched_mpe.world import BatchedWorld

NOTE = ("Trained by examples/legacy_physics.py: mpe2's scenarios on the batched backend with "
        "the original MPE's order of integration (velocity first, then position), not mpe2's.\n")


def legacy_step(self: BatchedWorld, u: np.ndarray) -> None:
    """``BatchedWorld.step`` in the original MPE's order: the velocity takes the step's
    damping, forces and speed limit first, then every body moves by the new velocity."""
    if self._num_movable == 0:
        return
    self.invalidate()
    mov = self._mov
    force = u[:, mov]
    if self._num_pairs:
        force = self._add_collision_forces(np.array(force, copy=True))
    vel = self._limit_speed(
        self.vel[:, mov] * (1 - self.damping) + (force / self._mass_col) * self.dt)
    self.vel[:, mov] = vel
    self.pos[:, mov] += vel * self.dt


def main(argv) -> int:
    from tf_maddpg.cli import main as cli

    BatchedWorld.step = legacy_step
    resume = "--resume" in argv  # the run's own config.json names the batched backend
    code = cli(["train", *argv] + ([] if resume else ["--env-backend", "batched"]))
    flag = "--resume" if resume else "--out"
    out = argv[argv.index(flag) + 1] if flag in argv else None
    if code == 0 and out and os.path.isdir(out):
        with open(os.path.join(out, "physics.txt"), "w") as f:
            f.write(NOTE)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
