"""Delivery from an Evse core to the CsmsSession: TransactionEvents and statuses, stop-and-wait.

Theory of operation
-------------------
The actor transport may delay a message and let a later one overtake it (Thespian's TCP
transport; station/actor_system.py patches the two ways it did so, but guarantees neither
order nor delivery). So nothing here relies on one message arriving, or on two arriving in
order. TransactionEvents and connector status announcements travel on **one line**,
stop-and-wait:

* Only the head of the line is out. The next leaves when the session acknowledged the head:
  TransactionEventQueued once it committed an event to its durable queue
  (:meth:`DeliveryLine.event_queued`), ConnectorStatusSeen once it took a status
  (:meth:`DeliveryLine.status_seen`; each announcement carries a sequence number). A head
  unacknowledged for :data:`RESEND_AFTER_S` is sent again. So the CSMS gets every event, once
  (the session drops a seqNo it already queued), in seqNo order (E01.FR.07), and the session
  sees every status change, in order: an Available lost in transit and overtaken by the next
  Occupied would leave it holding Occupied, and the CSMS would hear of neither (G01.FR.01).
* **Causal order.** What one step of the core produces joins the line at the end of the step,
  statuses first, then TransactionEvents: a status changes with the hardware event that
  caused it, and the transaction event follows from it. At plug-in with TxStartPoint
  EVConnected the CSMS gets StatusNotification Occupied, then TransactionEvent Started
  (E02 Figure "Start transaction options", E02.FR.05; at an unplug the same E06 diagram shows
  StatusNotification Available before the Ended event), as EVerest's OCPP201 module reports a
  session start (``on_session_started``) before the transaction it starts. This holds at the
  CSMS because the session puts the StatusNotification on its link before it acknowledges
  the status, and an event leaves the Evse only after that acknowledgement.

Offline, the session cannot send the StatusNotification; it keeps the connector's latest
status and reports it after the reconnect (B04.FR.01/02), before it resumes the queue of
TransactionEvents (blocks/availability.py registers for the reconnect before the outbox). So
a status still comes before the events it caused; intermediate statuses of the offline period
are not reported, which B04 allows.

The unacknowledged TransactionEvents are part of the Evse's saved state
(:attr:`DeliveryLine.events`); the statuses are not: a restarted Evse announces every
connector afresh, after the events it restored (what it saved unacknowledged arose before).
"""
from __future__ import annotations

from collections import deque
from datetime import datetime

from messages.ocpp201 import ConnectorStatusEnumType, TransactionEventRequest
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


class DeliveryLine:
    """The one line from an Evse core to the CsmsSession (module docstring).

    During a step the core adds what arose (:meth:`add_event`, :meth:`add_status`); at the end
    of the step it calls :meth:`close_step`, which puts the step's statuses and then its events
    on the line, and :meth:`next`, which hands out the head if it may leave now. The session's
    acknowledgements release the head.
    """

    def __init__(self) -> None:
        self._line: deque[AnnounceStatus | SendTransactionEvent] = deque()
        self._turn = Turn()                    # taken while the head is out
        self._status_sequence = 0
        self._step_statuses: list[AnnounceStatus] = []
        self._step_events: list[SendTransactionEvent] = []

    # -- what arose ---------------------------------------------------------------------------

    def add_event(self, event_key: str, payload: TransactionEventRequest) -> None:
        """A TransactionEvent of this step."""
        self._step_events.append(SendTransactionEvent(event_key, payload))

    def add_status(self, connector_id: int, status: ConnectorStatusEnumType,
                   at: datetime | None) -> None:
        """A connector status of this step. One the line already carries as the connector's
        latest (the core announces every connector again after :meth:`restart`) is on its way
        and keeps its place."""
        pending = [i.status for i in (*self._line, *self._step_statuses)
                   if isinstance(i, AnnounceStatus) and i.connector_id == connector_id]
        if pending and pending[-1] == status:
            return
        self._status_sequence += 1
        self._step_statuses.append(AnnounceStatus(connector_id, status,
                                                  sequence=self._status_sequence, at=at))

    def restore_events(self, events: list[list]) -> None:
        """Events saved unacknowledged before a restart (``[[event_key, payload], ...]``, the
        payloads as wire dicts: the saved state is JSON)."""
        self._line.extend(SendTransactionEvent(key, TransactionEventRequest.model_validate(payload))
                          for key, payload in events)

    def close_step(self) -> None:
        """The step is over: its statuses join the line, then its events (causal order)."""
        self._line.extend(self._step_statuses)
        self._line.extend(self._step_events)
        self._step_statuses, self._step_events = [], []

    @property
    def events(self) -> dict[str, TransactionEventRequest]:
        """The TransactionEvents not yet acknowledged, by event_key, oldest first."""
        return {i.event_key: i.payload for i in (*self._line, *self._step_events)
                if isinstance(i, SendTransactionEvent)}

    @property
    def statuses(self) -> list[AnnounceStatus]:
        """The status announcements not yet acknowledged, oldest first."""
        return [i for i in (*self._line, *self._step_statuses) if isinstance(i, AnnounceStatus)]

    # -- sending and acknowledgements ---------------------------------------------------------

    def next(self, t: float) -> list[Intent]:
        """The head of the line if it may leave now (nothing is out), counted out from ``t``."""
        if self._line and self._turn.take(t):
            return [self._line[0]]
        return []

    def event_queued(self, event_key: str) -> bool:
        """The session committed ``event_key``: forget it; after the head, the next may leave.
        Returns whether it was still unacknowledged (the saved state changes)."""
        head = self._line[0] if self._line else None
        if isinstance(head, SendTransactionEvent) and head.event_key == event_key:
            self._line.popleft()
            self._turn.release()
            return True
        for item in self._line:                     # a copy's answer: not the one out
            if isinstance(item, SendTransactionEvent) and item.event_key == event_key:
                self._line.remove(item)
                return True
        return False

    def status_seen(self, connector_id: int, sequence: int) -> None:
        """The session holds announcement ``sequence``: the next may leave. A late copy of an
        older acknowledgement changes nothing."""
        head = self._line[0] if self._line else None
        if isinstance(head, AnnounceStatus) and (head.connector_id, head.sequence) == (
                connector_id, sequence):
            self._line.popleft()
            self._turn.release()

    @property
    def head(self) -> AnnounceStatus | SendTransactionEvent | None:
        """The oldest unacknowledged item: the one out, or the next to leave."""
        return self._line[0] if self._line else None

    def restart(self) -> None:
        """Send again from the head (the session may be new, or what went out was lost). The
        line keeps its order, so a status still goes before the events it caused; the core
        then announces every connector again (:meth:`add_status` skips the news already on
        the line)."""
        self._turn.release()

    def release_overdue(self, t: float) -> None:
        """A head unacknowledged for :data:`RESEND_AFTER_S` may leave again."""
        self._turn.release_if_overdue(t)
