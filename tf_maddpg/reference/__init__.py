"""tf_maddpg's PyTorch reference: MADDPG as the teaching reference designs it.

Our own PyTorch implementation of the design of the PyTorch teaching reference
(Hands-on RL, chapter 21), extended to every switch of ``MADDPGConfig``, so
that tf_maddpg can be checked against it number for number (see
``tests/test_reference_parity.py``) and timed beside it. Needs PyTorch:
``pip install 'tf_maddpg[torch]'``.
"""

try:
    import torch  # noqa: F401
except ImportError as error:
    raise ImportError(
        "tf_maddpg.reference needs PyTorch: pip install 'tf_maddpg[torch]' "
        "(CPU only: pip install torch==2.13.0)") from error

from tf_maddpg.reference.maddpg import MADDPG, DDPGAgent
from tf_maddpg.reference.networks import TwoLayerFC
from tf_maddpg.reference.training import ReferenceResult, evaluate, train_reference
from tf_maddpg.reference.transfer import copy_tf_to_torch, copy_torch_to_tf

__all__ = [
    "MADDPG",
    "DDPGAgent",
    "ReferenceResult",
    "TwoLayerFC",
    "copy_tf_to_torch",
    "copy_torch_to_tf",
    "evaluate",
    "train_reference",
]
