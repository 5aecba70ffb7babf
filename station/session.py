"""The station side of one OCPP-J session, as plain logic: no socket, no actor, no clock.

Theory of operation
-------------------
:class:`StationSession` sits between the CsmsSession actor (which owns the websocket and the
timers) and the functional blocks (which own the behaviour of each part of OCPP). The actor
feeds it what happens and sends what it returns:

    session.connected(now)                 # the websocket is open
    session.receive_text(text, now)        # a frame arrived
    session.tick(now)                      # a deadline from next_deadline() has passed
    session.disconnected(now)              # the websocket is gone
    for frame in session.data_to_send(): ws.send(frame)
    for address_key, msg in session.messages_to_actors(): self.send(...)
    wake up at session.next_deadline()

Registration (B01-B03) is the one piece of state every block depends on, so it lives here and
gates every CALL the station sends:

    Unknown  --BootNotification Accepted-->  Accepted
    Unknown  --Pending-->  Pending  --retry after interval-->  (BootNotification again)
    Unknown  --Rejected--> Rejected --retry after interval-->  (BootNotification again)

* Until Accepted, only BootNotification goes out (B01.FR.08); while Pending also the messages
  a CSMS asked for with TriggerMessage, GetBaseReport or GetReport (B02.FR.02).
* While Rejected (and before the first answer) every CALL from the CSMS is answered with
  SecurityError (B03.FR.08).
* Registration survives a reconnect: a station that was Accepted does not boot again when the
  connection comes back (B01.FR.03 asks for a boot per start, not per connection).

Incoming CALLs are routed through ``self.routes`` (action -> handler), the one table
``station.routes.build_routes`` makes and ``install_routes`` hands in before the first connect.
A handler gets the request model and returns the response model, a :class:`Reply` (response
plus work to do once it is on its way, e.g. the NotifyReport pages of B07.FR.03 or the
triggered message of F06.FR.04), or :class:`Deferred` when another actor must answer first; it
raises an :class:`~ocppj.errors.OcppError` to answer with a CALLERROR.

This is the one place where wire dicts and OCPP models meet, both ways. The RPC core
(``ocppj.rpc``) speaks wire dicts and validates each one against the JSON schemas, with the
CALLERROR codes of part 4; behind it everything is a model:

* an incoming CALL is parsed into ``<Action>Request`` (``from_wire``) for its handler, and the
  handler's ``<Action>Response`` (or a deferred finisher's) goes back through ``to_wire``;
* the CALLRESULT of a CALL the station sent reaches ``on_result`` as ``<Action>Response``,
  for live CALLs and for those of the durable queue alike (``station.outbox`` sends through
  :meth:`StationSession.call` too).

A payload that passed the schema always parses (the models accept exactly what the schemas
accept), so a failure to parse or a response of the wrong class is a bug of ours: the CSMS gets
InternalError without details, as for any exception in a handler.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

import pydantic

from messages.ocpp201 import (BootNotificationRequest, BootNotificationResponse, BootReasonEnumType,
                              ChargingStationType, HeartbeatRequest, HeartbeatResponse, OcppModel,
                              RegistrationStatusEnumType, from_wire, model_class, to_wire)
from ocppj import rpc as rpcmod
from ocppj.errors import InternalError, OcppError, SecurityError
from ports.outcome import DEFERRED_TIMEOUT_S, Deferred, Handler, Reply
from ports.sending import ErrorCallback, ResultCallback
from ports.session import Registration
from ports.time import utc_now
from station.actions import CSMS_TO_CS_ACTIONS

log = logging.getLogger(__name__)


# B02.FR.07 / B03.FR.05: interval 0 means the station picks a wait that does not flood the CSMS.
BOOT_RETRY_FALLBACK_S = 60.0

@dataclass
class _PendingCall:
    action: str
    on_result: ResultCallback | None
    on_error: ErrorCallback | None
    payload: dict


@dataclass
class _DeferredCall:
    message_id: str
    action: str
    deadline: float
    finish: Callable[[Any], OcppModel | Reply] | None = None


@dataclass
class SessionTimers:
    """Deadlines in the session's monotonic clock (seconds); None = not armed."""

    heartbeat: float | None = None
    boot_retry: float | None = None


#: What ``StationSession.registration`` holds.
RegistrationValue = RegistrationStatusEnumType | str


@dataclass
class StationSession:
    """See the module docstring."""

    identity: str
    new_message_id: Callable[[], str] | None = None
    wall_clock: Callable[[], datetime] = utc_now
    message_timeout: float = 30.0
    validate: bool = True
    routes: dict[str, Handler] = field(default_factory=dict)
    # Called with (registration, previous) whenever it changes, and on each (re)connect with
    # (registration, registration) so blocks can re-send state (B01.FR.05, B04).
    _listeners: list[Callable[[RegistrationValue, RegistrationValue, float], None]] = field(default_factory=list)
    _connect_listeners: list[Callable[[float, float | None], None]] = field(default_factory=list)
    _disconnect_listeners: list[Callable[[float], None]] = field(default_factory=list)
    # (next_deadline, on_due) pairs of blocks with timers of their own (the message queue).
    _timers: list[tuple[Callable[[], float | None], Callable[[], None]]] = field(
        default_factory=list)

    def __post_init__(self) -> None:
        self.registration: RegistrationValue = Registration.UNKNOWN
        self.is_connected = False
        self.connect_count = 0
        self.boot_reason: BootReasonEnumType | str = BootReasonEnumType.power_up
        self.heartbeat_interval: float = 0.0
        self.timers = SessionTimers()
        self._rpc: rpcmod.RpcEndpoint | None = None
        self._calls: dict[str, _PendingCall] = {}
        self._deferred: dict[str, _DeferredCall] = {}
        self._frames: list[str] = []
        self._outbox: list[tuple[Any, Any]] = []
        self._after: list[Callable[[], None]] = []
        self._offline_since: float | None = None
        self._now: float = 0.0
        # The chargingStation of BootNotification (station.core: from the configuration).
        self.boot_info: Callable[[], ChargingStationType] = lambda: ChargingStationType(
            model="", vendor_name="")
        # Called with the CSMS's currentTime (BootNotification and Heartbeat responses).
        self.on_csms_time: Callable[[str], None] | None = None

    # -- wiring ----------------------------------------------------------------------------------

    def install_routes(self, routes: dict[str, Handler]) -> None:
        """The finished routing table (``station.routes``); read again on every connect."""
        unknown = set(routes) - CSMS_TO_CS_ACTIONS
        if unknown:
            raise ValueError(f"not CSMS -> CS actions: {sorted(unknown)}")
        self.routes = dict(routes)

    def route(self, action: str, handler: Handler) -> None:
        """Add one route; for tests that build a single block on a session of their own."""
        if action in self.routes:
            raise ValueError(f"{action} already has a handler")
        self.routes[action] = handler

    def on_registration(self, listener: Callable[[RegistrationValue, RegistrationValue, float],
                                                 None]) -> None:
        self._listeners.append(listener)

    def on_connected(self, listener: Callable[[float, float | None], None]) -> None:
        """listener(now, offline_seconds or None for the first connection of this process)."""
        self._connect_listeners.append(listener)

    def on_disconnected(self, listener: Callable[[float], None]) -> None:
        self._disconnect_listeners.append(listener)

    def add_timer(self, next_deadline: Callable[[], float | None],
                  on_due: Callable[[], None]) -> None:
        """A block's own timer: ``on_due()`` runs in :meth:`tick` once ``next_deadline()``
        has passed; the deadline joins :meth:`next_deadline`."""
        self._timers.append((next_deadline, on_due))

    def send_to_actor(self, target: Any, message: Any) -> None:
        """Queue an internal message; the actor shell delivers it (see messages_to_actors)."""
        self._outbox.append((target, message))

    # -- inputs from the shell ---------------------------------------------------------------------

    def connected(self, now: float) -> None:
        self._now = now
        self.is_connected = True
        self.connect_count += 1
        kwargs = {"supported_actions": tuple(self.routes), "message_timeout": self.message_timeout,
                  "validate": self.validate}
        if self.new_message_id is not None:
            kwargs["new_message_id"] = self.new_message_id
        self._rpc = rpcmod.RpcEndpoint(**kwargs)
        offline = None if self._offline_since is None else now - self._offline_since
        self._offline_since = None
        if self.registration != Registration.ACCEPTED:
            self.timers.boot_retry = None
            self._send_boot(now)
        else:
            self._arm_heartbeat(now)
        for listener in self._connect_listeners:
            listener(now, offline)
        self._flush(now)

    def disconnected(self, now: float) -> None:
        self._now = now
        if not self.is_connected:
            return
        self.is_connected = False
        self._offline_since = now
        self.timers.heartbeat = None
        # A boot retry cannot go out offline and connected() boots at once anyway; left armed,
        # its deadline would pass and stay due, and the actor would wake at 0 s for ever.
        self.timers.boot_retry = None
        lost = self._rpc.connection_lost() if self._rpc else []
        self._rpc = None
        self._frames.clear()
        for message_id, action, _payload in lost:
            call = self._calls.pop(message_id, None)
            if call and call.on_error:
                call.on_error("ConnectionLost", f"{action} not answered: connection lost")
        for call_id in list(self._calls):
            call = self._calls.pop(call_id)
            if call.on_error:
                call.on_error("ConnectionLost", f"{call.action} not answered: connection lost")
        # Answers we still owe the CSMS cannot be delivered on a new connection.
        self._deferred.clear()
        for listener in self._disconnect_listeners:
            listener(now)

    def receive_text(self, text: str, now: float) -> None:
        """Feed one websocket text frame. Never raises on peer input."""
        self._now = now
        if self._rpc is None:
            return
        self._rpc.receive_text(text, now)
        self._process_events(now)
        self._flush(now)

    def tick(self, now: float) -> None:
        self._now = now
        if self._rpc is not None:
            self._rpc.tick(now)
            self._process_events(now)
        for correlation_id, deferred in list(self._deferred.items()):
            if deferred.deadline <= now:
                del self._deferred[correlation_id]
                log.warning("%s %s: no internal answer in time", deferred.action,
                            deferred.message_id)
                if self._rpc is not None:
                    self._rpc.send_error(deferred.message_id, InternalError(
                        "the charging station could not complete the request in time"))
        for next_deadline, on_due in self._timers:
            deadline = next_deadline()
            if deadline is not None and deadline <= now:
                on_due()
        if self.is_connected:
            if self.timers.boot_retry is not None and now >= self.timers.boot_retry:
                self.timers.boot_retry = None
                self._send_boot(now)
            if self.timers.heartbeat is not None and now >= self.timers.heartbeat:
                self.timers.heartbeat = None
                self.send_heartbeat()
        self._flush(now)

    def resolve_deferred(self, correlation_id: str, answer: Any, now: float) -> None:
        """Another actor answered: finish the CALL that waits for it."""
        self._now = now
        deferred = self._deferred.pop(correlation_id, None)
        if deferred is None or self._rpc is None:
            return
        finish = deferred.finish or (lambda outcome: outcome)
        self._answer(deferred.message_id, deferred.action, lambda: finish(answer))
        self._flush(now)

    def defer(self, correlation_id: str, message_id: str, action: str,
              finish: Callable[[Any], OcppModel | Reply],
              timeout: float = DEFERRED_TIMEOUT_S) -> Deferred:
        """For handlers: answer ``message_id`` once ``resolve_deferred(correlation_id)`` comes.

        ``finish(answer)`` returns the response model or a :class:`Reply`, or raises an
        :class:`~ocppj.errors.OcppError` for a CALLERROR; without it the answer itself is the
        response.
        """
        self._deferred[correlation_id] = _DeferredCall(message_id, action, self._now + timeout,
                                                       finish)
        return Deferred(correlation_id, timeout)

    # -- outputs to the shell -------------------------------------------------------------------

    def data_to_send(self) -> list[str]:
        """Frames to write, in order. Also collects CALLs queued by blocks between inputs."""
        self._flush(self._now)
        frames, self._frames = self._frames, []
        return frames

    def messages_to_actors(self) -> list[tuple[Any, Any]]:
        out, self._outbox = self._outbox, []
        return out

    def next_deadline(self) -> float | None:
        candidates = [self.timers.heartbeat, self.timers.boot_retry]
        if self._rpc is not None:
            candidates.append(self._rpc.next_deadline())
        candidates.extend(d.deadline for d in self._deferred.values())
        candidates.extend(next_deadline() for next_deadline, _ in self._timers)
        armed = [c for c in candidates if c is not None]
        return min(armed) if armed else None

    # -- sending CALLs --------------------------------------------------------------------------

    def may_send(self, action: str, *, triggered: bool = False) -> bool:
        """Gate of B01.FR.08, B02.FR.02 and B03.FR.02."""
        if not self.is_connected:
            return False
        if action == "BootNotification" or self.registration == Registration.ACCEPTED:
            return True
        return self.registration == Registration.PENDING and triggered

    def call(self, action: str, payload: dict, *, on_result: ResultCallback | None = None,
             on_error: ErrorCallback | None = None, triggered: bool = False) -> str | None:
        """Send a CALL when the registration state allows it.

        ``payload`` is the wire dict (the sending port and the durable queue convert and
        store those); ``on_result`` gets the CALLRESULT as the ``<action>Response`` model.

        Returns the message id, or None when the CALL may not go out now (offline, or not
        Accepted); callers that must not lose the message keep it themselves.
        """
        if not self.may_send(action, triggered=triggered):
            log.debug("not sending %s: connected=%s registration=%s", action, self.is_connected,
                      self.registration)
            return None
        message_id = self._rpc.send_call(action, payload, self._now)
        self._calls[message_id] = _PendingCall(action, on_result, on_error, payload)
        return message_id

    # -- internals ------------------------------------------------------------------------------

    def _flush(self, now: float) -> None:
        if self._rpc is not None:
            frames = self._rpc.data_to_send()
            if frames:
                self._frames.extend(frames)
                if self.registration == Registration.ACCEPTED and self.heartbeat_interval > 0:
                    # G02.FR.05: any message sent resets the heartbeat timer.
                    self.timers.heartbeat = now + self.heartbeat_interval
        while self._after:
            work = self._after.pop(0)
            work()
            if self._rpc is not None:
                self._process_events(now)
                frames = self._rpc.data_to_send()
                if frames:
                    self._frames.extend(frames)
    
    def _process_events(self, now: float) -> None:
        for event in self._rpc.events_received():
            if isinstance(event, rpcmod.CallReceived):
                self._on_call(event, now)
            elif isinstance(event, rpcmod.CallResultReceived):
                call = self._calls.pop(event.message_id, None)
                if call:
                    self._deliver_result(call, event)
            elif isinstance(event, rpcmod.CallErrorReceived):
                call = self._calls.pop(event.message_id, None)
                log.warning("%s %s answered %s: %s", event.action, event.message_id,
                            event.code, event.description)
                if call and call.on_error:
                    call.on_error(event.code, event.description)
            elif isinstance(event, rpcmod.CallTimedOut):
                call = self._calls.pop(event.message_id, None)
                log.warning("%s %s timed out", event.action, event.message_id)
                if call and call.on_error:
                    call.on_error("Timeout", f"no answer within {self.message_timeout} s")
            else:
                log.warning("OCPP-J: %s", event)

    def _on_call(self, event: rpcmod.CallReceived, now: float) -> None:
        if self.registration in (Registration.UNKNOWN, Registration.REJECTED):
            # B03.FR.08; before any answer to our BootNotification we are not registered either.
            self._rpc.send_error(event.message_id, SecurityError(
                f"the charging station is not accepted by the CSMS ({self.registration})"))
            return
        handler = self.routes[event.action]
        self._answer(event.message_id, event.action, lambda: handler(
            event.message_id, from_wire(event.action, event.payload, "request")))

    def _answer(self, message_id: str, action: str,
                outcome: Callable[[], OcppModel | Reply | Deferred]) -> None:
        """Answer the CALL ``message_id`` with what ``outcome()`` (a handler or a deferred
        finisher) gives: the response on the wire, a CALLERROR, or nothing yet (Deferred)."""
        try:
            answer = outcome()
            if isinstance(answer, Deferred):
                return
            reply = answer if isinstance(answer, Reply) else Reply(answer)
            payload = self._response_payload(action, reply.response)
        except OcppError as error:
            self._rpc.send_error(message_id, error)
            return
        except Exception:  # noqa: BLE001 - a bug must not leave the CSMS waiting for an answer
            log.exception("%s %s: handler failed", action, message_id)
            # Part 4: InternalError, and no internals in the details (STYLE §6).
            self._rpc.send_error(message_id, InternalError(
                "the charging station failed to handle the request"))
            return
        self._rpc.send_result(message_id, action, payload)
        if reply.then is not None:
            self._after.append(reply.then)

    @staticmethod
    def _response_payload(action: str, response: OcppModel) -> dict:
        """The wire payload of ``response``.

        Raises:
            TypeError: ``response`` is not ``<action>Response`` (a bug in the handler).
        """
        expected = model_class(action, "response")
        if not isinstance(response, expected):
            raise TypeError(f"{action} handler returned {type(response).__name__}, "
                            f"not {expected.__name__}")
        return to_wire(response)

    def _deliver_result(self, call: _PendingCall, event: rpcmod.CallResultReceived) -> None:
        """Hand ``call``'s CALLRESULT to its ``on_result`` as the response model."""
        if call.on_result is None:
            return
        try:
            response = from_wire(call.action, event.payload, "response")
        except pydantic.ValidationError as error:
            # Cannot happen after the edge's schema check (the models accept what the schemas
            # accept); without that check (``validate=False``) it is the CSMS's bad answer,
            # treated as the edge treats an invalid CALLRESULT.
            log.error("%s %s: CALLRESULT does not parse: %s", call.action, event.message_id,
                      error)
            if call.on_error:
                call.on_error("FormatViolation", f"invalid {call.action} CALLRESULT")
            return
        call.on_result(response)

    # -- boot and heartbeat (B01-B03, G02) -------------------------------------------------------

    def _send_boot(self, now: float) -> None:
        request = BootNotificationRequest(reason=self.boot_reason,
                                          charging_station=self.boot_info())
        self.call("BootNotification", to_wire(request), on_result=self._on_boot_result,
                  on_error=self._on_boot_error)

    def trigger_boot(self) -> None:
        """TriggerMessage(BootNotification) while not Accepted (F06.FR.17 rejects it after)."""
        self.boot_reason = BootReasonEnumType.triggered
        self.timers.boot_retry = None
        self._after.append(lambda: self._send_boot(self._now))

    def _set_registration(self, value: RegistrationValue) -> None:
        previous, self.registration = self.registration, value
        if previous != value:
            log.info("registration %s -> %s", previous, value)
        for listener in self._listeners:
            listener(value, previous, self._now)

    def _on_boot_result(self, response: BootNotificationResponse) -> None:
        status = response.status
        interval = float(response.interval)
        now = self._now
        if status == Registration.ACCEPTED:
            self.timers.boot_retry = None
            if interval > 0:
                self.heartbeat_interval = interval          # B01.FR.04
            if self.on_csms_time is not None and response.current_time:
                self.on_csms_time(response.current_time)
            self._set_registration(Registration.ACCEPTED)
            self._arm_heartbeat(now)
        else:
            # B02.FR.04/08, B03.FR.02/06: wait the interval; B02.FR.07, B03.FR.05 if it is 0.
            wait = interval if interval > 0 else BOOT_RETRY_FALLBACK_S
            self.timers.boot_retry = now + wait
            self._set_registration(status)

    def _on_boot_error(self, code: str, description: str) -> None:
        if self.is_connected and self.registration != Registration.ACCEPTED:
            self.timers.boot_retry = self._now + BOOT_RETRY_FALLBACK_S

    def set_heartbeat_interval(self, seconds: float) -> None:
        self.heartbeat_interval = seconds
        self._arm_heartbeat(self._now)

    def _arm_heartbeat(self, now: float) -> None:
        if self.registration == Registration.ACCEPTED and self.heartbeat_interval > 0 \
                and self.is_connected:
            self.timers.heartbeat = now + self.heartbeat_interval
        else:
            self.timers.heartbeat = None

    def send_heartbeat(self, *, triggered: bool = False) -> None:
        self.call("Heartbeat", to_wire(HeartbeatRequest()), on_result=self._on_heartbeat_result,
                  triggered=triggered)

    def _on_heartbeat_result(self, response: HeartbeatResponse) -> None:
        if self.on_csms_time is not None:
            self.on_csms_time(response.current_time)

    def after_reply(self, work: Callable[[], None]) -> None:
        """Run ``work`` once the response being built now is queued (F06.FR.04)."""
        self._after.append(work)

    @property
    def now(self) -> float:
        return self._now
