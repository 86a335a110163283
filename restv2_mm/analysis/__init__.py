from .flops import SDPA_OP, count_params, flop_analyzer, sdpa_flop_jit

__all__ = ['SDPA_OP', 'count_params', 'flop_analyzer', 'sdpa_flop_jit']
