"""Every process of a station's actor tree ends when the process that started it is gone.

Theory of operation
-------------------
Thespian's multiprocTCPBase runs the admin, its logger and every actor in processes of their
own, and nothing in Thespian ends them when the process that started the system dies: the
admin is daemonized on purpose (``startAdmin`` calls ``setsid()`` and forks once more, so its
parent is init from the start) and every actor lives until its parent actor tells it to exit.
A SIGKILL of ``run.py`` (or of the admin) therefore left the Root and every actor running for
ever, databases open, the admin port taken (issue #9). The guard ties the tree together:

* **Actors, the logger and every other process forked inside the tree** ask the kernel for
  SIGKILL when their parent dies (``prctl(PR_SET_PDEATHSIG)``), right after the fork. Thespian
  forks every actor from its parent actor, so the death of any process takes its whole
  subtree with it within milliseconds, without a timer or a message. A parent that died
  before the request took effect is caught by comparing ``getppid()`` with the pid that
  forked us.
* **The admin** cannot use that: its parent is the short-lived process that daemonized it.
  Instead a thread in the admin waits on a pidfd of the *starter* (the process that called
  ``start_actor_system``, e.g. run.py) and kills the admin once the starter has exited, which
  then takes the tree down as above. A thread is fine here: the admin is Thespian's process,
  not an actor, and the thread only waits.

Only processes descending from an admin that this module saw start are affected: forks in the
starter (a test process) and outside the tree keep the default. run.py's embedded CSMS asks
for the same by itself (:func:`die_with_parent` as its ``preexec_fn``). The
hooks are ``os.register_at_fork`` callbacks, which forked children inherit with the
interpreter, and a wrapper around Thespian's ``multiprocCommon.startAdmin``, the function the
daemonizing process runs (``station.thespian_compat`` checks that it exists).

Consequence: an actor system started through ``station.actor_system`` never outlives the
process that started it. A clean stop is still ``shutdown_actor_system``; this is the floor
under a crash or a SIGKILL.
"""
from __future__ import annotations

import ctypes
import os
import select
import signal
import threading
import time

from thespian.system import multiprocCommon

__all__ = ["die_with_parent", "install"]

_PR_SET_PDEATHSIG = 1               # <linux/prctl.h>
_POLL_S = 0.5                       # only without pidfd_open (Linux < 5.3)

_ORIGINAL_START_ADMIN = multiprocCommon.startAdmin

# Module state, copied into every forked child with the rest of the interpreter.
_forking_pid: int | None = None     # the pid that made the last fork: in a child, its parent's
_starter_pid: int | None = None     # in the admin: the process that started the system
# None outside a station tree; "launcher" in the process that daemonizes the admin; "admin";
# "tree" in every process forked by the admin or below it.
_role: str | None = None


def _before_fork() -> None:
    global _forking_pid
    _forking_pid = os.getpid()


def _after_fork_in_child() -> None:
    global _role
    if _role is None:
        return
    if _role == "launcher":
        _role = "admin"
        _watch_starter(_starter_pid)
    else:
        _role = "tree"
        die_with_parent(_forking_pid)


def die_with_parent(parent: int | None) -> None:
    """In a child just forked by ``parent``: be killed (SIGKILL) when ``parent`` dies. Also a
    ``preexec_fn`` for subprocesses of run.py (the embedded CSMS); the request survives exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return                      # not Linux: the tree relies on clean shutdowns only
    if os.getppid() != parent:      # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGKILL)


def _watch_starter(pid: int | None) -> None:
    if pid is None:
        return
    threading.Thread(target=_wait_then_end, args=(pid,), name="station-starter-watch",
                     daemon=True).start()


def _wait_then_end(pid: int) -> None:
    """In the admin: block until the starter exits, then end the admin (and so the tree)."""
    try:
        pidfd = os.pidfd_open(pid)
        select.select([pidfd], [], [])      # readable once the process has exited
    except ProcessLookupError:
        pass                                # gone already
    except (AttributeError, OSError, ValueError):
        # No pidfd_open (Linux < 5.3), or the descriptor was closed under us: poll instead.
        # A reused pid would keep the admin alive; rare, and no worse than without the guard.
        while _alive(pid):
            time.sleep(_POLL_S)
    # SIGKILL, not an orderly shutdown: nobody is left to ask for one, and the children's
    # PDEATHSIG needs the admin to die, which a stuck shutdown would not guarantee.
    os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_admin(*args, **kwargs):
    """Replaces ``multiprocCommon.startAdmin`` (the target of the admin's launcher process)."""
    global _role, _starter_pid
    _starter_pid = _forking_pid     # the fork that made this launcher was the starter's
    _role = "launcher"
    return _ORIGINAL_START_ADMIN(*args, **kwargs)


_installed = False


def install() -> None:
    """Register the fork hooks and wrap ``startAdmin``; idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
    if multiprocCommon.startAdmin is _ORIGINAL_START_ADMIN:
        multiprocCommon.startAdmin = _start_admin
