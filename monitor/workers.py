"""What the service's worker processes (the feed parsers, the Apprise sender) share.

They are spawned, not forked: forking a process that runs an event loop and
threads can copy held locks into the child. They leave Ctrl-C to the service,
which stops them itself, and they end when the service ends, even by kill -9.

The feed parsers run at a lower priority than the service's own process
(``NICE``). That process is the pipeline's narrow part: every poll, match and
alert goes through its event loop. The parsers start while it starts and
parse while it fetches, and where every core is busy they take what it
leaves, not half of its core. Measured on 2 cores, 200 feeds cold: the last
alert came about 0.3 s sooner in each of six pairs of runs. The sending
process keeps the service's priority: it needs little CPU, and an alert
waits for it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

NICE = 10  # added to the workers' niceness: the service's own process goes first


def init_worker(parent: int) -> None:
    """Run first in a worker process; ``parent`` is the service's pid."""
    # Ctrl-C goes to the whole process group; the service stops its workers
    # itself, so they should not die first with a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)


def init_parser(parent: int) -> None:
    """``init_worker`` for a feed parser, which yields the CPU to the service
    (the service asked already, but a worker may be quicker)."""
    init_worker(parent)
    yield_to(parent, os.getpid())


def yield_to(service: int, worker: int) -> None:
    """Give ``worker`` a lower priority than ``service`` (``NICE`` more). The
    service calls it as soon as a worker is spawned: a worker's own start
    (the interpreter, its imports) comes while the service imports too."""
    try:
        below = min(19, os.getpriority(os.PRIO_PROCESS, service) + NICE)
        if os.getpriority(os.PRIO_PROCESS, worker) < below:
            os.setpriority(os.PRIO_PROCESS, worker, below)
    except OSError:  # gone already, or a platform without priorities
        pass


def _die_with(parent: int) -> None:
    """Ask Linux to end this worker when the service dies, even by kill -9
    (which gives the service no chance to stop its workers)."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # the service died before the request took effect
        os._exit(0)
