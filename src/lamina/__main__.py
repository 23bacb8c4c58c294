"""`python -m lamina` is the `lamina` command."""

import sys

from lamina.cli import main

sys.exit(main())
