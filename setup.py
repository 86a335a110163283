"""restv2-mm: ResTv2 backbones for mmdet, mmsegmentation and mmpretrain.

Install the whole pinned environment with ``bash tools/misc/setup_env.sh``; this file only makes the
package importable (``pip install -e .``). Runtime versions live in ``requirements/pinned.txt``.
"""
from setuptools import find_packages, setup

setup(
    name='restv2-mm',
    version='0.1.0',
    description='ResTv2 (NeurIPS 2022) backbones for the OpenMMLab libraries',
    packages=find_packages(include=['restv2_mm', 'restv2_mm.*']),
    python_requires='>=3.9',
    # Not pinned here on purpose: mmcv must be the locally built wheel (see tools/misc/setup_env.sh).
    install_requires=['torch', 'mmengine', 'mmcv>=2.0.0,<2.2.0'],
    license='Apache-2.0',
)
