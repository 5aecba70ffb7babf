"""Connects the durable :class:`~station.message_queue.MessageQueue` to the session.

The sending port (:class:`station.sender.Sender`) hands it every message whose policy
(``station.send_policy``) goes through the queue; a durable one is committed to SQLite before
:meth:`Outbox.send` returns, and this class feeds it to :meth:`StationSession.call` when the queue's gate opens,
reports the outcome back (delivered / failed / requeued) and keeps the queue told about the
link and registration state. The queue's own timers (retry waits, MessageQueueResumeDelay)
join the session's deadlines.

The queue stores wire dicts (what goes out, and what a restart reloads); the session hands the
CALLRESULT back as the response model, and :meth:`Outbox.send`'s ``on_result`` gets that.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from messages.ocpp201 import OcppModel
from ports.sending import ErrorCallback, ResultCallback
from station.message_queue import CONNECTION_LOST, MessageDropped, MessageQueue
from station.session import Registration, StationSession

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, session: StationSession, queue: MessageQueue) -> None:
        self._session = session
        self.queue = queue
        self.on_dropped: Callable[[MessageDropped], None] = self._log_dropped
        # Per-message result callbacks of this process's lifetime (not durable: after a
        # restart a re-sent message's answer has nobody waiting for it).
        self._on_result: dict[str, ResultCallback] = {}
        # ... and their error callbacks, told once the queue gives a message up.
        self._on_error: dict[str, ErrorCallback] = {}

    def attach(self) -> None:
        """Start following the session's link and registration, and its clock.

        Separate from construction so the composition root decides where in the order of the
        session's listeners the queue is (see ``station.core.build_core``).
        """
        session = self._session
        session.on_connected(self._on_connected)
        session.on_registration(self._on_registration)
        session.on_disconnected(self._on_disconnected)
        session.add_timer(self.queue.next_deadline, self.pump)

    def send(self, action: str, payload: dict, *,
             on_result: ResultCallback | None = None,
             on_error: ErrorCallback | None = None,
             created_at: datetime | None = None,
             transactional: bool | None = None) -> str | None:
        """Queue durably (or drop, for a non-durable message while offline); then pump.

        Returns the queue's id, or None when the message was not accepted (not durable and
        the station offline). ``payload`` is the wire dict. ``on_result`` gets the CALLRESULT
        as the response model; ``on_error`` gets (code, description) when the queue gives the
        message up (E13.FR.04, or a message that is not durable failed or went offline). ``created_at``: when the message arose, if not
        now (a TransactionEvent's own timestamp). ``transactional``: the guaranteed lane (see
        ``MessageQueue.enqueue``).
        """
        # A block may send from inside a session listener that runs before ours (on Accepted,
        # say): bring the queue's view of the link up to date first, or it would refuse a
        # message that is not durable as "not Accepted".
        self._state(self._session.now)
        message_id = self.queue.enqueue(action, payload,
                                        created_at=created_at or self._session.wall_clock(),
                                        transactional=transactional)
        if message_id is not None:
            if on_result is not None:
                self._on_result[message_id] = on_result
            if on_error is not None:
                self._on_error[message_id] = on_error
        self.pump()
        return message_id

    def pump(self) -> None:
        now = self._session.now
        while (item := self.queue.next_to_send(now)) is not None:
            try:
                sent = self._session.call(
                    item.action, item.payload,
                    on_result=lambda response, mid=item.message_id: self._delivered(mid, response),
                    on_error=lambda code, text, mid=item.message_id: self._failed(mid, code))
            except ValueError:
                # Our own payload breaks the schema: a bug, but it must not block the lane.
                log.exception("queued %s %s is not valid", item.action, item.message_id)
                self._failed(item.message_id, "FormatViolation")
                continue
            if sent is None:
                # The session refused (gate states disagree for a moment, e.g. right after a
                # disconnect): back to the head of the lane, unchanged.
                self.queue.requeue(item.message_id)
                return

    def _delivered(self, message_id: str, response: OcppModel) -> None:
        self.queue.delivered(message_id)
        self._on_error.pop(message_id, None)
        callback = self._on_result.pop(message_id, None)
        if callback is not None:
            callback(response)
        self._session.after_reply(self.pump)

    def _failed(self, message_id: str, code: str) -> None:
        if code == "ConnectionLost":
            self.queue.failed(message_id, self._session.now, CONNECTION_LOST)
            return
        dropped = self.queue.failed(message_id, self._session.now, code)
        if dropped is not None:
            self._given_up(dropped)
        self._session.after_reply(self.pump)

    def _given_up(self, dropped: MessageDropped) -> None:
        self._on_result.pop(dropped.message_id, None)
        self.on_dropped(dropped)
        callback = self._on_error.pop(dropped.message_id, None)
        if callback is not None:
            callback(dropped.error_code or dropped.reason, f"{dropped.action} given up "
                     f"({dropped.reason})")

    def _state(self, now: float) -> None:
        for dropped in self.queue.set_online(
                self._session.is_connected, now,
                self._session.registration == Registration.ACCEPTED,
                wall=self._session.wall_clock()):
            self._given_up(dropped)
        self.pump()

    def _on_connected(self, now: float, offline: float | None) -> None:
        self._state(now)

    def _on_registration(self, registration: str, previous: str, now: float) -> None:
        self._state(now)

    def _on_disconnected(self, now: float) -> None:
        self._state(now)

    @staticmethod
    def _log_dropped(dropped: MessageDropped) -> None:
        log.error("gave up %s %s after %d attempts (%s)", dropped.action, dropped.message_id,
                  dropped.attempts, dropped.reason)
