from .lr_decay import ResTv2LearningRateDecayOptimizerConstructor

__all__ = ['ResTv2LearningRateDecayOptimizerConstructor']
