"""Pictures of the analyses: matplotlib without a display, PNGs written atomically."""
import io


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (imported on first use)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def save_png(fig, path: str, dpi: int = 80) -> None:
    """Write ``fig`` to ``path`` as a PNG (80 dpi: small files for the docs), atomically
    (:func:`restv2_mm.utils.atomic_write`), and close it."""
    from ..utils import atomic_write
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi)
    atomic_write(path, buffer.getvalue())
    pyplot().close(fig)
