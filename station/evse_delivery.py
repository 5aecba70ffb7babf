"""Delivery from an Evse core to the CsmsSession: TransactionEvents and statuses, stop-and-wait.

Theory of operation
-------------------
The actor transport may delay a message and let a later one overtake it (Thespian's TCP
transport; station/actor_system.py patches the two ways it did so, but guarantees neither
order nor delivery). So nothing here relies on one message arriving, or on two arriving in
order:

* TransactionEvents go stop-and-wait: only the oldest unacknowledged one is out, the next
  leaves when the session's TransactionEventQueued for it arrives
  (:meth:`DeliveryLines.event_queued`), and it is sent again if that takes
  :data:`RESEND_AFTER_S`. The CSMS therefore gets every event, once (the session drops a seqNo
  it already queued), in seqNo order (E01.FR.07).
* Status announcements go the same way, in their own line: each carries a sequence number,
  the next leaves when the session acknowledged the previous one
  (:meth:`DeliveryLines.status_seen`), and one unacknowledged for :data:`RESEND_AFTER_S` is
  announced again. So the session sees every change, in order: an Available lost in transit
  and overtaken by the next Occupied would leave it holding Occupied, and the CSMS would hear
  of neither (G01.FR.01).

The unacknowledged TransactionEvents are part of the Evse's saved state
(:attr:`DeliveryLines.events`); the statuses are not: a restarted Evse announces every
connector afresh.
"""
from __future__ import annotations

from collections import deque
from datetime import datetime

from station.evse_intents import AnnounceStatus, Intent, SendTransactionEvent

# A TransactionEvent or a status the CsmsSession has not acknowledged after this long is sent
# again.
RESEND_AFTER_S = 2.0


class Turn:
    """Stop-and-wait for one line of messages to the CsmsSession: whether its head is out,
    and since when."""

    def __init__(self) -> None:
        self._since: float | None = None

    def take(self, t: float) -> bool:
        """Nothing is out: the head goes now (True), and counts as out from ``t``."""
        if self._since is not None:
            return False
        self._since = t
        return True

    def release(self) -> None:
        """Acknowledged, or to be sent again: the next :meth:`take` succeeds."""
        self._since = None

    def release_if_overdue(self, t: float) -> None:
        if self._since is not None and t - self._since >= RESEND_AFTER_S:
            self._since = None


class DeliveryLines:
    """The two lines from one Evse core to the CsmsSession (module docstring).

    The core adds what arose (:meth:`add_event`, :meth:`add_status`) and, whenever it
    collects intents, asks for the heads that may leave (:meth:`next_event`,
    :meth:`next_status`); the session's acknowledgements release them.
    """

    def __init__(self) -> None:
        # Unacknowledged TransactionEvents by event_key, oldest first; the head is out while
        # the turn is taken. The same for statuses, whose line is ``statuses``.
        self.events: dict[str, dict] = {}
        self._event_turn = Turn()
        self._status_sequence = 0
        self.statuses: deque[AnnounceStatus] = deque()
        self._status_turn = Turn()

    # -- TransactionEvents --------------------------------------------------------------------

    def add_event(self, event_key: str, payload: dict) -> None:
        self.events[event_key] = payload

    def event_queued(self, event_key: str) -> bool:
        """The session committed ``event_key``: forget it; the next one may leave. Returns
        whether it was still unacknowledged (the saved state changes)."""
        head = next(iter(self.events), None)            # the one out, if any is
        known = self.events.pop(event_key, None) is not None
        if event_key == head:
            self._event_turn.release()
        return known

    def next_event(self, t: float) -> list[Intent]:
        """The head of the event line if it may leave now (nothing of the line is out)."""
        if self.events and self._event_turn.take(t):
            key = next(iter(self.events))
            return [SendTransactionEvent(key, self.events[key])]
        return []

    # -- statuses -----------------------------------------------------------------------------

    def add_status(self, connector_id: int, status: str, at: datetime | None) -> None:
        self._status_sequence += 1
        self.statuses.append(AnnounceStatus(connector_id, status,
                                            sequence=self._status_sequence, at=at))

    def status_seen(self, connector_id: int, sequence: int) -> None:
        """The session holds announcement ``sequence``: the next one may leave. A late copy of
        an older acknowledgement changes nothing."""
        head = self.statuses[0] if self.statuses else None
        if head is not None and (head.connector_id, head.sequence) == (connector_id, sequence):
            self.statuses.popleft()
            self._status_turn.release()

    def next_status(self, t: float) -> list[Intent]:
        """The head of the status line if it may leave now."""
        if self.statuses and self._status_turn.take(t):
            return [self.statuses[0]]
        return []

    # -- both ---------------------------------------------------------------------------------

    def restart(self) -> None:
        """Send again from the start (the session may be new): the oldest event, and no status
        (the core announces every connector afresh: the news is the present)."""
        self._event_turn.release()
        self.statuses.clear()
        self._status_turn.release()

    def release_overdue(self, t: float) -> None:
        """Heads unacknowledged for :data:`RESEND_AFTER_S` may leave again."""
        self._event_turn.release_if_overdue(t)
        self._status_turn.release_if_overdue(t)
