#!/usr/bin/env bash
# Build the documentation site (site/) from docs/ and the docstrings, failing on any warning:
# a docstring naming a missing argument, a reference that points nowhere, a broken page link.
# Usage: bash docs/build.sh            (installs the `docs` extra's packages first)
#        SKIP_INSTALL=1 bash docs/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SKIP_INSTALL:-}" ]; then
    # the `docs` extra's pinned packages only (lamina itself is read from src/, not reinstalled)
    python - <<'PY' > /tmp/lamina-docs-requirements.txt
import re
block = re.search(r"^docs = \[(.*?)^\]", open("pyproject.toml").read(), re.M | re.S).group(1)
print("\n".join(re.findall(r'"([^"]+)"', block)))
PY
    python -m pip install --quiet -r /tmp/lamina-docs-requirements.txt
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export NO_MKDOCS_2_WARNING=1
python -m mkdocs build --strict --site-dir site
