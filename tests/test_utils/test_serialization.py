"""read_checkpoint on files that are no checkpoint: what they are, in one line, without torch's
advice to load with weights_only=False (which would not read them either)."""
import pytest
import torch

from restv2_mm.utils import read_checkpoint


@pytest.mark.parametrize('content,kind', [
    (b'hello, not a checkpoint\n', 'not the zip archive torch.save writes, nor a legacy torch file'),
    ('cut', 'a zip archive but not a whole torch one: truncated?'),
])
def test_files_that_are_no_checkpoint_say_what_they_are(tmp_path, content, kind):  # B20, B21
    path = tmp_path / 'model.pth'
    if content == 'cut':
        torch.save({'w': torch.zeros(4096)}, path)
        content = path.read_bytes()[:8192]
    path.write_bytes(content)
    with pytest.raises(RuntimeError) as info:
        read_checkpoint(str(path))
    message = str(info.value)
    assert message.startswith(f"'{path}' is not a readable torch checkpoint ({kind}): ")
    assert 'weights_only' not in message and '\n' not in message
