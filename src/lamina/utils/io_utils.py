"""Where training messages go: stdout, or Python's `logging` when interactive logging is off.

Keras sends progress bars and callback messages to stdout while interactive logging is enabled
(the default) and to its logger once `disable_interactive_logging()` is called, so a service can
keep them out of its standard output. lamina does the same through the `lamina` logger.
"""

from __future__ import annotations

import logging
import sys

from lamina import config

logger = logging.getLogger("lamina")


def print_msg(message, line_break: bool = True) -> None:
    """Prints a message to stdout, or logs it at INFO level when interactive logging is off.

    Args:
        message: what to print (converted with `str`).
        line_break: whether to end it with a newline (stdout only; a log record is one line).

    Example:
        >>> print_msg("Epoch 1/3")
        Epoch 1/3
    """
    message = str(message)
    if config.is_interactive_logging_enabled():
        sys.stdout.write(f"{message}\n" if line_break else message)
        sys.stdout.flush()
    else:
        logger.info(message)
