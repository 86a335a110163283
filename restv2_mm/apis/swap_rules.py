"""Where a stock mmdet / mmseg / mmpretrain model config holds what its backbone gives, and how
each place changes when another backbone takes its place.

The first module to read the backbone's outputs is the neck (the first one of a list) where it
has ``in_channels``; without one, every head that reads them: ``rpn_head`` and the RoI head's
extractors and heads (DC5 detectors), ``bbox_head`` (CornerNet), ``panoptic_head`` (MaskFormer,
Mask2Former: their pixel decoder takes the head's ``in_channels``), ``decode_head`` and
``auxiliary_head`` (mmseg, by ``in_index``), ``head`` (mmpretrain). In each the channels of the
levels it reads change; beyond that, a few types hold a level elsewhere (``c1_in_channels`` of
DeepLabV3+, the pass-through levels of SSD's and FastFCN's necks, the rescaling factors of ViT necks, the
strides of Mask2Former) and a few cannot take another backbone at all (RFP, Trident, a ResNet
stage run per RoI, DPT's class-token reader): those raise :class:`SwapError` naming the field.
"""
from typing import Dict, List, Optional, Sequence, Tuple

from .config_checks import REVERSED_NECKS
from .config_edits import MISSING, ConfigEdits, field_name
from .stock_levels import Levels, SwapError

Path = Tuple
# Heads that read the backbone where there is no neck (in this order).
HEAD_KEYS = ('rpn_head', 'bbox_head', 'panoptic_head', 'decode_head', 'auxiliary_head', 'head')
# Necks that only turn a plain ViT's single-stride maps into a pyramid, keeping its channels: a
# hierarchical backbone is one already, so the neck goes and the heads read the backbone.
PYRAMID_NECKS = ('Feature2Pyramid', 'mmseg.Feature2Pyramid')


class Swap:
    """What a swap needs while it rewrites: the stock config's edits, where the backbone sits
    (``owner``: ``('model',)``, or ``('model', 'detector')`` in a semi-supervised wrapper), the
    stock levels the framework reads and our channels and strides in their place."""

    def __init__(self, edits: ConfigEdits, owner: Path, stock: Levels, ours: Levels, scope: str,
                 backbone_name: str):
        self.edits, self.owner, self.stock, self.ours = edits, owner, stock, ours
        self.scope, self.backbone_name = scope, backbone_name
        self.notes: List[str] = []
        self.read: set = set()  # positions of the levels some module reads

    @property
    def levels(self) -> int:
        return len(self.stock.channels)

    def model(self, *keys) -> object:
        return self.edits.get(self.owner + tuple(keys), None)


def stock_type(module) -> str:
    return str(module.get('type', '')) if isinstance(module, dict) else ''


def heads(swap: Swap, keys: Sequence[str]) -> List[Tuple[Path, dict]]:
    """``(path, config)`` of each head under ``keys`` of the model, in that order (a key may hold
    a list of heads, as mmseg's ``auxiliary_head``)."""
    found = []
    for key in keys:
        value = swap.model(key)
        items = list(enumerate(value)) if isinstance(value, (list, tuple)) else [(None, value)]
        found += [(swap.owner + ((key, ) if i is None else (key, i)), module)
                  for i, module in items if isinstance(module, dict)]
    return found


def _positions(swap: Swap, path: Path, module: dict) -> List[int]:
    """The positions (0..levels-1, in output order) of the levels ``module.in_channels``
    describes, checked against the stock backbone's channels."""
    n, name = swap.levels, field_name(path + ('in_channels', ))
    value, index = module['in_channels'], module.get('in_index', MISSING)
    stock = list(swap.stock.channels)
    if index is not MISSING:
        indices = [index] if isinstance(index, int) else list(index)
        if any(not -n <= i < n for i in indices):
            raise SwapError(field_name(path + ('in_index', )), f'{index} points past the {n} levels '
                            'the stock backbone gives')
        candidates = [[i % n for i in indices]]
    elif isinstance(value, (list, tuple)):
        candidates = [list(range(n)), list(range(n))[::-1]]
    elif swap.scope == 'mmseg':  # BaseDecodeHead's in_index=-1
        candidates = [[n - 1]]
    elif len(set(stock)) == 1 and n > 1:  # one width for several maps of one stride (CornerNet)
        if len(set(swap.ours.channels)) != 1:
            raise SwapError(name, f'{value} is one width for the {n} maps of one stride the stock '
                            f'backbone gives; {swap.backbone_name} gives {n} levels of widths '
                            f'{swap.ours.channels}')
        candidates = [list(range(n))]
    else:
        candidates = [[n - 1]]
    got = list(value) if isinstance(value, (list, tuple)) else [value]
    for positions in candidates:
        want = [stock[i] for i in positions]
        if got == want or (not isinstance(value, (list, tuple)) and got * len(want) == want):
            return positions
    raise SwapError(name, f'{value} is not what the stock backbone gives at the levels this module '
                    f'reads ({[stock[i] for i in candidates[0]]} of {tuple(stock)}), so which '
                    'levels it reads cannot be told; set its channels yourself')


def _our_value(swap: Swap, stock_value, positions: Sequence[int]):
    ours = [swap.ours.channels[i] for i in positions]
    if isinstance(stock_value, (list, tuple)):
        return type(stock_value)(ours)
    return ours[-1]


def rewrite_reader(swap: Swap, path: Path, module: dict, why: str) -> None:
    """Rewrite a module that reads the backbone: its ``in_channels`` (by ``in_index`` where it
    has one), the levels held elsewhere by its type, and nested heads that read for it."""
    kind = stock_type(module)
    if 'in_channels' not in module:  # KNet: the kernel generator reads for the iterative head
        for key, sub in module.items():
            if isinstance(sub, dict) and 'in_channels' in sub and key.endswith('_head'):
                rewrite_reader(swap, path + (key, ), sub, why)
        return
    positions = _positions(swap, path, module)
    new = _our_value(swap, module['in_channels'], positions)
    if new != module['in_channels']:
        swap.edits.set(path + ('in_channels', ), new, why)
    swap.read.update(_read_levels(swap, module, positions))
    strides = module.get('strides')
    if isinstance(strides, (list, tuple)) and list(strides) == [swap.stock.strides[i] for i in positions]:
        ours = [swap.ours.strides[i] for i in positions]
        if ours != list(strides):
            swap.edits.set(path + ('strides', ), type(strides)(ours), 'the strides of our levels')
    for rule in TYPE_RULES.get(kind.split('.')[-1], ()):
        rule(swap, path, module)


def _read_levels(swap: Swap, module: dict, positions: Sequence[int]) -> List[int]:
    # An FPN reads only its start_level..end_level inputs (RetinaNet: from stride 8).
    start, end = module.get('start_level', 0), module.get('end_level', -1)
    if 'start_level' in module or 'end_level' in module:
        end = swap.levels - 1 if end == -1 else end
        return [p for p in positions if start <= p <= end]
    return list(positions)


def _deeplab_c1(swap: Swap, path: Path, module: dict) -> None:
    # DepthwiseSeparableASPPHead reads inputs[0], the first level, for its low-level branch.
    if module.get('c1_in_channels', 0) > 0:
        if module['c1_in_channels'] != swap.stock.channels[0]:
            raise SwapError(field_name(path + ('c1_in_channels', )), f'{module["c1_in_channels"]} '
                            f'is not the first stock level\'s width {swap.stock.channels[0]}')
        swap.edits.set(path + ('c1_in_channels', ), swap.ours.channels[0],
                       'the low-level branch reads the first level')
        swap.read.add(0)


def _ssd_pass_through(swap: Swap, path: Path, module: dict) -> None:
    # SSDNeck returns its inputs as its first outputs and adds levels after them; the head reads all.
    n = swap.levels
    ours = list(swap.ours.channels)
    head = swap.owner + ('bbox_head', )
    for where in (path + ('out_channels', ), head + ('in_channels', )):
        value = swap.edits.get(where)
        if value is MISSING or list(value[:n]) != list(swap.stock.channels):
            raise SwapError(field_name(where), f'expected the stock levels {swap.stock.channels} '
                            f'first, got {value}')
        swap.edits.set(where, type(value)(ours + list(value[n:])), 'SSDNeck passes the levels on')


def _jpu_pass_through(swap: Swap, path: Path, module: dict) -> None:
    # FastFCN's JPU returns the levels it reads but the last as its first outputs, then its fused
    # map (width mid_channels x dilations, ours or not): a head reading a passed level by in_index
    # (the auxiliary FCN) takes that level's width.
    n = swap.levels
    start, end = module.get('start_level', 0), module.get('end_level', -1)
    passed = list(range(start, (n if end == -1 else end) - 1))
    for where, head in heads(swap, ('decode_head', 'auxiliary_head')):
        if not isinstance(head.get('in_index'), int):
            continue
        output = head['in_index'] % (len(passed) + 1)
        if output == len(passed):
            continue  # the fused map
        level = passed[output]
        if head.get('in_channels') != swap.stock.channels[level]:
            raise SwapError(field_name(where + ('in_channels', )), f'{head.get("in_channels")} '
                            f'is not the width {swap.stock.channels[level]} of the level JPU '
                            f'passes on as its output {output}')
        swap.edits.set(where + ('in_channels', ), swap.ours.channels[level],
                       'JPU passes our level on')


def _rescale(key: str):
    def rule(swap: Swap, path: Path, module: dict) -> None:
        # A ViT neck resizes each level by a factor to make a pyramid of the stock strides.
        scales = module.get(key)
        if not isinstance(scales, (list, tuple)) or len(scales) != swap.levels:
            return
        new = [s * o / t for s, o, t in zip(scales, swap.ours.strides, swap.stock.strides)]
        new = [int(s) if float(s).is_integer() else s for s in new]
        if new != list(scales):
            swap.edits.set(path + (key, ), type(scales)(new), 'same output strides from our levels')
    return rule


TYPE_RULES: Dict[str, tuple] = {
    'DepthwiseSeparableASPPHead': (_deeplab_c1, ),
    'SSDNeck': (_ssd_pass_through, ),
    'JPU': (_jpu_pass_through, ),
    'MultiLevelNeck': (_rescale('scales'), ),
}


def check_framework(edits: ConfigEdits, owner: Path) -> None:
    """Raise :class:`SwapError` where the framework needs the stock backbone itself (before the
    stock backbone is run: DetectoRS's returns the image with its levels for RFP)."""
    def module(*keys):
        return edits.get(owner + keys, None)

    def name(*keys):
        return field_name(owner + keys)

    if stock_type(module()).split('.')[-1] == 'TridentFasterRCNN':
        raise SwapError(name('type'), "TridentNet's branches are built into its backbone "
                        '(TridentResNet, num_branch); it takes no other backbone')
    neck = module('neck')
    neck = neck[0] if isinstance(neck, (list, tuple)) and neck else neck
    if stock_type(neck).split('.')[-1] == 'RFP':
        raise SwapError(name('neck', 'rfp_backbone'), 'RFP feeds its FPN outputs back into a second '
                        'DetectoRS_ResNet (rfp_backbone, rfp_inplanes); it takes no other backbone')
    shared = module('roi_head', 'shared_head')
    if isinstance(shared, dict):
        raise SwapError(name('roi_head', 'shared_head'), f'the RoI head runs the stock backbone\'s '
                        f'last stage ({stock_type(shared)}) on each RoI, built for the stock '
                        'widths; take an FPN framework of this family instead')
    if stock_type(module('decode_head')).split('.')[-1] == 'DPTHead':
        raise SwapError(name('decode_head'), "DPTHead reassembles a plain ViT's patch tokens with "
                        'its class token (backbone output_cls_token=True); a hierarchical backbone '
                        'returns feature maps only')


def rewrite_readers(swap: Swap) -> None:
    """Rewrite every module that reads the backbone's outputs (see the module's docstring)."""
    neck_path = swap.owner + ('neck', )
    neck = swap.model('neck')
    if isinstance(neck, (list, tuple)) and neck:
        neck_path, neck = neck_path + (0, ), neck[0]
    if stock_type(neck) in PYRAMID_NECKS:
        swap.edits.set(swap.owner + ('neck', ), None,
                       f'{stock_type(neck)} makes a pyramid of a plain ViT\'s maps; ours is one')
        swap.notes.append(f'{stock_type(neck)} (the neck) is dropped: it builds a pyramid for a '
                          'plain ViT, and the heads read our levels directly')
        neck = None
    if isinstance(neck, dict) and 'in_channels' in neck:
        if stock_type(neck) in REVERSED_NECKS:
            swap.notes.append(f'{stock_type(neck)} reads its levels deepest first')
        rewrite_reader(swap, neck_path, neck, 'the neck reads our levels')
        return
    found = False
    for path, module in heads(swap, HEAD_KEYS):
        rewrite_reader(swap, path, module, f'{path[len(swap.owner)]} reads our levels')
        found = True
    found = _rewrite_roi_head(swap) or found
    if not found:
        raise SwapError(field_name(swap.owner), 'no neck or head with in_channels reads the '
                        'backbone; cannot tell where its channels go')


def _rewrite_roi_head(swap: Swap) -> bool:
    # Without a neck (DC5 detectors), the RoI extractors pool the backbone's single level and the
    # RoI heads read those pooled features.
    roi_head = swap.model('roi_head')
    if not isinstance(roi_head, dict) or swap.levels != 1:
        return False
    width, done = swap.stock.channels[0], False
    for key, sub in roi_head.items():
        for attr in ('out_channels', 'in_channels'):
            if isinstance(sub, dict) and sub.get(attr) == width and \
                    (key.endswith('_roi_extractor') if attr == 'out_channels' else key.endswith('_head')):
                swap.edits.set(swap.owner + ('roi_head', key, attr), swap.ours.channels[0],
                               'the RoI head pools our level')
                done = True
    return done


def unread_levels(swap: Swap) -> Optional[List[int]]:
    """Positions of levels no module reads (their output norms get no gradient), or None."""
    unread = sorted(set(range(swap.levels)) - swap.read)
    return unread or None
