"""The overrides of a swap as mmengine merges them (restv2_mm.apis.config_edits) and as a config
file writes them (restv2_mm.apis.config_text): the text is Python that evaluates to the values,
and a child config of that text merges to the same config as the overrides."""
import pytest
from mmengine.config import Config

from restv2_mm.apis.config_edits import ConfigEdits, field_name
from restv2_mm.apis.config_text import config_text, format_value

STOCK = dict(
    model=dict(type='FasterRCNN', backbone=dict(type='ResNet', depth=50),
               neck=[dict(type='FPN', in_channels=[256, 512, 1024, 2048], num_outs=5),
                     dict(type='BFP', in_channels=256, num_levels=5)],
               rpn_head=dict(type='RPNHead', in_channels=256)),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.02)))


@pytest.mark.parametrize('value', [
    dict(a=1, b=[1, 2], c=(3, ), d=dict(_delete_=True, e='x', f=None, g=1.5)),
    dict(long=[list(range(30)), dict(k=tuple(range(20)))], t=True),
    [dict(type='FPN', in_channels=[96, 192, 384, 768] * 5)],
])
def test_format_value_is_python_for_the_value(value):
    text = format_value(value)
    assert eval(text, {'dict': dict}) == value
    assert all(len(line) <= 100 for line in text.splitlines())


def test_delete_comes_first():
    assert format_value(dict(type='RMT', _delete_=True)) == "dict(_delete_=True, type='RMT')"


def test_edits_inside_a_list_copy_it_and_merge_as_a_child_config(tmp_path):
    edits = ConfigEdits(STOCK)
    edits.set(('model', 'backbone'), dict(_delete_=True, type='RMT', arch='tiny'), 'ours')
    edits.set(('model', 'neck', 0, 'in_channels'), [64, 128, 256, 512], 'the neck reads ours')
    assert [c.field for c in edits.changes] == ['model.backbone', 'model.neck[0].in_channels']
    assert edits.changes[1].old == [256, 512, 1024, 2048]
    # mmengine replaces lists whole: the copy keeps BFP as it was.
    assert edits.tree['model']['neck'][1] == STOCK['model']['neck'][1]
    merged = edits.apply(Config(STOCK))
    assert merged.model.backbone.to_dict() == dict(type='RMT', arch='tiny')
    assert merged.model.neck[0].in_channels == [64, 128, 256, 512]
    assert merged.model.rpn_head.in_channels == 256 and STOCK['model']['neck'][0]['num_outs'] == 5
    # The same overrides as a config file inheriting the stock one.
    Config(STOCK).dump(str(tmp_path / 'stock.py'))
    (tmp_path / 'child.py').write_text(config_text('./stock.py', edits.tree, ['a swap']))
    child = Config.fromfile(str(tmp_path / 'child.py'))
    assert child.to_dict() == merged.to_dict()


def test_edits_name_missing_settings():
    edits = ConfigEdits(STOCK)
    with pytest.raises(KeyError, match='model.decode_head is not in the stock config'):
        edits.set(('model', 'decode_head', 'in_channels'), 96)
    assert field_name(('model', 'auxiliary_head', 1, 'in_channels')) == \
        'model.auxiliary_head[1].in_channels'
    with pytest.raises(ValueError, match='Python names'):
        config_text('x.py', {'model.neck': 1})
