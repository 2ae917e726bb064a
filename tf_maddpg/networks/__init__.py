"""Networks and what trains them: Keras MLP factories, the Gumbel-softmax and tanh
squashing, Adam with PyTorch's step, and actors run as NumPy products."""

from tf_maddpg.networks.mlp import ScaleToBounds, actor_preactivation_model, make_actor, make_critic
from tf_maddpg.networks.stochastic import AppendAgentId, GaussianHead

CUSTOM_OBJECTS = {layer.__name__: layer for layer in (ScaleToBounds, AppendAgentId, GaussianHead)}
"""Our layers that saved ``.keras`` actors name, for ``keras.models.load_model``."""

__all__ = ["AppendAgentId", "CUSTOM_OBJECTS", "GaussianHead", "ScaleToBounds",
           "actor_preactivation_model", "make_actor", "make_critic"]
