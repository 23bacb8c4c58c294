"""matplotlib, imported only when a figure is asked for, and figures turned into PNG bytes.

`import lamina` never imports matplotlib: it is an optional dependency (`pip install
'lamina[plot]'`), and importing it costs about half a second. Every plotting function calls
`pyplot()` first.
"""

from __future__ import annotations

import importlib.util
import io

INSTALL_HINT = "pip install 'lamina[plot]'"


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported (without importing it).

    Examples:
        >>> isinstance(matplotlib_available(), bool)
        True
    """
    try:
        return importlib.util.find_spec("matplotlib") is not None
    except ValueError:  # a module set to None in sys.modules (how tests hide a package)
        return False


def _backend_chosen(matplotlib) -> bool:
    """Whether a backend was picked (MPLBACKEND, matplotlibrc, matplotlib.use, a notebook)."""
    # rcParams keeps a sentinel until a backend is chosen or resolved; the accessor is private, so
    # fall back to the environment variable, the usual way a backend is chosen outside code.
    backend_or_none = getattr(matplotlib.rcParams, "_get_backend_or_none", None)
    if backend_or_none is not None:
        return backend_or_none() is not None
    import os

    return bool(os.environ.get("MPLBACKEND"))


def pyplot():
    """`matplotlib.pyplot`, on the non-interactive Agg backend unless another was chosen.

    Agg draws without a display (servers, CI, `lamina train` over ssh); a backend the user chose
    (a notebook's inline backend, `MPLBACKEND=TkAgg`, `matplotlib.use(...)`) is left alone.
    """
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            "lamina.visualization draws with matplotlib, which is not installed. "
            f"Hint: {INSTALL_HINT}"
        ) from error
    if not _backend_chosen(matplotlib):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_png(figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (no 'Software' metadata: the file carries no URL)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def save_png(figure, path) -> None:
    """Write the figure to `path` as PNG, atomically (a crash leaves the previous file intact)."""
    from lamina.saving.atomic import write_bytes

    write_bytes(path, figure_png(figure))
