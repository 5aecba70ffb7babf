"""Process-tree memory figures for benchmarks, read from Linux ``/proc``.

Under multiprocTCPBase every actor is a process, so "how much memory does a 128-EVSE station
use" is a question about a process *tree*. Resident set size (RSS) overstates it: forked
children share the parent's pages (copy-on-write), and summing RSS counts those pages once per
process. Proportional set size (PSS) divides every shared page among the processes that map
it, so the PSS of all processes of a tree adds up to the memory the tree really costs.

Nothing here has side effects at import; every function reads ``/proc`` when called. Processes
that exit while being read are skipped, not reported as errors: a tree changes while you
look at it.

Note: a Thespian admin double-forks and calls ``setsid()``, so it is not a descendant of the
process that started the actor system. Pass the admin's pid (or the pid that owns its port)
as `root_pid` to measure the actor tree.
"""
from __future__ import annotations

import os
from collections.abc import Iterable

__all__ = ["cpu_seconds", "format_bytes", "pss_bytes", "tree_pids"]

_PROC = "/proc"


def _parent_pid(pid: int) -> int | None:
    try:
        with open(f"{_PROC}/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may itself contain spaces and parentheses, so split
    # after the *last* closing parenthesis.
    fields = text.rpartition(")")[2].split()
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return None


def tree_pids(root_pid: int) -> list[int]:
    """Return `root_pid` and all its living descendants, sorted.

    Args:
        root_pid: Process at the top of the tree.

    Returns:
        Sorted pids; empty if `root_pid` does not exist.
    """
    children: dict[int, list[int]] = {}
    for name in os.listdir(_PROC):
        if name.isdigit():
            ppid = _parent_pid(int(name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(name))
    if not os.path.exists(f"{_PROC}/{root_pid}"):
        return []
    found: set[int] = set()
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, ()))
    return sorted(found)


def _pss_kib(pid: int) -> int:
    try:
        with open(f"{_PROC}/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])  # "Pss:   1234 kB"
    except (OSError, ValueError, IndexError):
        pass
    return 0  # exited, a kernel thread, or not ours to read


def pss_bytes(pids: Iterable[int]) -> int:
    """Sum the proportional set size of `pids`, in bytes.

    Args:
        pids: Processes to measure, e.g. ``tree_pids(admin_pid)``.

    Returns:
        Total PSS in bytes. Processes that are gone or unreadable count as 0.
    """
    return sum(_pss_kib(pid) for pid in set(pids)) * 1024


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"{_PROC}/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return int(fields[11]) + int(fields[12])   # utime, stime (fields 14 and 15 of stat)
    except (OSError, ValueError, IndexError):
        return 0


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """User plus system CPU time each of `pids` has used so far, in seconds.

    Take it before and after a measured window and subtract per pid: a process that started
    in between counts from 0, one that ended is missing from the second reading (its time is
    lost, so keep the window shorter than the processes' lives).
    """
    hz = os.sysconf("SC_CLK_TCK")
    return {pid: _cpu_ticks(pid) / hz for pid in set(pids)}


def format_bytes(n: float) -> str:
    """Format a byte count with binary units: ``format_bytes(3_500_000) == '3.3 MiB'``."""
    sign = "-" if n < 0 else ""
    value = float(abs(n))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
