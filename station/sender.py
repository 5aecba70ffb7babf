"""The one way out: the port every block sends its CALLs through.

A block says what it sends; the table in ``station.send_policy`` says what happens to it when
it cannot go out at once. The block does not choose between the durable queue and the
session, and cannot forget to queue a message the table says must survive an offline period:

    sender.send("NotifyChargingLimit", NotifyChargingLimitRequest(...))  # queued if QueueAllMessages
    sender.send("Authorize", AuthorizeRequest(...), on_result=..., on_error=...)  # live: now or never

A block hands over the request model and its ``on_result`` gets the response model; the wire
dicts in between are the port's and the session's business (the durable queue stores them).

========================  ==================================================================
policy                    route
========================  ==================================================================
GUARANTEED                durable queue, guaranteed lane (TRANSACTION_QUEUE)
QUEUE_ALL                 durable queue, normal lane: stored iff QueueAllMessages; otherwise
                          refused while offline/not Accepted, at most one transmission. A
                          *triggered* one while Pending goes straight to the session, since
                          the queue opens only on Accepted and B02.FR.02 lets it out now.
RE_DERIVED, LIVE          the session now, or not at all (returns False; ``on_error`` is not
                          called then, the return value says it)
SESSION                   refused (ValueError): the session sends these itself
========================  ==================================================================
"""
from __future__ import annotations

import logging
from datetime import datetime
from messages.ocpp201 import OcppModel, model_class, to_wire
from ports.sending import ErrorCallback, ResultCallback
from station.message_queue import MessageQueue
from station.outbox import Outbox
from station.send_policy import POLICIES, SendPolicy
from station.session import Registration, StationSession

log = logging.getLogger(__name__)


class Sender:
    """The sending port (see the module docstring).

    Args:
        session: The session the CALLs go out on.
        outbox: The durable queue's adapter on that session.
        policies: Action -> policy; :data:`station.send_policy.POLICIES` unless a test
            wants another.
    """

    def __init__(self, session: StationSession, outbox: Outbox,
                 policies: dict[str, SendPolicy] = POLICIES) -> None:
        self._session = session
        self._outbox = outbox
        self._policies = policies

    @property
    def queue(self) -> MessageQueue:
        """The durable queue, for what is in it (GetTransactionStatus, E14)."""
        return self._outbox.queue

    def policy(self, action: str) -> SendPolicy:
        return self._policies[action]

    def may_send(self, action: str, *, triggered: bool = False) -> bool:
        """Whether a RE_DERIVED or LIVE message would go out now (the session's gate)."""
        return self._session.may_send(action, triggered=triggered)

    def send(self, action: str, request: OcppModel, *, on_result: ResultCallback | None = None,
             on_error: ErrorCallback | None = None, triggered: bool = False,
             created_at: datetime | None = None) -> bool:
        """Send ``action`` as its policy says.

        Args:
            action: A CS -> CSMS action with a policy in the table.
            request: The request model (``<Action>Request``).
            on_result: Gets the CALLRESULT as the response model (``<Action>Response``).
            on_error: Gets (code, description) when the message was sent or queued but will
                not be answered: a CALLERROR, a timeout, a lost connection (session), or the
                queue giving it up.
            triggered: Sent because the CSMS asked (TriggerMessage, GetReport...): may go out
                while Pending (B02.FR.02).
            created_at: When the message arose if not now (a TransactionEvent's timestamp).

        Returns:
            True if the message was sent or queued, False if it was dropped (offline or not
            Accepted, and its policy does not keep it).

        Raises:
            KeyError: ``action`` has no policy (not a CS -> CSMS action).
            ValueError: ``action`` is the session's own (BootNotification, Heartbeat).
            TypeError: ``request`` is not ``<action>Request`` (a bug in the block).
        """
        policy = self._policies[action]
        if policy is SendPolicy.SESSION:
            raise ValueError(f"{action} is sent by the session itself")
        expected = model_class(action, "request")
        if not isinstance(request, expected):
            raise TypeError(f"{action} sent as {type(request).__name__}, not {expected.__name__}")
        # The queue stores and the session sends wire dicts (the edge validates them).
        payload = to_wire(request)
        if policy is SendPolicy.GUARANTEED or (policy is SendPolicy.QUEUE_ALL and not (
                triggered and self._session.registration == Registration.PENDING)):
            accepted = self._outbox.send(
                action, payload, on_result=on_result, on_error=on_error,
                created_at=created_at,
                transactional=policy is SendPolicy.GUARANTEED) is not None
        else:
            accepted = self._session.call(action, payload, on_result=on_result,
                                          on_error=on_error, triggered=triggered) is not None
        if not self._session.is_connected:
            # What became of a message raised offline, for the operator (and the tests).
            log.info("%s raised while offline: %s (%s)", action,
                     "queued" if accepted else "dropped", policy.value)
        return accepted
