"""restv2-mm: ResTv2 backbones for mmdet, mmsegmentation and mmpretrain.

``pip install .`` / ``python -m build`` make a package that carries the configs, the tools and
model-index.yml under ``restv2_mm/.mim/`` (as the OpenMMLab packages do, for ``mim`` and for
``get_model`` by name): in the checkout ``restv2_mm/.mim/`` holds symbolic links to them, which the
sdist and the wheel resolve into copies (MANIFEST.in, ``include_package_data``); an editable
install uses the links. The supported
range is declared here; ``requirements/pinned.txt`` (newest, ``make env``) and
``requirements/compat.txt`` (oldest, ``make test-compat``) are its two tested ends.
"""
import os.path as osp

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))


def readme() -> str:
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        return f.read()


setup(
    name='restv2-mm',
    version='0.1.0',
    description='ResTv2 (NeurIPS 2022), ResTv1 and RMT backbones for the OpenMMLab libraries',
    long_description=readme(),
    long_description_content_type='text/markdown',
    url='https://github.com/wofmanaf/ResT',
    packages=find_packages(include=['restv2_mm', 'restv2_mm.*']),
    include_package_data=True,
    python_requires='>=3.10',
    # mmcv is not listed: either the full mmcv (>=2.1.0,<2.2.0, with compiled ops: mmdet and mmseg
    # models) or mmcv-lite (classification only) provides it, and pip cannot express "one of
    # them" (requirements/mminstall.txt states it for mim). restv2_mm checks it at import.
    install_requires=[
        'torch>=2.1',
        'numpy>=1.26,<2',
        'mmengine>=0.10.3,<1.0',
    ],
    extras_require={
        'cls': ['mmpretrain>=1.2.0,<1.3'],
        'det': ['mmdet>=3.3.0,<3.4'],
        'seg': ['mmsegmentation>=1.2.2,<1.3', 'ftfy', 'regex'],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
    license='Apache-2.0',
    zip_safe=False,
)
