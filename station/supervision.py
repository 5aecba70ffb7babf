"""Restart intensity for the Root supervisor: how many restarts are too many.

A child that dies is restarted; one that keeps dying would make the Root loop forever, burning
CPU and flooding the log while the station looks alive. Like Erlang/OTP's ``intensity`` and
``period``, a child may restart at most ``max_restarts`` times within ``period`` seconds; one
more and the station stops with a clear error instead.
"""
from __future__ import annotations

from collections import defaultdict, deque
from typing import Hashable


class RestartBudget:
    def __init__(self, max_restarts: int = 5, period: float = 60.0) -> None:
        self.max_restarts = max_restarts
        self.period = period
        self._history: dict[Hashable, deque[float]] = defaultdict(deque)
        self.total: dict[Hashable, int] = defaultdict(int)

    def allow(self, child: Hashable, now: float) -> bool:
        """Record a restart of ``child`` at ``now``; False when it exceeds the budget."""
        history = self._history[child]
        while history and history[0] <= now - self.period:
            history.popleft()
        if len(history) >= self.max_restarts:
            return False
        history.append(now)
        self.total[child] += 1
        return True
