from .rng_state import get_rng_state, set_rng_state
from .rng_state_hook import RNGStateHook
from .sample_seeds import SeededIndex, SeededSampler, sample_seed

__all__ = ['RNGStateHook', 'SeededIndex', 'SeededSampler', 'get_rng_state', 'sample_seed', 'set_rng_state']
