"""Child processes that die with the process that started them.

`serve` and `replay` start Datasette and pywb, `schedule` starts crawls, a
worker starts crawls: killed with -9 (or by the OOM killer), the parent
cannot stop them, and they would keep a port, a data folder's lock or a site
busy.  Linux sends a child a signal of our choice when its parent dies
(`PR_SET_PDEATHSIG`); elsewhere nothing is done.
"""

from __future__ import annotations

import ctypes
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def death_signal(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` (or `os.register_at_fork` hook) that has the kernel send `sig` to the child when its
    parent dies; None where the system has no prctl.  The library call is looked up now, before any fork."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(_PR_SET_PDEATHSIG, int(sig))
