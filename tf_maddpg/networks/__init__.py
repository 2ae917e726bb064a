"""Networks and what trains them: Keras MLP factories, the Gumbel-softmax and tanh
squashing, Adam with PyTorch's step, and actors run as NumPy products."""

from tf_maddpg.networks.mlp import ScaleToBounds, actor_preactivation_model, make_actor, make_critic

__all__ = ["ScaleToBounds", "actor_preactivation_model", "make_actor", "make_critic"]
