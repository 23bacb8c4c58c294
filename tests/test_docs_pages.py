"""The code on the guide pages runs as written: each page's ```python blocks, in order, in one
namespace (a later block may use an earlier one's names)."""

import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
PAGES = ["from_tf_keras.md"]


@pytest.mark.parametrize("page", PAGES)
def test_the_code_on_a_guide_page_runs(page):
    blocks = re.findall(r"^```python\n(.*?)^```", (DOCS / page).read_text(), re.M | re.S)
    assert blocks, f"{page} has no python blocks"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, f"{page}", "exec"), namespace)  # noqa: S102 - our own page
