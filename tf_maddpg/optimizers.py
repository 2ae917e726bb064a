"""Adam with PyTorch's epsilon, so that tf_maddpg and the PyTorch reference take the same steps."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tf_maddpg")
class TorchAdam(keras.optimizers.Adam):
    """Adam as ``torch.optim.Adam`` computes it.

    Keras adds ``epsilon`` to ``sqrt(v)`` before the bias correction, PyTorch
    after it: Keras's effective epsilon is ``epsilon / sqrt(1 - beta_2^t)``,
    about 30 times larger at the first step. The two agree except where a
    gradient is as small as that epsilon, which is enough to break an exact
    comparison with the PyTorch reference. This class keeps Keras's state and
    API and takes PyTorch's step:
    ``w -= lr / (1 - beta_1^t) * m / (sqrt(v / (1 - beta_2^t)) + epsilon)``.
    (No amsgrad.)
    """

    def __init__(self, *args, **kwargs):
        if kwargs.get("amsgrad"):
            raise ValueError("TorchAdam does not implement amsgrad")
        super().__init__(*args, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        """One PyTorch-style Adam step for ``variable``."""
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        correction_1 = 1 - ops.power(ops.cast(self.beta_1, dtype), step)
        correction_2 = 1 - ops.power(ops.cast(self.beta_2, dtype), step)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        denominator = ops.add(ops.sqrt(ops.divide(v, correction_2)), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / correction_1), denominator))
