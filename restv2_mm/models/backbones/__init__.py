from .checkpoint import (convert_official_classifier, convert_official_state_dict,
                         load_pretrained, read_checkpoint)
from .restv2 import ResTv2

__all__ = ['ResTv2', 'convert_official_classifier', 'convert_official_state_dict',
           'load_pretrained', 'read_checkpoint']
