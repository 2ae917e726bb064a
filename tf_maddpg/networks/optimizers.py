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
    ``w -= lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon)``.
    (No amsgrad.)
    """

    def __init__(self, *args, **kwargs):
        if kwargs.get("amsgrad"):
            raise ValueError("TorchAdam does not implement amsgrad")
        super().__init__(*args, **kwargs)
        self._corrections = None

    def apply(self, grads, trainable_variables=None):
        """Applies one step to every variable; the bias corrections are computed once."""
        self._corrections = self._bias_corrections()
        try:
            return super().apply(grads, trainable_variables)
        finally:
            self._corrections = None

    def _bias_corrections(self):
        """(learning_rate / (1 - beta_1^t), sqrt(1 - beta_2^t)) for this step t, as float32.

        As in ``torch.optim.Adam``, computed in float64 (from beta_1 and beta_2
        as Python floats) and only then rounded: ``1 - 0.999`` in float32 is
        1.3e-5 off, enough to shorten every early step by ~6e-6 and to drift
        from PyTorch over many steps.
        """
        step = ops.cast(self.iterations + 1, "float64")
        # convert_to_tensor, not cast: casting a Python float goes through float32.
        correction_1 = 1.0 - ops.power(ops.convert_to_tensor(self.beta_1, "float64"), step)
        correction_2 = 1.0 - ops.power(ops.convert_to_tensor(self.beta_2, "float64"), step)
        step_size = ops.cast(ops.cast(self.learning_rate, "float64") / correction_1, "float32")
        return step_size, ops.cast(ops.sqrt(correction_2), "float32")

    def update_step(self, gradient, variable, learning_rate):
        """One PyTorch-style Adam step for ``variable`` (float32 variables)."""
        step_size, correction_2_sqrt = (self._corrections if self._corrections is not None
                                        else self._bias_corrections())
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        # The moments in torch's own forms: m.lerp_(g, 1 - b1); v * b2 + (1 - b2) * g^2.
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign(v, ops.add(ops.multiply(v, self.beta_2),
                               ops.multiply(ops.square(gradient), 1 - self.beta_2)))
        denominator = ops.add(ops.divide(ops.sqrt(v), correction_2_sqrt), self.epsilon)
        self.assign_sub(variable, ops.multiply(ops.divide(m, denominator), step_size))
