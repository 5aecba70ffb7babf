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
A handler returns the response payload, a :class:`Reply` (payload plus work to do once the
response is on its way, e.g. the NotifyReport pages of B07.FR.03 or the triggered message of
F06.FR.04), or :class:`Deferred` when another actor must answer first; it raises an
:class:`~ocppj.errors.OcppError` to answer with a CALLERROR.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from messages.ocpp201 import (BootNotificationRequest, BootNotificationResponse, BootReasonEnumType,
                              ChargingStationType, HeartbeatRequest, HeartbeatResponse,
                              RegistrationStatusEnumType, from_wire, to_wire)
from ocppj import rpc as rpcmod
from station.actions import CSMS_TO_CS_ACTIONS
from station.clock import utc_now
from ocppj.errors import InternalError, OcppError, SecurityError

log = logging.getLogger(__name__)

ResultCallback = Callable[[dict], None]
ErrorCallback = Callable[[str, str], None]   # (error code, description); "Timeout" on timeout

# B02.FR.07 / B03.FR.05: interval 0 means the station picks a wait that does not flood the CSMS.
BOOT_RETRY_FALLBACK_S = 60.0
# How long a CALL waits for another actor's answer before we answer InternalError ourselves.
DEFERRED_TIMEOUT_S = 10.0


def iso(ts: datetime) -> str:
    """OCPP date-time: UTC with milliseconds and a Z."""
    return ts.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Reply:
    """A response payload plus work to do right after the response is queued."""

    payload: dict
    then: Callable[[], None] | None = None


@dataclass(frozen=True)
class Deferred:
    """The answer comes later, from :meth:`StationSession.resolve_deferred`."""

    correlation_id: str
    timeout: float = DEFERRED_TIMEOUT_S


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
    finish: Callable[[Any], dict | Reply] | None = None


@dataclass
class SessionTimers:
    """Deadlines in the session's monotonic clock (seconds); None = not armed."""

    heartbeat: float | None = None
    boot_retry: float | None = None


class Registration:
    """The registration states: the CSMS's RegistrationStatusEnumType, and Unknown before its
    first answer (not a wire value: no BootNotificationResponse says it)."""

    UNKNOWN = "Unknown"
    PENDING = RegistrationStatusEnumType.pending
    ACCEPTED = RegistrationStatusEnumType.accepted
    REJECTED = RegistrationStatusEnumType.rejected


#: What ``StationSession.registration`` holds.
RegistrationState = RegistrationStatusEnumType | str


Handler = Callable[[str, dict], "dict | Reply | Deferred"]


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
    _listeners: list[Callable[[RegistrationState, RegistrationState, float], None]] = field(default_factory=list)
    _connect_listeners: list[Callable[[float, float | None], None]] = field(default_factory=list)
    _disconnect_listeners: list[Callable[[float], None]] = field(default_factory=list)
    # (next_deadline, on_due) pairs of blocks with timers of their own (the message queue).
    _timers: list[tuple[Callable[[], float | None], Callable[[], None]]] = field(
        default_factory=list)

    def __post_init__(self) -> None:
        self.registration: RegistrationState = Registration.UNKNOWN
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

    def on_registration(self, listener: Callable[[RegistrationState, RegistrationState, float],
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
        try:
            outcome = deferred.finish(answer) if deferred.finish else answer
        except OcppError as error:
            self._rpc.send_error(deferred.message_id, error)
        else:
            self._reply(deferred.message_id, deferred.action, outcome, now)
        self._flush(now)

    def defer(self, correlation_id: str, message_id: str, action: str,
              finish: Callable[[Any], dict | Reply], timeout: float = DEFERRED_TIMEOUT_S) -> Deferred:
        """For handlers: answer ``message_id`` once ``resolve_deferred(correlation_id)`` comes."""
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
                if call and call.on_result:
                    call.on_result(event.payload)
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
        try:
            outcome = handler(event.message_id, event.payload)
        except OcppError as error:
            self._rpc.send_error(event.message_id, error)
            return
        except Exception:  # noqa: BLE001 - a bug must not leave the CSMS waiting for an answer
            log.exception("%s %s: handler failed", event.action, event.message_id)
            # Part 4: InternalError, and no internals in the details (STYLE §6).
            self._rpc.send_error(event.message_id, InternalError(
                "the charging station failed to handle the request"))
            return
        if isinstance(outcome, Deferred):
            return
        self._reply(event.message_id, event.action, outcome, now)

    def _reply(self, message_id: str, action: str, outcome: dict | Reply, now: float) -> None:
        if isinstance(outcome, Reply):
            self._rpc.send_result(message_id, action, outcome.payload)
            if outcome.then is not None:
                self._after.append(outcome.then)
        else:
            self._rpc.send_result(message_id, action, outcome)

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

    def _set_registration(self, value: RegistrationState) -> None:
        previous, self.registration = self.registration, value
        if previous != value:
            log.info("registration %s -> %s", previous, value)
        for listener in self._listeners:
            listener(value, previous, self._now)

    def _on_boot_result(self, payload: dict) -> None:
        # The edge validated the CALLRESULT against the schema, so it parses.
        response: BootNotificationResponse = from_wire("BootNotification", payload, "response")
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

    def _on_heartbeat_result(self, payload: dict) -> None:
        response: HeartbeatResponse = from_wire("Heartbeat", payload, "response")
        if self.on_csms_time is not None:
            self.on_csms_time(response.current_time)

    def after_reply(self, work: Callable[[], None]) -> None:
        """Run ``work`` once the response being built now is queued (F06.FR.04)."""
        self._after.append(work)

    @property
    def now(self) -> float:
        return self._now

    @staticmethod
    def frame_size(message_id: str, action: str, payload: dict) -> int:
        """Bytes of a CALL as sent compactly; used for the BytesPerMessage limits."""
        return len(json.dumps([2, message_id, action, payload], separators=(",", ":"),
                              ensure_ascii=False).encode())
