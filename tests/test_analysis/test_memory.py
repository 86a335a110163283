"""The glibc settings a benchmark records beside its command (restv2_mm.analysis.malloc_settings)."""
from restv2_mm.analysis import fresh_process_env, malloc_settings


def test_malloc_settings_are_the_malloc_variables_sorted(monkeypatch):
    monkeypatch.setenv('MALLOC_TRIM_THRESHOLD_', '4294967296')
    monkeypatch.setenv('MALLOC_MMAP_THRESHOLD_', '4294967296')
    monkeypatch.setenv('NOT_MALLOC_', '1')
    settings = malloc_settings()
    assert list(settings) == sorted(settings)
    assert {k: settings[k] for k in ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_')} == {
        'MALLOC_MMAP_THRESHOLD_': '4294967296', 'MALLOC_TRIM_THRESHOLD_': '4294967296'}
    assert all(k.startswith('MALLOC_') for k in settings)
    # A measuring process runs with other settings than the process that records them.
    assert fresh_process_env()['MALLOC_MMAP_THRESHOLD_'] == '65536'
