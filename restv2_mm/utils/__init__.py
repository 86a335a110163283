"""The bottom layer: helpers with no knowledge of models, training or analysis."""
from .config_checks import check_data_roots
from .serialization import read_checkpoint

__all__ = ['check_data_roots', 'read_checkpoint']
