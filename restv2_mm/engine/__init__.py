"""Training glue for mmengine's runner: hooks, optimizer constructors, storage. No model imports:
whatever depends on the model is asked of it (e.g. ``backbone.get_layer_depth``)."""
from .atomic_backend import AtomicLocalBackend
from .hooks import RNGStateHook, SeededSampler

__all__ = ['AtomicLocalBackend', 'RNGStateHook', 'SeededSampler']
