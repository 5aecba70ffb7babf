"""The test CSMS's record of everything it received and sent, and the waits tests use.

Two bounded, ordered lists share one sequence: parsed messages from stations
(`Received`) and raw websocket frames in both directions (`Frame`). Every entry
gets the next sequence number, so `mark` is a position in both and ``after=``
filters either. Writers are the server's loop thread; readers are test threads
that block in `wait_for` / `wait_raw` on a condition the writers notify. No I/O.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import threading
import time
from typing import Any, Callable

HISTORY = 50_000             # entries kept of each kind; bounds memory when run alone for days


@dataclasses.dataclass(frozen=True)
class Received:
    """One parsed message from a station.

    Attributes:
        identity: station identity (from the connection URL).
        action: the CALL's action; for a result/error, the action of the CALL it
            answers; None when unknown.
        message_id: the frame's message id (``"-1"`` when unreadable).
        payload: CALL/CALLRESULT payload; for kind ``"error"`` a dict with
            ``errorCode``, ``errorDescription``, ``errorDetails``; None for
            kind ``"malformed"``.
        timestamp: ``time.time()`` at receipt.
        kind: ``"call"``, ``"result"``, ``"error"`` or ``"malformed"``.
        violation: ``"<ErrorCode>: <why>"`` when the frame broke part 4, the
            schema or the registration rules; None when it was fine.
        seq: position in the server-wide record (compare with `CsmsServer.mark`).
    """

    identity: str
    action: str | None
    message_id: str
    payload: Any
    timestamp: float
    kind: str = "call"
    violation: str | None = None
    seq: int = 0


@dataclasses.dataclass(frozen=True)
class Frame:
    """One raw websocket frame, as sent or received.

    Attributes:
        identity: station identity.
        direction: ``"in"`` (station -> CSMS) or ``"out"`` (CSMS -> station).
        text: the frame text (binary frames are decoded with replacement).
        timestamp: ``time.time()``.
        seq: position in the server-wide record.
    """

    identity: str
    direction: str
    text: str
    timestamp: float
    seq: int


class Record:
    """Thread-safe record of received messages and frames (see module docstring).

    Args:
        history: how many messages, and how many frames, are kept.
    """

    def __init__(self, history: int = HISTORY):
        self._cond = threading.Condition(threading.RLock())
        self._records: collections.deque[Received] = collections.deque(maxlen=history)
        self._frames: collections.deque[Frame] = collections.deque(maxlen=history)
        self._seq = 0

    # ------------------------------------------------------------------ writing

    def add_frame(self, identity: str, direction: str, text: str) -> None:
        """Record a raw frame (``direction`` "in" or "out") and wake the waiters."""
        with self._cond:
            self._seq += 1
            self._frames.append(Frame(identity, direction, text, time.time(), self._seq))
            self._cond.notify_all()

    def add(self, identity: str, action: str | None, message_id: str, payload: Any,
            kind: str, violation: str | None = None) -> None:
        """Record a parsed message (fields as in `Received`) and wake the waiters."""
        with self._cond:
            self._seq += 1
            self._records.append(Received(identity, action, message_id, payload, time.time(),
                                          kind, violation, self._seq))
            self._cond.notify_all()

    # ------------------------------------------------------------------ reading

    def mark(self) -> int:
        """A position in the record; pass it as ``after=`` to only see newer things."""
        with self._cond:
            return self._seq

    def received(self, action: str | None = None, identity: str | None = None, *,
                 kind: str | None = "call") -> list[Received]:
        """Copies of the parsed messages received so far, oldest first.

        Args:
            action: only this action.
            identity: only this station.
            kind: ``"call"`` (default), ``"result"``, ``"error"``, ``"malformed"``
                or None for all.
        """
        with self._cond:
            hits = [r for r in self._records
                    if (action is None or r.action == action)
                    and (identity is None or r.identity == identity)
                    and (kind is None or r.kind == kind)]
            return [dataclasses.replace(r, payload=copy.deepcopy(r.payload)) for r in hits]

    def violations(self, identity: str | None = None) -> list[Received]:
        """Copies of every received message that broke a rule (``violation`` set)."""
        return [r for r in self.received(identity=identity, kind=None) if r.violation]

    def frames(self, identity: str | None = None, direction: str | None = None) -> list[Frame]:
        """Raw frames sent and received, oldest first (``direction`` "in"/"out")."""
        with self._cond:
            return [f for f in self._frames
                    if (identity is None or f.identity == identity)
                    and (direction is None or f.direction == direction)]

    # ------------------------------------------------------------------ waiting

    def wait_for(self, action: str, *, identity: str | None = None,
                 predicate: Callable[[dict], bool] | None = None,
                 timeout: float = 10.0, after: int | None = None) -> dict:
        """Block until a schema-valid CALL of ``action`` has been received.

        Looks at the whole record (or only past ``after``, see `mark`), so a CALL
        that arrived before this was called counts.

        Returns:
            A copy of the first matching CALL's payload.

        Raises:
            TimeoutError: none arrived in ``timeout`` seconds (the message lists
                invalid CALLs of that action, which never match).
        """
        def match(r: Received) -> bool:
            return (r.kind == "call" and r.action == action and r.violation is None
                    and (identity is None or r.identity == identity)
                    and (after is None or r.seq > after)
                    and (predicate is None or bool(predicate(r.payload))))

        record = self._wait(match, timeout)
        if record is None:
            bad = [r.violation for r in self.violations(identity) if r.action == action]
            raise TimeoutError(f"no valid {action} from {identity or 'any station'} within "
                               f"{timeout}s" + (f"; invalid ones: {bad}" if bad else ""))
        return copy.deepcopy(record.payload)

    def _wait(self, match: Callable[[Received], bool], timeout: float) -> Received | None:
        deadline = time.monotonic() + timeout
        checked = -1
        with self._cond:
            while True:
                for record in self._records:
                    if record.seq > checked and match(record):
                        return record
                checked = self._seq
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def wait_raw(self, identity: str, predicate: Callable[[str], bool] | None = None,
                 timeout: float = 10.0, *, after: int | None = None) -> str:
        """Block until ``identity`` sent a frame that satisfies ``predicate``.

        Args:
            after: only frames newer than this `mark`.

        Returns:
            The raw frame text.

        Raises:
            TimeoutError: none within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for frame in self._frames:
                    if (frame.direction == "in" and frame.identity == identity
                            and (after is None or frame.seq > after)
                            and (predicate is None or predicate(frame.text))):
                        return frame.text
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching frame from {identity} within {timeout}s")
                self._cond.wait(remaining)
