"""Reading checkpoint files."""
import os
import pickle

import torch


def read_checkpoint(path: str) -> dict:
    """Read a checkpoint file on the CPU.

    Tries torch's safe ``weights_only`` loader first; official and runner checkpoints also pickle
    non-tensor objects (argparse Namespaces, numpy scalars, message hubs), so it falls back to a
    full load of the file the user named.

    Raises:
        FileNotFoundError: the file does not exist.
        RuntimeError: the file is not a readable torch checkpoint (truncated, another format).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path!r} (init_cfg.checkpoint)')
    try:
        try:
            return torch.load(path, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError:
            return torch.load(path, map_location='cpu', weights_only=False)
    except Exception as e:  # zipfile/EOF/pickle errors all mean the same thing to the user
        raise RuntimeError(f'{path!r} is not a readable torch checkpoint '
                           f'(truncated or another format): {type(e).__name__}: {e}') from e
