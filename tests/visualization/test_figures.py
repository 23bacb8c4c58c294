"""matplotlib stays optional: not imported by `import lamina`, Agg only when no backend was chosen,
and a clear ImportError when it is missing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lamina import visualization
from lamina.visualization import figures

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import lamina
import lamina.visualization
assert "matplotlib" not in sys.modules, "import lamina imported matplotlib"
{before}
lamina.visualization.figures.pyplot()
import matplotlib
# Read before any figure exists: matplotlib resolves an unchosen backend only at the first figure
# (to Agg anyway on a machine without a display), so this shows what lamina itself chose.
print("chosen:", str(matplotlib.rcParams._get_backend_or_none()).lower())
lamina.visualization.plot_history({{"loss": [1.0, 0.5]}})
print("backend:", matplotlib.get_backend().lower())
"""

# (id, MPLBACKEND or None, code run before plotting, the backend expected afterwards)
BACKENDS = [
    ("nothing-chosen", None, "", "agg"),
    ("environment", "svg", "", "svg"),
    ("matplotlib-use", None, "import matplotlib; matplotlib.use('pdf')", "pdf"),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "env_backend, before, expected", [b[1:] for b in BACKENDS], ids=[b[0] for b in BACKENDS]
)
def test_lazy_import_and_backend_choice(env_backend, before, expected, tmp_path):
    env = {
        key: value for key, value in os.environ.items() if key not in ("MPLBACKEND", "MATPLOTLIBRC")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    if env_backend:
        env["MPLBACKEND"] = env_backend
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(before=before)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip().splitlines()[-2:] == [
        f"chosen: {expected}",
        f"backend: {expected}",
    ]


@pytest.mark.parametrize(
    "draw",
    [
        lambda: visualization.plot_history({"loss": [1.0]}),
        lambda: visualization.plot_confusion_matrix([0, 1], [0, 1]),
        lambda: visualization.build_report(title="t", history={"loss": [1.0]}),
    ],
    ids=["plot_history", "plot_confusion_matrix", "build_report"],
)
def test_missing_matplotlib_says_how_to_install_it(draw, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    assert not visualization.matplotlib_available()
    with pytest.raises(
        ImportError,
        match=r"lamina\.visualization draws with matplotlib, which is "
        r"not installed\. Hint: pip install 'lamina\[plot\]'",
    ):
        draw()


def test_numbers_need_no_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert visualization.confusion_matrix([0, 1, 1], [1, 1, 0]).tolist() == [[0, 1], [1, 1]]


def test_matplotlib_is_available_here():
    assert figures.matplotlib_available()
