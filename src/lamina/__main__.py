"""`python -m lamina` is the `lamina` command."""

import sys

from lamina.cli import main

if __name__ == "__main__":  # importing the module (as documentation tools do) runs nothing
    sys.exit(main())
