"""Weights both ways between a tf_maddpg ``MADDPGLearner`` and a reference ``MADDPG``.

Keras Dense kernels are [in, out] and torch Linear weights [out, in]; the
critics of both take the same joint input ``[obs_1..obs_N, act_1..act_N]``,
so a critic's first kernel is the transpose of the first Linear weight.
Only the networks travel: optimizer states are left as they are.
"""

from __future__ import annotations

import keras
import torch

from tf_maddpg.algorithms.maddpg.learner import MADDPGLearner
from tf_maddpg.reference.maddpg import MADDPG

# (MADDPGLearner's list of Keras models, DDPGAgent's torch network)
_NETWORKS = (("actors", "actor"), ("critics", "critic"),
             ("target_actors", "target_actor"), ("target_critics", "target_critic"))

LayerPair = tuple[keras.layers.Dense, torch.nn.Linear]


def copy_tf_to_torch(learner: MADDPGLearner, maddpg: MADDPG) -> None:
    """Copies every actor, critic and target of ``learner`` into ``maddpg``.

    Raises:
      ValueError: the two were built for different agents or hidden sizes
        (nothing is copied then).
    """
    pairs = _layer_pairs(learner, maddpg)
    with torch.no_grad():
        for dense, linear in pairs:
            linear.weight.copy_(torch.from_numpy(keras.ops.convert_to_numpy(dense.kernel).T))
            linear.bias.copy_(torch.from_numpy(keras.ops.convert_to_numpy(dense.bias)))


def copy_torch_to_tf(maddpg: MADDPG, learner: MADDPGLearner) -> None:
    """Copies every actor, critic and target of ``maddpg`` into ``learner``.

    Raises:
      ValueError: the two were built for different agents or hidden sizes
        (nothing is copied then).
    """
    for dense, linear in _layer_pairs(learner, maddpg):
        dense.kernel.assign(linear.weight.detach().numpy().T)
        dense.bias.assign(linear.bias.detach().numpy())


def _layer_pairs(learner: MADDPGLearner, maddpg: MADDPG) -> list[LayerPair]:
    """Every (Dense, Linear) pair, after checking that all their shapes match."""
    if learner.specs != maddpg.specs:
        raise ValueError(f"the learner's agents {learner.specs} differ from the reference's "
                         f"{maddpg.specs}; build both from the same specs")
    pairs = []
    for models_name, net_name in _NETWORKS:
        for model, agent in zip(getattr(learner, models_name), maddpg.agents):
            dense_layers = [layer for layer in model.layers
                            if isinstance(layer, keras.layers.Dense)]
            linears = list(getattr(agent, net_name).layers)
            where = f"{net_name} of agent {agent.spec.name!r}"
            tf_shapes = [tuple(layer.kernel.shape) for layer in dense_layers]
            torch_shapes = [tuple(linear.weight.shape[::-1]) for linear in linears]
            if tf_shapes != torch_shapes:
                raise ValueError(
                    f"{where}: the Keras kernels have shapes {tf_shapes} but the torch "
                    f"weights, transposed, {torch_shapes}; build both with the same "
                    "hidden_sizes")
            pairs.extend(zip(dense_layers, linears))
    return pairs
