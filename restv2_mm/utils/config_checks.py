"""Checks of a config's settings that need no model: fail early, naming the setting."""
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config


def check_data_roots(cfg: Config, loaders: Sequence[str], name: Optional[str] = None) -> None:
    """Fail early, naming the setting, when a dataloader's ``dataset.data_root`` does not exist.

    ``name`` (the config path) starts the message where a tool handles several configs.

    Raises:
        FileNotFoundError: ``<loader>.dataset.data_root`` (or the wrapped dataset's) is missing.
    """
    for key in loaders:
        loader = cfg.get(key)
        if not isinstance(loader, dict):
            continue
        setting, dataset = f'{key}.dataset', loader.get('dataset')
        while isinstance(dataset, dict) and 'data_root' not in dataset and \
                isinstance(dataset.get('dataset'), dict):  # RepeatDataset, ClassBalancedDataset
            setting, dataset = setting + '.dataset', dataset['dataset']
        root = dataset.get('data_root') if isinstance(dataset, dict) else None
        if root and not osp.isdir(root):
            raise FileNotFoundError(
                f'{name + ": " if name else ""}{setting}.data_root={root!r} does not exist. Point '
                f'it at the dataset (--cfg-options {setting}.data_root=PATH; the demo configs read '
                f'$RESTV2_DATA, the folder that holds coco_mini/, ade_mini/, ...)')
