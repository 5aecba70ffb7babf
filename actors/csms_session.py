"""The CsmsSession actor: the websocket to the CSMS and the station core behind it.

This actor is the only owner of the connection (STYLE §1). It is deliberately thin: every
message it receives becomes a call on :class:`station.core.StationCore`, and after *every*
message :meth:`_pump` does the I/O the core asked for: frames to the websocket, messages to
other actors, and one wake-up for the core's next deadline. The socket is watched with
``ThespianWatch``, which multiprocTCPBase supports; there are no threads.

Timers: Thespian cannot cancel ``wakeupAfter``, so each armed timer carries a generation number
and only the newest generation acts (ARCHITECTURE.md, "what bites").

After a restart by the Root, this actor re-opens the device model (values the CSMS set are in
SQLite), reconnects and boots with reason Watchdog: its registration died with the process,
and a new BootNotification is how OCPP lets the CSMS know the station's software restarted.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

from thespian.actors import ActorExitRequest, ThespianWatch, WakeupMessage, WatchMessage

from actors.base import ChildActor
from device_model.model import DeviceModel
from messages.auth import TokenVerdict
from messages.csms import (ConnectCsms, CsmsControlDone, DisconnectCsms, GetSessionStatus,
                           SessionStatus)
from messages.energy import ExternalLimitDone, SetExternalLimit
from messages.evse import (AuthorizeToken, ClockSynchronized, ConnectorStatusChanged,
                           ConnectorStatusSeen, EvseAvailabilityChanged, LockProblemChanged,
                           MeterValuesReady, TransactionEventReady)
from ocppj.message_log import MessageLog, redact_frame
from station.backoff import reconnect_delay
from station.core import build_core
from station.websocket_io import ConnectionClosed, CsmsConnection, HandshakeRejected
from storage.availability import AvailabilityRepository
from storage.queue_repo import QueueRepository
from storage import lite

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
SUMMARY_LENGTH = 160
# The wait for a deadline the core left due after a tick for it (see wakeup_delay).
STALE_DEADLINE_WAIT_S = 1.0


def wakeup_delay(deadline: float, now: float, ticked_at: float | None) -> float:
    """Seconds to wait before ticking the core for `deadline`.

    A deadline that is still due after a tick at or after it was not consumed by the core (a
    bug such as issue #9's boot retry left armed while offline): waking at 0 s again would
    spin a core for as long as the state lasts, so the wait is STALE_DEADLINE_WAIT_S instead.

    Args:
        deadline: ``session.next_deadline()``.
        now: The monotonic time.
        ticked_at: The time the core was last ticked with, None before the first tick.
    """
    if deadline > now:
        return deadline - now
    if ticked_at is not None and ticked_at >= deadline:
        return STALE_DEADLINE_WAIT_S
    return 0.0


def _summary(frame: str) -> str:
    """One console line per frame; the full frames are in the message log (passwords redacted)."""
    text = redact_frame(frame)
    return text if len(text) <= SUMMARY_LENGTH else text[:SUMMARY_LENGTH - 3] + "..."


class CsmsSession(ChildActor):
    role = "csms_session"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.core = None
        self.conn: CsmsConnection | None = None
        self.attempt = 0
        self.timer_generation = 0
        self.timer_deadline: float | None = None
        self.ticked_at: float | None = None
        self.connect_generation = 0
        self.ping_generation = 0
        self.exiting = False
        self.held_offline = False

    # -- set-up ---------------------------------------------------------------------------------

    def configure(self, msg) -> None:
        cfg = self.config
        self.dm = DeviceModel.open(cfg.device_model_db_path, cfg.device_model_migrations_dir,
                                   cfg.component_config_dir, cfg.connectors_per_evse,
                                   parking_bay_sensor=cfg.evses.parking_bay_sensor,
                                   signing_meter=cfg.evses.signing_meter)
        core_db = lite.connect(cfg.core_db_path, cfg.core_migrations_dir)
        # The queue commits with synchronous=FULL, a per-connection setting: its own connection.
        queue_db = lite.connect(cfg.core_db_path, cfg.core_migrations_dir)
        self.core = build_core(cfg, self.dm, AvailabilityRepository(core_db),
                               QueueRepository(queue_db),
                               boot_reason="Watchdog" if msg.restarted else msg.boot_reason)
        self.session = self.core.session
        self.core.provisioning.on_variable_set(self._variable_set)
        self.message_log = MessageLog(cfg.message_log_dir, identity=cfg.station.identity)
        self._schedule_connect(0.0)

    def receiveMessage(self, message, sender):
        super().receiveMessage(message, sender)
        if self.core is not None and not self.exiting:
            self._pump()
        if self.conn is not None:
            return ThespianWatch([self.conn.fileno()])
        return None

    # -- messages from other actors --------------------------------------------------------------

    def directory_changed(self) -> None:
        # The AuthCache may have restarted and lost what it was asked (blocks/auth_routing.py).
        self.core.auth.resend()
        # A restarted Evse starts with the system clock; tell it the station's (B01.FR.06).
        if self.core.clock.offset_s:
            for address in self.directory.evses.values():
                self.send(address, ClockSynchronized(offset_s=self.core.clock.offset_s))
        # An Evse keeps its reservation in EVSE_STATE, but one that was down may have missed
        # a change (B11.FR.05): tell the reserved ones again, and clear a stale Reserved.
        reservations, availability = self.core.reservations, self.core.availability
        # A restarted EnergySink has no schedule until told again.
        self.core.smart_charging.publish()
        reservations.sync_all()
        for evse_id, connectors in enumerate(self.config.connectors_per_evse, start=1):
            if not reservations.is_reserved(evse_id) and any(
                    availability.status_of(evse_id, c) == "Reserved"
                    for c in range(1, connectors + 1)):
                reservations.sync_evse(evse_id)

    def receiveMsg_ConnectorStatusChanged(self, msg: ConnectorStatusChanged, sender):
        if self.core is None:
            return                  # not acknowledged: the Evse announces it again
        self.core.availability.connector_status_changed(msg)
        self.core.reservations.connector_status_changed(msg.evse_id, msg.connector_id,
                                                        msg.status)
        if msg.origin:
            self.send(sender, ConnectorStatusSeen(evse_id=msg.evse_id,
                                                  connector_id=msg.connector_id,
                                                  origin=msg.origin, sequence=msg.sequence))

    def receiveMsg_LockProblemChanged(self, msg: LockProblemChanged, sender):
        if self.core is not None:
            self.core.availability.lock_problem_changed(msg)

    def _answer_deferred(self, msg, sender):
        self.session.resolve_deferred(msg.correlation_id, msg, time.monotonic())

    # Answers to CALLs that waited for an Evse (StationSession.defer).
    receiveMsg_EvseAvailabilityChanged = _answer_deferred
    receiveMsg_RemoteStartAnswered = _answer_deferred
    receiveMsg_RemoteStopAnswered = _answer_deferred
    receiveMsg_UnlockAnswered = _answer_deferred

    def receiveMsg_TokenVerdict(self, msg: TokenVerdict, sender):
        self.core.auth.verdict(msg)

    def _auth_answered(self, msg, sender):
        self.core.auth.answered(msg)

    # Answers of the AuthCache to SendLocalList, GetLocalListVersion, ClearCache.
    receiveMsg_LocalListUpdated = _auth_answered
    receiveMsg_ListVersion = _auth_answered
    receiveMsg_AuthCacheCleared = _auth_answered

    def receiveMsg_TransactionEventReady(self, msg: TransactionEventReady, sender):
        self.core.transactions.transaction_event_ready(msg)

    def receiveMsg_MeterValuesReady(self, msg: MeterValuesReady, sender):
        self.core.transactions.meter_values_ready(msg)

    def receiveMsg_AuthorizeToken(self, msg: AuthorizeToken, sender):
        self.core.transactions.authorize_token(msg, sender)

    def receiveMsg_SetExternalLimit(self, msg: SetExternalLimit, sender):
        smart = self.core.smart_charging
        if msg.limit is None:
            error = smart.clear_external_limit(msg.evse_id, msg.source)
        else:
            error = smart.set_external_limit(msg.evse_id, msg.limit, msg.unit, msg.source)
        self.send(sender, ExternalLimitDone(ok=error is None, error=error))

    def receiveMsg_GetSessionStatus(self, msg: GetSessionStatus, sender):
        session = self.core.session if self.core else None
        self.send(sender, SessionStatus(
            connected=bool(session and session.is_connected),
            registration=session.registration if session else "Unknown",
            boot_reason=session.boot_reason if session else "",
            connect_count=session.connect_count if session else 0,
            pid=os.getpid()))

    def receiveMsg_DisconnectCsms(self, msg: DisconnectCsms, sender):
        """Operator/test control (EnableExternalWebsocketControl): go offline and stay there."""
        self.held_offline = True
        self.connect_generation += 1              # no scheduled reconnect may fire
        if self.conn is not None:
            self.conn.close()
            self.conn = None
            self.ping_generation += 1
            self.message_log.log_event("disconnected by the operator")
            self.session.disconnected(time.monotonic())
        self.send(sender, CsmsControlDone(connected=False))

    def receiveMsg_ConnectCsms(self, msg: ConnectCsms, sender):
        self.held_offline = False
        if self.conn is None:
            self.attempt = 0
            self._connect()
        self.send(sender, CsmsControlDone(connected=self.conn is not None))

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender):
        self.exiting = True
        if self.conn is not None:
            log.info("closing the CSMS connection")
            self.message_log.log_event("station shutting down: closing the connection")
            self.conn.close()
            self.conn = None
        if self.core is not None:
            self.message_log.close()

    # -- socket and timers ----------------------------------------------------------------------

    def receiveMsg_WatchMessage(self, msg: WatchMessage, sender):
        if self.conn is None:
            return
        try:
            frames = self.conn.read_frames()
        except ConnectionClosed as exc:
            self._lost(str(exc))
            return
        for text in frames:
            self.message_log.log_message("in", text)
            log.info("<< %s", _summary(text))
            self.session.receive_text(text, time.monotonic())
        if self.conn.closed:
            self._pump()
            self._lost("closed by the CSMS")

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender):
        kind, generation = msg.payload
        if kind == "tick" and generation == self.timer_generation:
            self.timer_deadline = None
            self.ticked_at = time.monotonic()
            self.session.tick(self.ticked_at)
        elif kind == "connect" and generation == self.connect_generation and not self.exiting \
                and not self.held_offline:
            self._connect()
        elif kind == "ping" and generation == self.ping_generation and self.conn is not None:
            self._ping()

    def _variable_set(self, component: str, variable: str, instance, value: str) -> None:
        if (component, variable) == ("OCPPCommCtrlr", "WebSocketPingInterval") and self.conn:
            self._start_pinging()

    def _start_pinging(self) -> None:
        """(Re)start the ping chain; older chains die on their stale generation."""
        self.ping_generation += 1
        interval = self._ping_interval()
        if interval > 0:
            self.wakeupAfter(timedelta(seconds=interval), payload=("ping", self.ping_generation))

    def _ping_interval(self) -> int:
        return self.dm.get_int("OCPPCommCtrlr", "WebSocketPingInterval", default=0) or 0

    def _ping(self) -> None:
        """Part 4 §5.2, §8.4: ping every WebSocketPingInterval seconds. A connection that stayed
        silent (no pong, no frame) for two intervals is dead even if TCP has not noticed, as
        happens when a mobile link drops without a FIN."""
        interval = self._ping_interval()
        if interval <= 0:
            return
        if time.monotonic() - self.conn.last_received > 2 * interval:
            self._lost(f"no answer to websocket pings for {2 * interval} s")
            return
        try:
            self.conn.ping()
        except ConnectionClosed as exc:
            self._lost(str(exc))
            return
        self.wakeupAfter(timedelta(seconds=interval), payload=("ping", self.ping_generation))

    def _schedule_connect(self, delay: float) -> None:
        self.connect_generation += 1
        self.wakeupAfter(timedelta(seconds=delay), payload=("connect", self.connect_generation))

    def _password(self) -> str | None:
        return self.dm.get("SecurityCtrlr", "BasicAuthPassword") or \
            self.config.csms.basic_auth_password

    def _connect(self) -> None:
        url = self.config.csms.url
        try:
            self.conn = CsmsConnection.open(url, self.config.station.identity,
                                            password=self._password(),
                                            timeout=CONNECT_TIMEOUT_S)
        except (OSError, ConnectionClosed, HandshakeRejected) as exc:
            self.attempt += 1
            delay = self._backoff()
            log.warning("cannot connect to %s: %s; retry %d in %.1f s", url, exc or
                        type(exc).__name__, self.attempt, delay)
            self.message_log.log_event(f"connection to {url} failed: {exc}")
            self._schedule_connect(delay)
            return
        self.attempt = 0
        self._start_pinging()
        log.info("connected to %s as %s", url, self.config.station.identity)
        self.message_log.log_event(f"connected to {url}")
        self.session.connected(time.monotonic())

    def _backoff(self) -> float:
        get = self.dm.get_int
        return reconnect_delay(
            self.attempt,
            wait_minimum=get("OCPPCommCtrlr", "RetryBackOffWaitMinimum", default=3) or 0,
            random_range=get("OCPPCommCtrlr", "RetryBackOffRandomRange", default=10) or 0,
            repeat_times=get("OCPPCommCtrlr", "RetryBackOffRepeatTimes", default=5) or 0)

    def _lost(self, reason: str) -> None:
        log.warning("CSMS connection lost: %s", reason)
        self.message_log.log_event(f"connection lost: {reason}")
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.ping_generation += 1
        self.session.disconnected(time.monotonic())
        # Part 4 §5.3: the first reconnect waits RetryBackOffWaitMinimum (plus the random part).
        self.attempt = 1
        self._schedule_connect(self._backoff())

    def _pump(self) -> None:
        """Do the I/O the core asked for: actor messages, frames, the next wake-up."""
        frames = self.session.data_to_send()
        # Actors first: a CSMS that acts on an answer at once (SetVariables TxStartPoint
        # Accepted, then an EV plugs in) must meet Evses that were told already.
        for target, message in self.session.messages_to_actors():
            for address in self._resolve(target):
                self.send(address, message)
        if frames and self.conn is not None:
            for frame in frames:
                self.message_log.log_message("out", frame)
                log.info(">> %s", _summary(frame))
                try:
                    self.conn.send(frame)
                except ConnectionClosed as exc:
                    self._lost(str(exc))
                    break
        deadline = self.session.next_deadline()
        if deadline is not None and (self.timer_deadline is None or deadline < self.timer_deadline):
            self.timer_generation += 1
            self.timer_deadline = deadline
            now = time.monotonic()
            delay = wakeup_delay(deadline, now, self.ticked_at)
            if deadline <= now and self.ticked_at is not None and deadline <= self.ticked_at:
                log.warning("deadline %.3f still due after a tick; next tick in %.1f s",
                            deadline, delay)
            self.wakeupAfter(timedelta(seconds=delay), payload=("tick", self.timer_generation))

    def _resolve(self, target) -> list:
        if self.directory is None:
            log.warning("no directory yet; dropping message to %s", target)
            return []
        if not isinstance(target, tuple):
            return [target]                 # an actor address (a reply)
        kind, index = target
        if kind == "evse":
            address = self.directory.evses.get(index)
            return [address] if address is not None else []
        if kind == "evses":
            return list(self.directory.evses.values())
        if kind == "energy_sink":
            address = self.directory.energy_sinks.get(index)
            return [address] if address is not None else []
        if kind == "root":
            return [self.directory.root]
        if kind in ("auth_cache", "display"):
            address = getattr(self.directory, kind)
            if address is None:
                log.warning("no %s address yet; dropping a message to it", kind)
            return [address] if address is not None else []
        raise ValueError(f"unknown target {target!r}")
