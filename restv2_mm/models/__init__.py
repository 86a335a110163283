from .backbones import ResTv2

__all__ = ['ResTv2']
