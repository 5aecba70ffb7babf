"""Assembles the station's plain-logic core: the session, the blocks and their wiring.

The CsmsSession actor builds one :class:`StationCore` and drives it; tests build one with an
in-memory device model and talk to it through a fake CSMS. Nothing here touches a socket or an
actor system.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from blocks.auth_routing import AuthRouting
from blocks.availability import Availability
from blocks.data_transfer import DataTransfer
from blocks.provisioning import Provisioning
from blocks.remote_control import RemoteControl
from blocks.reservation import Reservations
from blocks.reset import Reset
from blocks.security import Security
from blocks.smart_charging import EvseHardware, SmartCharging
from blocks.transactions import Transactions
from station.config import StationConfig
from messages.ocpp201 import ChargingStationType
from messages.evse import ClockSynchronized, EvseSettingsChanged, StationTransactionsChanged
from station.clock import StationClock, utc_now
from simulators.evse_hardware import SIMULATED_MAX_CURRENT_A, SIMULATED_PHASES
from station.evse_core import EVSE_TIER_KEYS, EVSE_TIER_PREFIX, SETTINGS_KEYS
from station.message_queue import MessageQueue
from station.outbox import Outbox
from station.routes import build_routes
from station.sender import Sender
from station.session import StationSession, iso
from storage import lite
from storage.profile_repo import ProfileRepository
from storage.evse_repo import EvseRepository
from storage.reservation_repo import ReservationRepository

log = logging.getLogger(__name__)

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
    reservations: Reservations | None = None
    smart_charging: SmartCharging | None = None
    auth: AuthRouting | None = None


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
    ongoing: dict[str, int] = {tx: evse for tx, (evse, _) in running.items()}
    availability = Availability(session, sender, dm, availability_repo, config.connectors_per_evse,
                                lambda: bool(ongoing))
    # After Availability: on Accepted and on a reconnect the connectors' StatusNotifications
    # (B01.FR.05, B04) go out before the messages queued meanwhile.
    outbox.attach()
    remote = RemoteControl(session)
    remote.add_trigger("StatusNotification", availability.trigger_status)
    security = Security(session, sender)
    transactions = Transactions(session, sender, config.connectors_per_evse,
                                availability.status_of, ongoing=ongoing)
    reservations = None
    if with_reservations:
        reservations = Reservations(
            session, sender, dm, ReservationRepository(lite.connect(config.core_db_path,
                                                            config.core_migrations_dir)),
            config.connectors_per_evse, availability.status_of,
            lambda e, c: dm.get("Connector", "ConnectorType", evse_id=e, connector_id=c),
            evse_in_use=lambda e: e in transactions.ongoing.values())
    transactions.reservations = reservations
    ocpp = config.ocpp
    smart_charging = SmartCharging(
        session, sender, dm, ProfileRepository(lite.connect(config.core_db_path,
                                                    config.core_migrations_dir)),
        [EvseHardware(SIMULATED_MAX_CURRENT_A, SIMULATED_PHASES)] * len(config.connectors_per_evse),
        transactions.ongoing, interval_s=ocpp.CompositeScheduleIntervalS,
        duration_s=ocpp.RequestCompositeScheduleDurationS,
        unit=ocpp.RequestCompositeScheduleUnit)
    transactions.smart_charging = smart_charging
    transactions.event_listeners.append(smart_charging.transaction_event)
    smart_charging.restore_transactions({
        tx: datetime.fromtimestamp(start / 1000, timezone.utc)
        for tx, (_, start) in running.items()})
    auth = AuthRouting(session, dm, wall_clock, sender)                           # blocks C and D
    transactions.auth = auth
    reset = Reset(session, dm, lambda: transactions.ongoing,
                  reservations_pending=lambda: bool(reservations and reservations.active))

    station_busy = [False]

    def transactions_changed() -> None:
        if reservations is not None:
            reservations.refresh()
        reset.transactions_changed()
        if bool(transactions.ongoing) != station_busy[0]:
            station_busy[0] = bool(transactions.ongoing)                  # J01.FR.20
            session.send_to_actor(("evses", None), StationTransactionsChanged(
                any_transaction=station_busy[0]))

    transactions.on_changed = transactions_changed
    transactions.aligned_measurands = lambda: dm.get("AlignedDataCtrlr", "Measurands") or ""
    for requested in ("MeterValues", "TransactionEvent"):
        remote.add_trigger(requested, lambda evse, r=requested: transactions.trigger(r, evse))

    def on_registration(registration: str, previous: str, now: float) -> None:
        if registration == "Accepted" and session.heartbeat_interval > 0:
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
    data_transfer = DataTransfer()
    # The one table in (station.routes), before any connect: the session reads it then.
    session.install_routes(build_routes(
        provisioning=provisioning, availability=availability, remote_control=remote,
        transactions=transactions, auth=auth, smart_charging=smart_charging, reset=reset,
        data_transfer=data_transfer, reservations=reservations))
    return StationCore(config, clock, session, provisioning, availability, remote, security,
                       transactions, outbox, sender, reset, dm, data_transfer, reservations,
                       smart_charging, auth)


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
