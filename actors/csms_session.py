"""The CsmsSession actor: the websocket to the CSMS and the station core behind it.

This actor is the only owner of the connection (STYLE §1). It is deliberately thin: every
internal message it receives goes to :meth:`station.core.StationCore.dispatch` (the blocks'
table lives in the composition root, not here), and after *every*
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
from messages.base import Msg
from messages.csms import (ConnectCsms, CsmsControlDone, DisconnectCsms, GetSessionStatus,
                           SessionStatus)
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
        self.core.directory_changed()

    def receiveMsg_Msg(self, msg: Msg, sender):
        """Every internal message the core handles: its one table (``StationCore.dispatch``).

        Thespian looks for the most specific ``receiveMsg_`` first, so Configure, Directory and
        the connection controls below never get here."""
        if self.core is None or not self.core.dispatch(msg, sender, time.monotonic()):
            self.receiveUnrecognizedMessage(msg, sender)

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
