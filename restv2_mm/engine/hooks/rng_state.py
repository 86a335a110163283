"""The state of every random number generator a training process draws from."""
import random

import numpy as np
import torch


def get_rng_state(cuda: bool = True) -> dict:
    """The states of Python's, NumPy's and torch's generators: the CPU one and, with ``cuda``
    where CUDA is available, every device's."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if cuda and torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`get_rng_state`; CUDA states are restored only where CUDA is available
    with the same number of devices."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
