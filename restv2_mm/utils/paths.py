"""Where the package's configs, tools and model-index.yml are."""
import os.path as osp

PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))


def mim_root() -> str:
    """The folder holding ``configs/``, ``tools/`` and ``model-index.yml``: the repository root of a
    source checkout or editable install, else ``restv2_mm/.mim`` of an installed wheel."""
    checkout = osp.dirname(PACKAGE)
    if osp.isfile(osp.join(checkout, 'model-index.yml')) and osp.isdir(osp.join(checkout, 'configs')):
        return checkout
    return osp.join(PACKAGE, '.mim')
