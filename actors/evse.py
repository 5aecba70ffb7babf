"""The Evse actor: one per EVSE; the I/O shell around :class:`station.evse_core.EvseCore`.

Every decision (transactions, metering, lock and relay, availability, statuses) is made by the
core; this actor turns messages into core calls with the station time, and carries out the
intents the core returns, in order: saves (``storage.evse_repo``, ``storage.availability``)
first, then the answer to the requester, then messages to the CsmsSession. So nothing leaves
the process before the state that explains it is committed.

Time: a 1 s tick (``wakeupAfter``; wakeups cannot be cancelled, so each carries a generation
and only the newest chain acts) plus a step after every input. Timestamps come from the station
clock (system clock plus the offset learnt from the CSMS, ``ClockSynchronized``).

Durability and restarts: :meth:`configure` runs on the first Configure and after the Root
restarted this actor (``restarted``); it reloads AVAILABILITY and EVSE_STATE. A transaction
found after a *fresh* station start (``restarted`` False) is ended with PowerLoss, or
ImmediateReset after a reset (see the core). TransactionEvents stay unacknowledged until the
session answers TransactionEventQueued and are sent again after every Directory change (the
session may have restarted).

Hardware: this actor is the composition root that chooses the EVSE's driver
(:func:`open_hardware`, ``evses.driver`` in the configuration); the core only knows the driver
interface. The operator and EV inputs of the control API (plug-in, EV state, faults, parking,
a jammed lock) are a simulator's own port: they go to a
:class:`~simulators.evse_controls.ControlPanel` when the driver offers
:class:`~simulators.evse_controls.SimulatorControls`, and are refused otherwise.

Device-model settings are read once, read-only, from the device-model database; the
CsmsSession (its only writer) sends :class:`~messages.evse.EvseSettingsChanged` for changes.

Only modules the Root already imported are used (the Root imports this module): under
multiprocTCPBase every Evse process shares them; per-process storage is plain ``sqlite3``.
"""
from __future__ import annotations

import importlib
import logging
import os
import time
import uuid
from datetime import datetime, timedelta
from typing import Callable

from thespian.actors import WakeupMessage

from actors.base import ChildActor
from evse_hw.driver import HardwareFactory
from messages.evse import (AuthorizeToken, ChangeEvseAvailability, ClockSynchronized,
                           ConnectorStatusChanged, ConnectorStatusSeen, EndTransaction,
                           EvseAvailabilityChanged, EvseSettingsChanged, EvseStatus,
                           GetEvseStatus, LockProblemChanged, MasterPassStop, MeterValuesReady,
                           OperatorResult, PlugIn, PlugOut, PresentToken, RemoteStart,
                           RemoteStartAnswered, RemoteStop, RemoteStopAnswered, SetEvState,
                           SetFault, SetLockFailure, SetParkingBay, StationAvailabilityChanged,
                           StationTransactionsChanged, TokenAuthorized,
                           TransactionEventAnswered, TransactionEventQueued,
                           TransactionEventReady, TriggerEvse, Unlock, UnlockAnswered)
from messages.energy import ChargingLimitApplied
from messages.reservation import (EvseHeldForReservations, ReservationCleared,
                                  ReservationMade)
from simulators.evse_controls import SimulatorControls
from station.evse_panel import ControlPanel
from simulators.evse_hardware import simulated_hardware
from station import clock as station_clock
from config.station import EvsesSection
from station.evse_core import (EVSE_TIER_KEYS, EVSE_TIER_PREFIX, SAVES, SETTINGS_KEYS,
                               AnnounceStatus, EvseCore, Intent, Outcome, ReportLockProblem,
                               RequestAuthorization, SaveAvailability, SaveState,
                               SendMeterValues, SendTransactionEvent)
from station.evse_state import EvseState
from ports.time import iso
from storage import lite
from storage.availability import AvailabilityRepository
from storage.evse_repo import EvseRepository, read_device_model, read_evse_tier

log = logging.getLogger(__name__)

TICK = timedelta(seconds=1)


def system_now():
    """The system clock the station clock is built on (a seam: tests replace it)."""
    return station_clock.utc_now()


def open_hardware(evses: EvsesSection, evse_id: int) -> HardwareFactory:
    """The driver of EVSE ``evse_id`` as configured (``evses.driver``): the simulator, or the
    factory a ``package.module:name`` callable returns for (evse_id, connectors)."""
    if evses.driver == "simulated":
        return simulated_hardware(evse_id, evses.connectors_per_evse,
                                  parking_sensor=evses.parking_bay_sensor,
                                  signing_meter=evses.signing_meter)
    module, _, name = evses.driver.partition(":")
    return getattr(importlib.import_module(module), name)(evse_id, evses.connectors_per_evse)


class Evse(ChildActor):
    role = "evse"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.core: EvseCore | None = None
        self.panel: ControlPanel | None = None      # the simulator's inputs, if it is one
        self.tick_generation = 0
        # Names the core whose announcements ConnectorStatusChanged numbers (messages/evse.py).
        self.origin = ""

    # -- set-up ---------------------------------------------------------------------------------

    def configure(self, msg) -> None:
        cfg = self.config
        db = lite.connect(cfg.core_db_path, cfg.core_migrations_dir)
        self.availability_repo = AvailabilityRepository(db)
        self.repo = EvseRepository(db)
        self.clock = station_clock.StationClock(system=lambda: system_now())
        connectors = cfg.evses.connectors_per_evse
        availability = EvseState.load(self.index, connectors, self.availability_repo.all())
        # A Configure that carries the values (read once by whoever configures 128 EVSEs)
        # spares every process its own read: about 0.5 MB of private memory each.
        values = getattr(msg, "evse_settings", None)
        if values is None:
            values = {**read_device_model(cfg.device_model_db_path, SETTINGS_KEYS),
                      **read_evse_tier(cfg.device_model_db_path, EVSE_TIER_KEYS,
                                       EVSE_TIER_PREFIX).get(self.index, {})}
        self.core = EvseCore(self.index, values, availability,
                             hardware=open_hardware(cfg.evses, self.index))
        self.origin = uuid.uuid4().hex          # a new core counts its announcements from 1
        saved = self.repo.load(self.index)
        running = saved["tx"].get("transaction_id") if saved else None
        if msg.restarted or running:
            log.warning("EVSE %d %s; transaction %s", self.index,
                        "restarted" if msg.restarted else f"started ({msg.boot_reason})", running)
        self._run(self.core.start(self.clock.now(), saved, fresh_boot=not msg.restarted,
                                  boot_reason=msg.boot_reason))
        driver = self.core.hw
        self.panel = ControlPanel(driver, self.core) if isinstance(driver, SimulatorControls) \
            else None
        self._arm_tick()

    def directory_changed(self) -> None:
        self._run(self.core.resend())

    def _arm_tick(self) -> None:
        self.tick_generation += 1
        self.wakeupAfter(TICK, payload=("evse-tick", self.tick_generation))

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender):
        if msg.payload != ("evse-tick", self.tick_generation):
            return
        self._run(self.core.tick(self.clock.now()))
        self.wakeupAfter(TICK, payload=("evse-tick", self.tick_generation))

    # -- carrying out the core's intents --------------------------------------------------------

    def _run(self, intents: list[Intent], answer=None, to=None) -> None:
        """Saves, then ``answer`` to ``to``, then everything else (module docstring)."""
        # Before the answer leaves: whatever its requester does next (an operator reconnecting
        # the CSMS) comes later than this, so the session can tell (AuthorizeToken.asked_at).
        asked_at = time.monotonic()
        try:
            for intent in intents:
                if isinstance(intent, SaveState):
                    self.repo.save(self.index, intent.state, intent.running,
                                   iso(self.clock.now()))
                elif isinstance(intent, SaveAvailability):
                    self.availability_repo.set(self.index, intent.connector_id, intent.status)
        except Exception:
            # Nothing of this step was sent; Thespian delivers the message once more, but the
            # core has moved on (a second PlugOut is refused): the next step redoes it all.
            self.core.intents_lost(intents)
            raise
        if answer is not None:
            self.send(to, answer)
        session = self.directory.csms_session if self.directory is not None else None
        if session is None:
            return          # sent again by resend() when the Directory arrives
        for intent in intents:
            if isinstance(intent, SAVES):
                continue
            if isinstance(intent, SendTransactionEvent):
                message = TransactionEventReady(evse_id=self.index, event_key=intent.event_key,
                                                payload=intent.payload)
            elif isinstance(intent, AnnounceStatus):
                message = ConnectorStatusChanged(evse_id=self.index,
                                                 connector_id=intent.connector_id,
                                                 status=intent.status,
                                                 timestamp=iso(intent.at or self.clock.now()),
                                                 origin=self.origin,
                                                 sequence=intent.sequence)
            elif isinstance(intent, ReportLockProblem):
                message = LockProblemChanged(evse_id=self.index,
                                             connector_id=intent.connector_id,
                                             problem=intent.problem,
                                             timestamp=iso(self.clock.now()))
            elif isinstance(intent, SendMeterValues):
                message = MeterValuesReady(evse_id=self.index, payload=intent.payload)
            elif isinstance(intent, RequestAuthorization):
                message = AuthorizeToken(correlation_id=intent.correlation_id,
                                         evse_id=self.index, id_token=intent.id_token,
                                         remote_start=intent.remote_start,
                                         asked_at=asked_at)
            else:
                raise TypeError(f"unknown intent {intent!r}")
            self.send(session, message)

    def _operator(self, outcome: Outcome, sender) -> None:
        ok, error = outcome.answer
        self._run(outcome.intents, OperatorResult(ok=ok, error=error), sender)

    # -- operator and EV inputs (control API, demo, tests) --------------------------------------

    def _control(self, sender, control: Callable[[ControlPanel, datetime], Outcome]) -> None:
        if self.panel is None:
            self.send(sender, OperatorResult(
                ok=False, error=f"the driver of EVSE {self.index} takes no simulated inputs"))
            return
        self._operator(control(self.panel, self.clock.now()), sender)

    def receiveMsg_PlugIn(self, msg: PlugIn, sender):
        self._control(sender, lambda panel, now: panel.plug_in(now, msg.connector_id))

    def receiveMsg_PlugOut(self, msg: PlugOut, sender):
        self._control(sender, lambda panel, now: panel.plug_out(now))

    def receiveMsg_PresentToken(self, msg: PresentToken, sender):
        self._operator(self.core.present_token(self.clock.now(), msg.id_token), sender)

    def receiveMsg_SetEvState(self, msg: SetEvState, sender):
        self._control(sender, lambda panel, now: panel.set_ev_state(now, msg.state))

    def receiveMsg_SetFault(self, msg: SetFault, sender):
        self._control(sender, lambda panel, now: panel.set_fault(now, msg.active, msg.code))

    def receiveMsg_SetLockFailure(self, msg: SetLockFailure, sender):
        self._control(sender, lambda panel, now: panel.set_lock_failure(now, msg.connector_id,
                                                                        msg.active))

    def receiveMsg_SetParkingBay(self, msg: SetParkingBay, sender):
        self._control(sender, lambda panel, now: panel.set_parking_bay(now, msg.occupied))

    # -- the CsmsSession ------------------------------------------------------------------------

    def receiveMsg_TokenAuthorized(self, msg: TokenAuthorized, sender):
        self._run(self.core.token_authorized(self.clock.now(), msg.correlation_id,
                                             msg.id_token_info, allowed=msg.allowed,
                                             reservation_id=msg.reservation_id))

    def receiveMsg_ReservationMade(self, msg: ReservationMade, sender):
        self._run(self.core.reservation_made(self.clock.now(), msg.reservation_id,
                                             msg.id_token, msg.group_id_token, msg.expiry))

    def receiveMsg_ReservationCleared(self, msg: ReservationCleared, sender):
        self._run(self.core.reservation_cleared(self.clock.now(), msg.reservation_id))

    def receiveMsg_EvseHeldForReservations(self, msg: EvseHeldForReservations, sender):
        self._run(self.core.held_for_reservations(self.clock.now(), msg.held))

    def receiveMsg_TransactionEventQueued(self, msg: TransactionEventQueued, sender):
        self._run(self.core.event_queued(self.clock.now(), msg.event_key))

    def receiveMsg_ConnectorStatusSeen(self, msg: ConnectorStatusSeen, sender):
        if msg.origin == self.origin:               # not an answer to a previous core
            self._run(self.core.status_seen(self.clock.now(), msg.connector_id, msg.sequence))

    def receiveMsg_TransactionEventAnswered(self, msg: TransactionEventAnswered, sender):
        self._run(self.core.event_answered(self.clock.now(), msg.transaction_id,
                                           msg.id_token_info, msg.id_token))

    def receiveMsg_RemoteStart(self, msg: RemoteStart, sender):
        outcome = self.core.remote_start(self.clock.now(), msg.id_token, msg.group_id_token,
                                         msg.remote_start_id, msg.reservation_id)
        status, transaction_id, reason = outcome.answer
        self._run(outcome.intents, RemoteStartAnswered(
            correlation_id=msg.correlation_id, status=status, transaction_id=transaction_id,
            reason=reason), sender)

    def receiveMsg_RemoteStop(self, msg: RemoteStop, sender):
        outcome = self.core.remote_stop(self.clock.now(), msg.transaction_id)
        self._run(outcome.intents, RemoteStopAnswered(correlation_id=msg.correlation_id,
                                                      status=outcome.answer), sender)

    def receiveMsg_Unlock(self, msg: Unlock, sender):
        outcome = self.core.unlock(self.clock.now(), msg.connector_id)
        self._run(outcome.intents, UnlockAnswered(correlation_id=msg.correlation_id,
                                                  status=outcome.answer), sender)

    def receiveMsg_TriggerEvse(self, msg: TriggerEvse, sender):
        self._run(self.core.trigger(self.clock.now(), msg.requested_message))

    def receiveMsg_MasterPassStop(self, msg: MasterPassStop, sender):
        self._run(self.core.master_pass_stop(self.clock.now(), msg.id_token))

    def receiveMsg_EndTransaction(self, msg: EndTransaction, sender):
        self._run(self.core.end_transaction(self.clock.now(), msg.stopped_reason,
                                            msg.trigger_reason))

    def receiveMsg_EvseSettingsChanged(self, msg: EvseSettingsChanged, sender):
        self._run(self.core.settings_changed(self.clock.now(), msg.settings))

    def receiveMsg_ChangeEvseAvailability(self, msg: ChangeEvseAvailability, sender):
        # Persisted before the answer (G03.FR.08): _run saves first.
        outcome = self.core.change_availability(self.clock.now(), msg.connector_id,
                                                msg.operational_status)
        self._run(outcome.intents, EvseAvailabilityChanged(
            correlation_id=msg.correlation_id, evse_id=self.index, status=outcome.answer), sender)

    def receiveMsg_StationAvailabilityChanged(self, msg: StationAvailabilityChanged, sender):
        self._run(self.core.station_availability(self.clock.now(), msg.operational_status))

    def receiveMsg_ChargingLimitApplied(self, msg: ChargingLimitApplied, sender):
        self._run(self.core.apply_limit(self.clock.now(), msg.sink, msg.current_a, msg.power_w,
                                        msg.phases))

    def receiveMsg_StationTransactionsChanged(self, msg: StationTransactionsChanged, sender):
        self._run(self.core.station_transactions(self.clock.now(), msg.any_transaction))

    def receiveMsg_ClockSynchronized(self, msg: ClockSynchronized, sender):
        self.clock.offset_s = msg.offset_s

    def receiveMsg_GetEvseStatus(self, msg: GetEvseStatus, sender):
        # The status as of now: let time pass first (energy, timers, due meter values).
        now = self.clock.now()
        self._run(self.core.tick(now))
        core = self.core
        avail = core.avail
        self.send(sender, EvseStatus(
            evse_id=self.index, pid=os.getpid(),
            operational_status=avail.operational_status(),
            connectors=core.connector_statuses(),
            connector_operational_status={c: avail.operational_status(c)
                                          for c in avail.connector_ids},
            **core.status(now)))
