"""The station's durable queue of outgoing CALLs, as plain logic: no socket, no clock, no actor.

Theory of operation
-------------------
Blocks hand the CsmsSession messages that must reach the CSMS *eventually*, in order, even if
the connection is down or the process dies: TransactionEvents above all (billing depends on
them), SecurityEventNotifications (A04.FR.02: "queued with a guaranteed delivery"), and, when
OCPPCommCtrlr.QueueAllMessages is true, the notifications whose send policy says so
(MeterValues, NotifyEvent, NotifyChargingLimit, ...). Which action goes where is decided once,
in ``station.send_policy``; ``station.sender.Sender`` applies it and passes ``transactional``
explicitly (GUARANTEED: the transactional lane). The CsmsSession actor drives the queue::

    queue.enqueue(action, payload, created_at=...)      # a block has a message; durable on return
    queue.set_online(True, now, registration_accepted)  # connected / Accepted / disconnected
    item = queue.next_to_send(now)                      # None, or the one message to send now
    session.call(item.action, item.payload, on_result=..., on_error=...)
    queue.delivered(item.message_id)                    # CALLRESULT
    queue.failed(item.message_id, now, code)            # CALLERROR, or "Timeout"
    queue.requeue(item.message_id)                      # never got to the CSMS (connection lost)
    wake up at queue.next_deadline()                    # retry waits, MessageQueueResumeDelay

Message classes::

    class          actions                         stored in           offline, QueueAll false
    transactional  GUARANTEED: TransactionEvent,   TRANSACTION_QUEUE   kept (E04.FR.01, E11.FR.01)
                   SecurityEventNotification,
                   ReservationStatusUpdate
    normal         QUEUE_ALL (send_policy)         NORMAL_QUEUE only   dropped
                                                   if QueueAllMessages

A message is *durable* when it is stored: transactional ones always, normal ones while
QueueAllMessages is true. Only durable messages are retried (E13; libocpp retries the messages
QueueAllMessages keeps too, the queue is meant to deliver them). A message that is not durable
is sent at most once: a CALLERROR, a timeout or a lost connection drops it, and while the
station is offline or not yet Accepted such a message is refused at ``enqueue``
(QueueAllMessages, appendix 2.1.9: when false "only queue Transaction related messages").

Order. Each class is a strict FIFO lane: a transactional message never overtakes an older
transactional one, so the CSMS sees every EVSE's seqNo in order and a failed message is
retried (or given up, E13.FR.04) before the next one goes. Between the lanes the older message
goes first, except that a lane whose head waits for a retry does not hold up the other lane
(libocpp does the same, so a StatusNotification is not stuck behind a retry wait).

Gate. Nothing goes out unless the link is up *and* the registration is Accepted (B01.FR.08,
B02.FR.02: "this includes cached OCPP messages ... from prior sessions"), *and* after a
reconnect MessageQueueResumeDelay has passed (EVerest's setting; not applied on the first
connect of the process, so a booting station is not slowed down). At most one queued message
is in flight; the next goes out only after ``delivered``, ``failed`` or ``requeue``.

Retries (E13, TC_E_41/42/50/51). MessageAttempts[TransactionEvent] is the total number of
transmissions. After the k-th failed transmission (CALLERROR or MessageTimeout) the message is
given up when k >= MessageAttempts (E13.FR.04: deleted, reported as :class:`MessageDropped`,
the next one follows); otherwise it is sent again, under a new wire message id (part 4 §4.1.4),
``k * MessageAttemptInterval[TransactionEvent]`` seconds after the failure (E13.FR.03: "the
number of preceding transmissions of this same message times" the interval; the example: 60 s,
then 120 s). The failure count is stored (MESSAGE_ATTEMPTS), so a restart does not reset it. A
lost connection is not a failure to process (E13 remark: offline "is different"): the message
goes back to the head of its lane, its count unchanged. A retry wait is kept in memory only; a
restarted station sends a waiting message as soon as the gate opens.

The offline flag (TransactionEvent only). An event created while the station is offline gets
``"offline": true`` (E04.FR.03, E08.FR.07, E12.FR.02); "created" is the ``created_at`` the
caller gives (an Evse's event: its own timestamp), so an event created just before a reconnect
that reaches the queue just after it still counts as offline. When the station goes offline, every
TransactionEvent still queued gets it too, the one in flight included (E11.FR.07), and so does
every TransactionEvent reloaded after a restart (the process went down before delivering it;
it reaches the CSMS late, which is what the flag tells). The flag is applied in memory only: the
stored row keeps the payload as created, and a restart re-applies the rule.

Restarts. A new MessageQueue on the same database reloads every stored message in order (see
``storage.queue_repo``). A message that was in flight when the process died is sent again:
delivery is at-least-once, because a row is deleted only once the CSMS answered. The CSMS can
recognise a repeated TransactionEvent by (transactionId, seqNo) and a repeated
SecurityEventNotification by (type, timestamp); the wire message id is always new (part 4
§4.1.4: "This also applies to retries of messages"), so it cannot be used for that.

Ids. ``message_id`` everywhere in this module is the queue's id of a message (UNIQUE_ID in the
table), not the id of a CALL on the wire: ``ocppj.rpc`` gives every transmission a fresh one.
"""
from __future__ import annotations

import logging
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from station.send_policy import POLICIES, SendPolicy
from storage.queue_repo import StoredMessage

__all__ = [
    "CONNECTION_LOST",
    "TIMEOUT",
    "TRANSACTIONAL_ACTIONS",
    "MessageDropped",
    "MessageQueue",
    "OutgoingMessage",
    "QueueStore",
]

log = logging.getLogger(__name__)

# The "must not be lost" class (libocpp's is_transaction_message() has the first two): the
# GUARANTEED actions of the one table.
TRANSACTIONAL_ACTIONS = frozenset(action for action, policy in POLICIES.items()
                                  if policy is SendPolicy.GUARANTEED)
# Error code StationSession hands on_error when the link died with the CALL outstanding.
CONNECTION_LOST = "ConnectionLost"
TIMEOUT = "Timeout"

_NEVER = float("-inf")


class QueueStore(Protocol):
    """What the queue needs from storage (``storage.queue_repo.QueueRepository``)."""

    def insert(self, message: StoredMessage) -> None: ...

    def insert_many(self, messages: list[StoredMessage]) -> None: ...

    def delete(self, unique_id: str, *, transactional: bool) -> None: ...

    def set_attempts(self, unique_id: str, attempts: int, *, transactional: bool) -> None: ...

    def clear(self, *, transactional: bool) -> int: ...

    def load(self, *, include_normal: bool = True) -> list[StoredMessage]: ...


class OutgoingMessage(NamedTuple):
    """The message to send now. Unpacks as ``(message_id, action, payload)``.

    ``payload`` is the queue's own dict: serialize it (``session.call`` does), do not change it.
    """

    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class MessageDropped:
    """A queued message that will not be sent (again); for the log and for its block.

    Attributes:
        message_id: The queue's id of the message.
        action: Its action.
        payload: Its payload.
        reason: ``"attempts"`` (the last attempt failed, E13.FR.04), ``"error"`` (a message
            that is not durable got a CALLERROR or timed out), ``"offline"`` (a message that is
            not durable was queued when the station went offline, or QueueAllMessages was
            switched off while offline).
        attempts: Failed transmissions, this one included.
        error_code: The CALLERROR code, ``"Timeout"``, or None.
    """

    message_id: str
    action: str
    payload: dict[str, Any]
    reason: str
    attempts: int
    error_code: str | None = None


@dataclass(eq=False)
class _Entry:
    message_id: str
    action: str
    payload: dict[str, Any]
    created_at: datetime
    transactional: bool
    durable: bool
    seq: int
    attempts: int = 0             # failed transmissions so far
    not_before: float = _NEVER    # retry wait (E13.FR.03)
    in_flight: bool = False

    @property
    def transaction_id(self) -> str | None:
        if self.action != "TransactionEvent":
            return None
        info = self.payload.get("transactionInfo")
        return info.get("transactionId") if isinstance(info, dict) else None

    def stored(self) -> StoredMessage:
        return StoredMessage(self.message_id, self.action, self.payload, self.created_at,
                             self.attempts, self.transactional)


class MessageQueue:
    """The outgoing message queue (see the module docstring).

    Construction reloads every stored message. When ``queue_all_messages`` is false, rows left
    in NORMAL_QUEUE by an earlier run are deleted instead (libocpp does the same).

    Args:
        store: The persistence port, normally a ``storage.queue_repo.QueueRepository``.
        message_attempts: OCPPCommCtrlr.MessageAttempts[TransactionEvent]; values below 1 mean 1.
        message_attempt_interval: OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent], s.
        queue_all_messages: OCPPCommCtrlr.QueueAllMessages.
        resume_delay: EVerest's MessageQueueResumeDelay, s, applied after a reconnect.
        new_message_id: Generator of queue ids (UUIDs by default); inject one in tests.
    """

    def __init__(
        self,
        store: QueueStore,
        *,
        message_attempts: int = 3,
        message_attempt_interval: float = 60.0,
        queue_all_messages: bool = False,
        resume_delay: float = 0.0,
        new_message_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._store = store
        self.message_attempts = message_attempts
        self.message_attempt_interval = message_attempt_interval
        self.resume_delay = resume_delay
        self._queue_all = bool(queue_all_messages)
        self._new_message_id = new_message_id
        self._lanes: dict[bool, deque[_Entry]] = {True: deque(), False: deque()}
        self._by_id: dict[str, _Entry] = {}
        self._transactions: Counter[str] = Counter()   # transactionId -> queued events (E14)
        self._in_flight: _Entry | None = None
        self._seq = 0
        self._online = False
        self._online_since: datetime | None = None     # station time of the last connect
        self._accepted = False
        self._connects = 0
        self._resume_at = _NEVER
        self._reload()

    # ------------------------------------------------------------------ settings

    @property
    def message_attempts(self) -> int:
        return self._attempts

    @message_attempts.setter
    def message_attempts(self, value: int) -> None:
        # Every message is sent at least once, whatever the device model says.
        self._attempts = max(1, int(value))

    @property
    def message_attempt_interval(self) -> float:
        return self._interval

    @message_attempt_interval.setter
    def message_attempt_interval(self, value: float) -> None:
        self._interval = max(0.0, float(value))

    @property
    def resume_delay(self) -> float:
        return self._resume_delay

    @resume_delay.setter
    def resume_delay(self, value: float) -> None:
        self._resume_delay = max(0.0, float(value))

    @property
    def queue_all_messages(self) -> bool:
        return self._queue_all

    def set_queue_all_messages(self, value: bool) -> list[MessageDropped]:
        """Change OCPPCommCtrlr.QueueAllMessages (SetVariables).

        True: normal messages queued from now on are stored, and so are the ones already
        waiting. False: NORMAL_QUEUE is emptied; waiting normal messages are still sent if the
        station is online, and dropped (returned) if it is not.
        """
        value = bool(value)
        if value == self._queue_all:
            return []
        self._queue_all = value
        normal = self._lanes[False]
        if value:
            volatile = [entry for entry in normal if not entry.durable]
            self._store.insert_many([entry.stored() for entry in volatile])
            for entry in volatile:
                entry.durable = True
            return []
        self._store.clear(transactional=False)
        for entry in normal:
            entry.durable = False
        return [] if self._online else self._drop_volatile("offline")

    # ------------------------------------------------------------------ inputs

    def enqueue(
        self,
        action: str,
        payload: dict[str, Any],
        *,
        created_at: datetime,
        message_id: str | None = None,
        transactional: bool | None = None,
    ) -> str | None:
        """Queue a message; a durable one is committed to the database before this returns.

        So the caller (an Evse acknowledging an event, say) may rely on it once this returns.
        Then call :meth:`next_to_send`.

        Args:
            action: OCPP action.
            payload: Request payload (wire form). The queue keeps a copy; for a TransactionEvent
                created while offline the copy gets ``"offline": true`` (E04.FR.03).
            created_at: When the message was created (timezone-aware, the station's clock).
            message_id: The queue id to use; a new one by default.
            transactional: Force the class; by default ``action in TRANSACTIONAL_ACTIONS``.

        Returns:
            The queue id, or None if the message was not queued: a normal message while the
            station is offline or not Accepted, with QueueAllMessages false.

        Raises:
            ValueError: Duplicate message_id, naive created_at, or a payload that cannot be
                stored. Nothing is queued then.
        """
        if created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        if transactional is None:
            transactional = action in TRANSACTIONAL_ACTIONS
        durable = transactional or self._queue_all
        if not durable and not self._gate_open_ignoring_delay():
            log.info("%s not queued: offline or not accepted and QueueAllMessages is false", action)
            return None
        message_id = self._new_message_id() if message_id is None else message_id
        if message_id in self._by_id:
            raise ValueError(f"message id {message_id!r} is already queued")
        payload = dict(payload)
        # An event reaches the queue a moment after the Evse created it, so one created just
        # before a reconnect arrives after it: when it was created decides (E04.FR.03).
        created_offline = not self._online or (
            self._online_since is not None and created_at < self._online_since)
        if action == "TransactionEvent" and created_offline:
            payload["offline"] = True   # E04.FR.03, E08.FR.07, E11.FR.02, E12.FR.02
        self._seq += 1
        entry = _Entry(message_id, action, payload, created_at, transactional, durable, self._seq)
        if durable:
            self._store.insert(entry.stored())
        self._add(entry)
        return message_id

    def set_online(self, online: bool, now: float,
                   registration_accepted: bool = False,
                   wall: datetime | None = None) -> list[MessageDropped]:
        """Tell the queue the link state and whether the registration is Accepted.

        Call it on connect, when the BootNotification is Accepted, and on disconnect; calling
        it again with the same link state only updates ``registration_accepted`` (it is not a
        reconnect). A connect after an earlier one starts MessageQueueResumeDelay. ``wall``,
        the station time of a connect, lets an event created before it but queued after it
        still count as created offline (see :meth:`enqueue`).

        Returns:
            The messages dropped because the station went offline (not durable ones).
        """
        dropped: list[MessageDropped] = []
        if online and not self._online:
            self._connects += 1
            self._online_since = wall
            # EVerest: no delay on the process's first connect, only after a reconnect.
            if self._connects > 1 and self._resume_delay > 0:
                self._resume_at = now + self._resume_delay
            else:
                self._resume_at = _NEVER
        elif not online and self._online:
            if self._in_flight is not None:
                self._return_to_lane(self._in_flight)
            self._mark_all_offline()
            dropped = self._drop_volatile("offline")
        self._online = online
        self._accepted = bool(registration_accepted)
        return dropped

    def clock_adjusted(self, seconds: float) -> None:
        """The station clock (the Evses' too) moved by ``seconds``: so did the last connect."""
        if self._online_since is not None:
            self._online_since += timedelta(seconds=seconds)

    def next_to_send(self, now: float) -> OutgoingMessage | None:
        """The message to send now, or None (gate closed, one in flight, waiting, or empty).

        The returned message is in flight from now on: report its fate with
        :meth:`delivered`, :meth:`failed` or :meth:`requeue` before another one comes out.
        """
        if self._in_flight is not None or not self._gate_open(now):
            return None
        chosen: _Entry | None = None
        for lane in self._lanes.values():
            if lane and lane[0].not_before <= now and (chosen is None or lane[0].seq < chosen.seq):
                chosen = lane[0]
        if chosen is None:
            return None
        chosen.in_flight = True
        self._in_flight = chosen
        return OutgoingMessage(chosen.message_id, chosen.action, chosen.payload)

    def delivered(self, message_id: str) -> bool:
        """The CSMS answered with a CALLRESULT: remove the message for good.

        Returns:
            False if the id is not queued (already delivered or dropped): nothing changes.
        """
        entry = self._by_id.get(message_id)
        if entry is None:
            return False
        if entry.durable:
            self._store.delete(entry.message_id, transactional=entry.transactional)
        self._remove(entry)
        return True

    def failed(self, message_id: str, now: float,
               error_code: str | None = TIMEOUT) -> MessageDropped | None:
        """The message in flight got a CALLERROR or no answer within MessageTimeout (E13).

        A durable message is retried after ``attempts * interval`` (E13.FR.03) until
        MessageAttempts transmissions failed, then given up (E13.FR.04). A message that is not
        durable is given up at once. ``error_code == "ConnectionLost"`` is no failure: that is
        :meth:`requeue`.

        Returns:
            The dropped message (log it, tell its block), or None if it will be retried or the
            id is not in flight.
        """
        if error_code == CONNECTION_LOST:
            self.requeue(message_id)
            return None
        entry = self._in_flight
        if entry is None or entry.message_id != message_id:
            return None
        entry.in_flight = False
        self._in_flight = None
        entry.attempts += 1
        if not entry.durable:
            log.warning("%s %s not delivered (%s); not retried", entry.action, message_id,
                        error_code)
            self._remove(entry)
            return _dropped(entry, "error", error_code)
        if entry.attempts >= self._attempts:
            log.error("%s %s not delivered after %d attempts (%s); dropped (E13.FR.04)",
                      entry.action, message_id, entry.attempts, error_code)
            self._store.delete(entry.message_id, transactional=entry.transactional)
            self._remove(entry)
            return _dropped(entry, "attempts", error_code)
        self._store.set_attempts(entry.message_id, entry.attempts,
                                 transactional=entry.transactional)
        entry.not_before = now + entry.attempts * self._interval
        log.warning("%s %s failed (%s), attempt %d of %d; retry in %.0f s", entry.action,
                    message_id, error_code, entry.attempts, self._attempts,
                    entry.not_before - now)
        return None

    def requeue(self, message_id: str) -> bool:
        """The message in flight never got to be processed (link lost, or the session did not
        take it): put it back at the head of its lane, its attempt count unchanged.

        A message that is not durable is kept if the station is still online, and dropped by
        :meth:`set_online` when it goes offline.

        Returns:
            False if the id is not in flight.
        """
        entry = self._in_flight
        if entry is None or entry.message_id != message_id:
            return False
        self._return_to_lane(entry)
        return True

    # ------------------------------------------------------------------ outputs

    def next_deadline(self) -> float | None:
        """When :meth:`next_to_send` may have something new without any other input.

        None when no timer is needed (empty, gate closed, or a message in flight: its
        outcome comes as an input). The time may already have passed: then call
        :meth:`next_to_send` now.
        """
        if self._in_flight is not None or not self._gate_open_ignoring_delay():
            return None
        heads = [lane[0].not_before for lane in self._lanes.values() if lane]
        if not heads:
            return None
        return max(min(heads), self._resume_at)

    @property
    def in_flight(self) -> str | None:
        """The queue id of the message in flight, or None."""
        return None if self._in_flight is None else self._in_flight.message_id

    def __len__(self) -> int:
        return len(self._by_id)

    def pending(self) -> list[OutgoingMessage]:
        """Every queued message (in flight included) in sending order, for inspection."""
        entries = sorted(self._by_id.values(), key=lambda e: e.seq)
        return [OutgoingMessage(e.message_id, e.action, e.payload) for e in entries]

    def has_transaction_messages(self, transaction_id: str | None = None) -> bool:
        """GetTransactionStatus messagesInQueue (E14.FR.04/05/07/08).

        Args:
            transaction_id: Only TransactionEvents of this transaction; None: any
                transaction-related message (TransactionEvent).
        """
        if transaction_id is None:
            return sum(self._transactions.values()) > 0
        return self._transactions[transaction_id] > 0

    # ------------------------------------------------------------------ internals

    def _gate_open_ignoring_delay(self) -> bool:
        return self._online and self._accepted

    def _gate_open(self, now: float) -> bool:
        return self._gate_open_ignoring_delay() and now >= self._resume_at

    def _reload(self) -> None:
        if not self._queue_all:
            dropped = self._store.clear(transactional=False)
            if dropped:
                log.warning("QueueAllMessages is false: %d stored normal messages dropped",
                            dropped)
        stored = self._store.load(include_normal=self._queue_all)
        for message in stored:
            payload = dict(message.payload)
            if message.action == "TransactionEvent":
                payload["offline"] = True   # E11.FR.07: the station went down with it queued
            self._seq += 1
            self._add(_Entry(message.unique_id, message.action, payload, message.created_at,
                             message.transactional, True, self._seq, attempts=message.attempts))
        if stored:
            log.info("reloaded %d queued messages", len(stored))

    def _add(self, entry: _Entry) -> None:
        self._by_id[entry.message_id] = entry
        self._lanes[entry.transactional].append(entry)
        if entry.transaction_id is not None:
            self._transactions[entry.transaction_id] += 1

    def _remove(self, entry: _Entry) -> None:
        if entry is self._in_flight:
            self._in_flight = None
        del self._by_id[entry.message_id]
        lane = self._lanes[entry.transactional]
        if lane and lane[0] is entry:
            lane.popleft()          # the usual case: only lane heads are ever sent
        else:
            lane.remove(entry)
        self._forget_transaction(entry)

    def _forget_transaction(self, entry: _Entry) -> None:
        transaction_id = entry.transaction_id
        if transaction_id is not None:
            self._transactions[transaction_id] -= 1
            if self._transactions[transaction_id] <= 0:
                del self._transactions[transaction_id]

    def _return_to_lane(self, entry: _Entry) -> None:
        # The entry never left its lane; it just stops being in flight.
        entry.in_flight = False
        self._in_flight = None

    def _mark_all_offline(self) -> None:
        # E11.FR.07. Only the lane heads can have been sent, so later ones are untouched
        # dicts; the in-flight payload was already serialized by the RPC layer.
        for lane in self._lanes.values():
            for entry in lane:
                if entry.action == "TransactionEvent" and not entry.payload.get("offline"):
                    entry.payload["offline"] = True

    def _drop_volatile(self, reason: str) -> list[MessageDropped]:
        volatile = [entry for entry in self._lanes[False] if not entry.durable]
        if not volatile:
            return []
        self._lanes[False] = deque(entry for entry in self._lanes[False] if entry.durable)
        for entry in volatile:
            del self._by_id[entry.message_id]
            if entry is self._in_flight:
                self._in_flight = None
            self._forget_transaction(entry)
        log.warning("%d queued messages dropped (%s, QueueAllMessages false)",
                    len(volatile), reason)
        return [_dropped(entry, reason, None) for entry in volatile]


def _dropped(entry: _Entry, reason: str, error_code: str | None) -> MessageDropped:
    return MessageDropped(entry.message_id, entry.action, entry.payload, reason,
                          entry.attempts, error_code)
