"""Official checkpoints into mmpretrain files (restv2_mm.apis.official_checkpoint): the family
recognised from the keys, the source's checksum, the source never overwritten. The whole round
trip through the tool is in tests/test_tools/test_classifier.py and test_classifier_rmt.py."""
import hashlib

import pytest

from restv2_mm.apis import convert_official_checkpoint, file_sha256, official_family
from restv2_mm.models import RMT, ResTv1, ResTv2


def test_family_from_the_official_keys():
    # Key names of the official files: RMT (classfication_release/RMT.py), ResTv1 (models/rest.py,
    # stem.conv1), ResTv2 (models/restv2.py, stem.0).
    assert official_family(['patch_embed.proj.0.weight', 'layers.0.blocks.0.mlp.fc1.weight']) is RMT
    assert official_family(['stem.conv1.weight', 'stage1.0.attn.q.weight']) is ResTv1
    assert official_family(['stem.0.weight', 'stage1.0.attn.q.weight']) is ResTv2


def test_checksum_and_source_kept(tmp_path):
    src = tmp_path / 'a.pth'
    src.write_bytes(b'abc')
    # FIPS 180-2, appendix B.1: SHA-256("abc")
    assert file_sha256(str(src)) == hashlib.sha256(b'abc').hexdigest() == \
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    with pytest.raises(ValueError, match='dst must differ from src'):
        convert_official_checkpoint(str(src), str(tmp_path / '.' / 'a.pth'))
    assert src.read_bytes() == b'abc'
