"""Model zoo: metafiles (model-index.yml), their measured figures, mmpretrain names, the checker.

The config-path get_model / inferencer tests are in test_classifier.py and test_safe_loading.py;
here the models are reached by their metafile names.
"""
import json
import os.path as osp

import pytest
import torch
import yaml
from mmengine.registry import DefaultScope

import restv2_mm  # noqa: F401
from helpers import REPO, load_config, load_tool, run_tool

LIBS = ('mmpretrain', 'mmdet', 'mmseg')
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'model_zoo.py')
NAME = 'restv2-tiny_8xb256_in1k'


def load(path):
    with open(osp.join(REPO, path)) as f:
        return yaml.safe_load(f)


def models(lib):
    return load(f'configs/{lib}/metafile.yml')['Models']


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/analysis_tools/model_zoo.py')


def test_index_configs_exist_names_unique_and_figures_recorded():
    imports = load('model-index.yml')['Import']
    assert sorted(imports) == sorted(f'configs/{lib}/metafile.yml' for lib in LIBS)
    figures = json.load(open(osp.join(REPO, 'docs', 'model_zoo_figures.json')))
    names = []
    for lib in LIBS:
        meta = load(f'configs/{lib}/metafile.yml')
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            names.append(model['Name'])
            assert osp.isfile(osp.join(REPO, model['Config'])), model
            assert model['Config'].startswith(f'configs/{lib}/'), model
            assert model['In Collection'] in collections, model
            # the metafile carries the committed measurement, nothing else
            recorded = {k: figures[model['Name']][k] for k in ('FLOPs', 'Parameters')
                        if k in figures[model['Name']]}
            assert model['Metadata'] == recorded, model['Name']
            if lib == 'mmpretrain':
                assert set(recorded) == {'FLOPs', 'Parameters'}, model['Name']
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]
    assert len(names) == 18 + 33 + 19


@pytest.mark.parametrize('name', [NAME, 'restv1-lite_8xb256_in1k', 'rmt-tiny_8xb128_in1k'])
def test_parameters_equal_the_built_model(name):
    from mmpretrain import get_model
    model = next(m for m in models('mmpretrain') if m['Name'] == name)
    built = get_model(osp.join(REPO, model['Config']), pretrained=False)
    assert model['Metadata']['Parameters'] == sum(p.numel() for p in built.parameters())
    if name == NAME:
        assert round(model['Metadata']['Parameters'] / 1e6, 2) == 30.43  # ResTv2 paper, Table 1


def test_names_reach_mmpretrain(tmp_path, data_root):
    from mmpretrain import ImageClassificationInferencer, get_model, list_models
    names = {m['Name'] for m in models('mmpretrain')}
    listed = set(list_models('restv2*')) | set(list_models('restv1*')) | set(list_models('rmt-*'))
    assert names <= listed, names - listed
    config = next(m['Config'] for m in models('mmpretrain') if m['Name'] == NAME)
    source = get_model(osp.join(REPO, config), pretrained=False)
    for p in source.parameters():  # not the init: a checkpoint that must really be loaded
        p.data.normal_()
    ckpt = tmp_path / 'restv2_t.pth'
    torch.save({'state_dict': source.state_dict()}, ckpt)
    model = get_model(NAME, pretrained=str(ckpt))
    loaded = model.state_dict()
    for key, value in source.state_dict().items():
        assert torch.equal(loaded[key], value), key
    image = osp.join(data_root, 'imagenet_mini', 'val',
                     open(osp.join(data_root, 'imagenet_mini', 'val.txt')).readline().split()[0])
    # Other tests of the session leave mmseg/mmdet as mmengine's default scope; the inferencer
    # builds its pipeline there (a fresh process, as users run it, has none).
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        result = ImageClassificationInferencer(NAME, pretrained=str(ckpt), device='cpu')(image)[0]
        # The same image through the config's test pipeline and the loaded model, by hand.
        from mmengine.dataset import Compose, pseudo_collate
        pipeline = Compose(load_config(config).test_dataloader.dataset.pipeline)
        data = model.data_preprocessor(pseudo_collate([pipeline(dict(img_path=image))]), False)
        with torch.no_grad():
            probs = model(data['inputs'], mode='tensor').softmax(-1)[0]
    assert result['pred_label'] == int(probs.argmax())
    assert result['pred_score'] == pytest.approx(float(probs.max()), abs=1e-5)


def test_check_names_the_model_that_differs(tool, tmp_path, monkeypatch, capsys):
    name = 'restv1-lite_8xb256_in1k'  # the committed metafile passes: test_classifier_metafile_...
    meta = load('configs/mmpretrain/metafile.yml')
    for model in meta['Models']:
        if model['Name'] == name:
            model['Metadata']['Parameters'] += 1
    bad = tmp_path / 'metafile.yml'
    bad.write_text(yaml.safe_dump(meta))
    monkeypatch.setattr(tool, 'metafile', lambda lib: str(bad))
    assert tool.main(['--check', '--lib', 'mmpretrain', '--models', name, NAME]) == 1
    err = capsys.readouterr().err
    assert f'{name}: Parameters' in err and NAME not in err


@pytest.mark.slow
def test_classifier_metafile_matches_measurement():
    proc = run_tool([TOOL, '--check', '--lib', 'mmpretrain'])
    assert proc.stdout.count('GFLOPs at') == 18


def test_mismatches_parameters_exactly_flops_to_their_tolerance():
    from restv2_mm.apis import metadata_mismatches
    entry = dict(Name='m', Metadata=dict(Parameters=100, FLOPs=1_000_000))
    assert metadata_mismatches(entry, dict(Parameters=100, FLOPs=1_000_050, input='224x224')) == []
    assert metadata_mismatches(entry, dict(Parameters=101, FLOPs=1_000_200, input='224x224')) == [
        'm: Parameters 100 != measured 101', 'm: FLOPs 1000000 != measured 1000200 (224x224)']
    assert metadata_mismatches(dict(Name='n'), dict(Parameters=1)) == [
        'n: Parameters None != measured 1']


def test_write_metadata_rewrites_only_the_measured_models(tmp_path):
    from restv2_mm.apis import metafile_models, write_metadata
    path = tmp_path / 'metafile.yml'
    path.write_text('Models:\n'
                    '  - Name: a  # first\n    Metadata: {FLOPs: 1, Parameters: 2}\n'
                    '    Config: configs/a.py\n'
                    '  - Name: b\n    Metadata: {FLOPs: 3, Parameters: 4}\n    Config: configs/b.py\n')
    write_metadata(str(path), {'b': dict(config='configs/b.py', FLOPs=30, Parameters=40)})
    assert path.read_text().splitlines()[1:3] == ['  - Name: a  # first',
                                                  '    Metadata: {FLOPs: 1, Parameters: 2}']
    models = dict((m['Name'], m) for _, m in metafile_models({'lib': str(path)}))
    assert models['b']['Metadata'] == dict(FLOPs=30, Parameters=40)
    assert [m['Name'] for _, m in metafile_models({'lib': str(path)}, ['b*'])] == ['b']
