"""Child processes that a test stops with Ctrl-C (SIGINT), as a user at a terminal would."""

from __future__ import annotations

import signal


def ctrl_c_as_at_a_terminal() -> None:
    """``preexec_fn`` for such a child: SIGINT back to its default action.

    A shell starts background jobs (``pytest ... &``, CI steps run beside each other) with
    SIGINT ignored, and a child inherits that; Python then installs no KeyboardInterrupt
    handler, the test's Ctrl-C is lost and the test times out, for a reason that has nothing to
    do with the code under test.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
