"""The composition root: the session, the blocks and all their wiring, in one place.

The CsmsSession actor builds one :class:`StationCore` and drives it; tests build one with an
in-memory device model and talk to it through a fake CSMS. Nothing here touches a socket or an
actor system.

Every block gets its ports at construction (``ports/``: the sending port, the session ports
it names, a device-model view, its own repository, and what it needs of a sibling as a small
Protocol or callable); nothing is injected afterwards. The three ways in are built here too:

* CALLs from the CSMS: the routing table (``station.routes.build_routes``);
* internal actor messages: :meth:`StationCore.dispatch`, one table message type -> handler
  (the actor only forwards them);
* a change of actor addresses: :meth:`StationCore.directory_changed`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from blocks.auth_routing import AuthRouting
from blocks.availability import Availability
from blocks.data_transfer import DataTransfer
from blocks.provisioning import Provisioning
from blocks.remote_control import RemoteControl
from blocks.reservation import Reservations
from blocks.reset import Reset
from blocks.security import Security
from blocks.smart_charging import EvseHardware, SmartCharging
from blocks.transactions import OngoingTransactions, Transactions
from config.station import StationConfig
from messages.auth import AuthCacheCleared, ListVersion, LocalListUpdated, TokenVerdict
from messages.energy import ExternalLimitDone, SetExternalLimit
from messages.evse import (AuthorizeToken, ClockSynchronized, ConnectorStatusChanged,
                           ConnectorStatusSeen, EvseAvailabilityChanged, EvseSettingsChanged,
                           LockProblemChanged, MeterValuesReady, RemoteStartAnswered,
                           RemoteStopAnswered, StationTransactionsChanged, TransactionEventReady,
                           UnlockAnswered)
from messages.ocpp201 import (ChargingStationType, ConnectorStatusEnumType,
                              RegistrationStatusEnumType)
from ports.time import iso, utc_now
from station.clock import StationClock
from simulators.evse_hardware import SIMULATED_MAX_CURRENT_A, SIMULATED_PHASES
from station.evse_core import EVSE_TIER_KEYS, EVSE_TIER_PREFIX, SETTINGS_KEYS
from station.message_queue import MessageQueue
from station.outbox import Outbox
from station.routes import build_routes
from station.sender import Sender
from station.session import StationSession
from storage import lite
from storage.profile_repo import ProfileRepository
from storage.evse_repo import EvseRepository
from storage.reservation_repo import ReservationRepository

log = logging.getLogger(__name__)

#: handler(message, reply_to, now) for one internal message type.
InboxHandler = Callable[[Any, Any, float], None]


@dataclass
class StationCore:
    config: StationConfig
    clock: StationClock
    session: StationSession
    provisioning: Provisioning
    availability: Availability
    remote_control: RemoteControl
    security: Security
    transactions: Transactions
    outbox: Outbox
    sender: Sender
    reset: Reset
    device_model: object
    data_transfer: DataTransfer
    ongoing: OngoingTransactions
    reservations: Reservations | None = None
    smart_charging: SmartCharging | None = None
    auth: AuthRouting | None = None
    inbox: dict[type, InboxHandler] | None = None

    def dispatch(self, message: Any, reply_to: Any, now: float) -> bool:
        """Hand an internal actor message to the block that handles it.

        Args:
            message: What another actor sent the CsmsSession.
            reply_to: Its sender's address; an answer goes out through the session's outbox.
            now: The monotonic time.

        Returns:
            False if no block handles ``type(message)`` (the actor logs it).
        """
        handler = (self.inbox or {}).get(type(message))
        if handler is None:
            return False
        handler(message, reply_to, now)
        return True

    def directory_changed(self) -> None:
        """Other actors' addresses changed: one of them may have restarted and lost state."""
        # The AuthCache may have lost what it was asked (blocks/auth_routing.py).
        self.auth.resend()
        # A restarted Evse starts with the system clock; tell it the station's (B01.FR.06).
        if self.clock.offset_s:
            self.session.send_to_actor(("evses", None),
                                       ClockSynchronized(offset_s=self.clock.offset_s))
        # A restarted EnergySink has no schedule until told again.
        self.smart_charging.publish()
        reservations = self.reservations
        if reservations is None:
            return
        # An Evse keeps its reservation in EVSE_STATE, but one that was down may have missed
        # a change (B11.FR.05): tell the reserved ones again, and clear a stale Reserved.
        reservations.sync_all()
        for evse_id, connectors in enumerate(self.config.connectors_per_evse, start=1):
            if not reservations.is_reserved(evse_id) and any(
                    self.availability.status_of(evse_id, c) == ConnectorStatusEnumType.reserved
                    for c in range(1, connectors + 1)):
                reservations.sync_evse(evse_id)


def build_core(config: StationConfig, device_model, availability_repo, queue_store, *,
               wall_clock: Callable[[], datetime] | None = None,
               new_message_id: Callable[[], str] | None = None,
               boot_reason: str = "PowerUp", with_reservations: bool = True) -> StationCore:
    """Create the session and blocks for ``config`` on an opened device model.

    ``with_reservations`` False leaves block H out (its own tests build it on the session).
    """
    dm = device_model
    _seed_station_identity(config, dm)
    clock = StationClock(system=wall_clock or utc_now)
    wall_clock = clock.now
    session = StationSession(
        identity=config.station.identity,
        new_message_id=new_message_id,
        wall_clock=wall_clock,
        message_timeout=float(dm.get_int("OCPPCommCtrlr", "MessageTimeout", instance="Default",
                                         default=30) or 30),
    )
    session.boot_reason = boot_reason
    session.heartbeat_interval = float(dm.get_int("OCPPCommCtrlr", "HeartbeatInterval",
                                                  default=0) or 0)
    session.boot_info = lambda: _charging_station(config)
    # The one way out (station.send_policy): every block sends its CALLs through ``sender``.
    queue = MessageQueue(
        queue_store,
        message_attempts=dm.get_int("OCPPCommCtrlr", "MessageAttempts",
                                    instance="TransactionEvent", default=3) or 1,
        message_attempt_interval=float(dm.get_int("OCPPCommCtrlr", "MessageAttemptInterval",
                                                  instance="TransactionEvent", default=60) or 0),
        queue_all_messages=bool(dm.get_bool("OCPPCommCtrlr", "QueueAllMessages", default=False)),
        resume_delay=float(config.ocpp.MessageQueueResumeDelay))
    outbox = Outbox(session, queue)
    sender = Sender(session, outbox)
    provisioning = Provisioning(session, sender, dm)
    # Transactions the Evses keep running (their TRANSACTIONS rows): a restarted CsmsSession
    # has no other record of one whose events were all delivered before it died.
    running = {tx: (evse, start) for tx, (evse, start) in EvseRepository(
        lite.connect(config.core_db_path, config.core_migrations_dir)).running().items()
        if 1 <= evse <= len(config.connectors_per_evse)}
    # One owner: the Transactions block writes it; the others read it.
    ongoing = OngoingTransactions({tx: evse for tx, (evse, _) in running.items()})
    availability = Availability(session, sender, dm, availability_repo, config.connectors_per_evse,
                                lambda: bool(ongoing))
    # After Availability: on Accepted and on a reconnect the connectors' StatusNotifications
    # (B01.FR.05, B04) go out before the messages queued meanwhile.
    outbox.attach()
    remote = RemoteControl(session)
    remote.add_trigger("StatusNotification", availability.trigger_status)
    security = Security(session, sender)
    reservations = None
    if with_reservations:
        reservations = Reservations(
            session, sender, dm, ReservationRepository(lite.connect(config.core_db_path,
                                                            config.core_migrations_dir)),
            config.connectors_per_evse, availability.status_of,
            lambda e, c: dm.get("Connector", "ConnectorType", evse_id=e, connector_id=c),
            evse_in_use=ongoing.evse_busy)
    ocpp = config.ocpp
    smart_charging = SmartCharging(
        session, sender, dm, ProfileRepository(lite.connect(config.core_db_path,
                                                    config.core_migrations_dir)),
        [EvseHardware(SIMULATED_MAX_CURRENT_A, SIMULATED_PHASES)] * len(config.connectors_per_evse),
        ongoing, interval_s=ocpp.CompositeScheduleIntervalS,
        duration_s=ocpp.RequestCompositeScheduleDurationS,
        unit=ocpp.RequestCompositeScheduleUnit)
    smart_charging.restore_transactions({
        tx: datetime.fromtimestamp(start / 1000, timezone.utc)
        for tx, (_, start) in running.items()})
    auth = AuthRouting(session, dm, wall_clock, sender)                           # blocks C and D
    reset = Reset(session, dm, lambda: ongoing,
                  reservations_pending=lambda: bool(reservations and reservations.active))

    station_busy = [False]

    def transactions_changed() -> None:
        if reservations is not None:
            reservations.refresh()
        reset.transactions_changed()
        if bool(ongoing) != station_busy[0]:
            station_busy[0] = bool(ongoing)                               # J01.FR.20
            session.send_to_actor(("evses", None), StationTransactionsChanged(
                any_transaction=station_busy[0]))

    transactions = Transactions(
        session, sender, queue, config.connectors_per_evse, availability.status_of, ongoing,
        auth=auth, reservations=reservations, remote_start_profiles=smart_charging,
        aligned_measurands=lambda: dm.get("AlignedDataCtrlr", "Measurands") or "",
        on_changed=transactions_changed, event_listeners=[smart_charging.transaction_event])
    for requested in ("MeterValues", "TransactionEvent"):
        remote.add_trigger(requested, lambda evse, r=requested: transactions.trigger(r, evse))

    def on_registration(registration: str, previous: str, now: float) -> None:
        if registration == RegistrationStatusEnumType.accepted and session.heartbeat_interval > 0:
            # B01.FR.04: the interval the CSMS gave becomes the configured one.
            dm.set_internal("OCPPCommCtrlr", "HeartbeatInterval",
                            str(int(session.heartbeat_interval)))

    session.on_registration(on_registration)

    def on_variable_set(component: str, variable: str, instance: str | None, value: str) -> None:
        key = f"{component}.{variable}"
        if key in SETTINGS_KEYS and instance is None:
            # The Evses read these at start; the device model has one writer, so tell them.
            session.send_to_actor(("evses", None), EvseSettingsChanged(settings={key: value}))
        if component != "OCPPCommCtrlr":
            return
        if variable == "HeartbeatInterval":
            session.set_heartbeat_interval(float(value))
        elif variable == "MessageTimeout":
            session.message_timeout = float(value)
        elif variable == "MessageAttempts" and instance == "TransactionEvent":
            queue.message_attempts = int(value)
        elif variable == "MessageAttemptInterval" and instance == "TransactionEvent":
            queue.message_attempt_interval = float(value)
        elif variable == "QueueAllMessages":
            queue.set_queue_all_messages(value.lower() == "true")

    provisioning.on_variable_set(on_variable_set)

    def on_evse_variable_set(component: str, variable: str, instance: str | None, evse_id: int,
                             value: str) -> None:
        key = f"{component}.{variable}"
        if key in EVSE_TIER_KEYS and instance is None:                    # J01.FR.19
            session.send_to_actor(("evse", evse_id), EvseSettingsChanged(
                settings={EVSE_TIER_PREFIX + key: value}))

    provisioning.on_evse_variable_set(on_evse_variable_set)
    # ClockCtrlr.DateTime is required and read-only: the station's current time when read.
    dm.provide("ClockCtrlr", "DateTime", lambda: iso(clock.now()))

    def on_csms_time(current_time: str) -> None:
        if "Heartbeat" not in (dm.get("ClockCtrlr", "TimeSource") or ""):
            return
        adjustment = clock.synchronize(current_time)                      # B01.FR.06, G02.FR.06
        if abs(adjustment) >= 1.0:
            log.info("clock adjusted by %.3f s to the CSMS's time", adjustment)
            session.send_to_actor(("evses", None), ClockSynchronized(offset_s=clock.offset_s))
            # The queue compares event timestamps (the Evses' clock) with its last connect.
            outbox.queue.clock_adjusted(adjustment)

    session.on_csms_time = on_csms_time
    inbox = _actor_inbox(session, availability, reservations, transactions, auth, smart_charging)
    data_transfer = DataTransfer()
    # The one table in (station.routes), before any connect: the session reads it then.
    session.install_routes(build_routes(
        provisioning=provisioning, availability=availability, remote_control=remote,
        transactions=transactions, auth=auth, smart_charging=smart_charging, reset=reset,
        data_transfer=data_transfer, reservations=reservations))
    return StationCore(config, clock, session, provisioning, availability, remote, security,
                       transactions, outbox, sender, reset, dm, data_transfer, ongoing, reservations,
                       smart_charging, auth, inbox)


def _actor_inbox(session: StationSession, availability: Availability,
                 reservations: Reservations | None, transactions: Transactions,
                 auth: AuthRouting, smart_charging: SmartCharging) -> dict[type, InboxHandler]:
    """Internal message type -> the block(s) that handle it (``StationCore.dispatch``)."""

    def connector_status_changed(msg: ConnectorStatusChanged, reply_to, now: float) -> None:
        availability.connector_status_changed(msg)
        if reservations is not None:
            reservations.connector_status_changed(msg.evse_id, msg.connector_id, msg.status)
        if msg.origin:
            # G01.FR.01: the Evse stops announcing a status the session holds.
            session.send_to_actor(reply_to, ConnectorStatusSeen(
                evse_id=msg.evse_id, connector_id=msg.connector_id, origin=msg.origin,
                sequence=msg.sequence))

    def answer_deferred(msg, reply_to, now: float) -> None:
        # An Evse answered a CALL that waited for it (StationSession.defer).
        session.resolve_deferred(msg.correlation_id, msg, now)

    def auth_answered(msg, reply_to, now: float) -> None:
        auth.answered(msg)

    def set_external_limit(msg: SetExternalLimit, reply_to, now: float) -> None:
        if msg.limit is None:
            error = smart_charging.clear_external_limit(msg.evse_id, msg.source)
        else:
            error = smart_charging.set_external_limit(msg.evse_id, msg.limit, msg.unit,
                                                      msg.source)
        session.send_to_actor(reply_to, ExternalLimitDone(ok=error is None, error=error))

    return {
        ConnectorStatusChanged: connector_status_changed,
        LockProblemChanged: lambda msg, reply_to, now: availability.lock_problem_changed(msg),
        EvseAvailabilityChanged: answer_deferred,
        RemoteStartAnswered: answer_deferred,
        RemoteStopAnswered: answer_deferred,
        UnlockAnswered: answer_deferred,
        TokenVerdict: lambda msg, reply_to, now: auth.verdict(msg),
        LocalListUpdated: auth_answered,                  # SendLocalList
        ListVersion: auth_answered,                       # GetLocalListVersion
        AuthCacheCleared: auth_answered,                  # ClearCache
        TransactionEventReady: lambda msg, reply_to, now: transactions.transaction_event_ready(msg),
        MeterValuesReady: lambda msg, reply_to, now: transactions.meter_values_ready(msg),
        AuthorizeToken: lambda msg, reply_to, now: transactions.authorize_token(msg, reply_to),
        SetExternalLimit: set_external_limit,
    }


def _charging_station(config: StationConfig) -> ChargingStationType:
    """BootNotification's chargingStation; an empty serial number or firmware version is left
    out (the configuration's limits are the schema's, so this cannot fail)."""
    station = config.station
    return ChargingStationType(model=station.model, vendor_name=station.vendor_name,
                               serial_number=station.serial_number or None,
                               firmware_version=station.firmware_version or None)


def _seed_station_identity(config: StationConfig, dm) -> None:
    """The config file is the truth for what the station *is*; the CSMS cannot change it."""
    station = config.station
    values = [
        ("SecurityCtrlr", "Identity", station.identity),
        ("SecurityCtrlr", "SecurityProfile", str(config.csms.security_profile)),
        ("InternalCtrlr", "ChargePointId", station.identity),
        ("InternalCtrlr", "ChargePointVendor", station.vendor_name),
        ("InternalCtrlr", "ChargePointModel", station.model),
        ("InternalCtrlr", "ChargeBoxSerialNumber", station.serial_number),
        ("InternalCtrlr", "FirmwareVersion", station.firmware_version),
        ("InternalCtrlr", "NumberOfConnectors",
         str(sum(config.connectors_per_evse))),
        ("ChargingStation", "Model", station.model),
        ("ChargingStation", "VendorName", station.vendor_name),
        ("ChargingStation", "SerialNumber", station.serial_number),
        ("ChargingStation", "FirmwareVersion", station.firmware_version),
    ]
    for component, variable, value in values:
        if value is None:
            continue
        if not dm.set_internal(component, variable, value):
            log.debug("device model has no %s.%s; not seeded", component, variable)
