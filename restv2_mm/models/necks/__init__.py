"""Necks that an official release's classifier needs between our backbone and a stock head."""
from .rmt_cls_neck import RMTClsNeck

__all__ = ['RMTClsNeck']
