"""The Evse actor on simpleSystemBase, with a fake CsmsSession (part 2 E, F, G; E04.FR.04).

The Evse is created on its own (no Root): the test sends it Configure and a Directory whose
csms_session is :class:`FakeSession`, which records what the Evse tells the session, answers
TransactionEventQueued, ConnectorStatusSeen and TokenAuthorized (Accepted) like the real one,
and can be asked for its records. Time is the test's: ``actors.evse.system_now`` is replaced by a clock the test
moves; every input (GetEvseStatus too) runs a step at that time. simpleSystemBase delivers
messages only while an ask/tell runs, so :func:`settle` asks until the exchange is over.
"""
from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta, timezone

import pytest
from thespian.actors import ActorExitRequest, ActorTypeDispatcher

import actors.evse
from actors.evse import Evse
from messages.base import Msg
from messages.evse import (AuthorizeToken, ChangeEvseAvailability, ConnectorStatusChanged,
                           ConnectorStatusSeen,
                           EvseAvailabilityChanged, EvseSettingsChanged, EvseStatus,
                           GetEvseStatus, MeterValuesReady, OperatorResult, PlugIn, PlugOut,
                           PresentToken, RemoteStart, RemoteStartAnswered, RemoteStop,
                           RemoteStopAnswered, SetEvState, TokenAuthorized,
                           TransactionEventQueued, TransactionEventReady, TriggerEvse, Unlock,
                           UnlockAnswered)
from messages.ocpp201 import IdTokenEnumType, IdTokenType, to_wire
from messages.reservation import ReservationCleared, ReservationMade
from messages.supervision import ChildReady, Configure, Directory
from storage import lite
from storage.evse_repo import EvseRepository

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
CARD = IdTokenType(id_token="CARD-1", type=IdTokenEnumType.iso14443)


# -- the fake session (module level: Thespian creates it by class) -------------------------------

class GetRecords(Msg):
    pass


class Records(Msg):
    events: list[dict]
    keys: list[str]
    statuses: list[tuple[int, int, str]]
    meter_values: list[dict]
    authorizations: int
    asked_at: list[float | None] = []


class SetAcknowledging(Msg):
    ack: bool


class FakeSession(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events, self.keys, self.statuses, self.meter_values = [], [], [], []
        self.authorizations = 0
        self.asked_at: list[float | None] = []
        self.ack = True

    def receiveMsg_SetAcknowledging(self, msg, sender):
        self.ack = msg.ack
        self.send(sender, msg)

    def receiveMsg_TransactionEventReady(self, msg: TransactionEventReady, sender):
        # Like the real session: a key it has already queued is acknowledged again, not queued.
        if msg.event_key not in self.keys:
            self.keys.append(msg.event_key)
            self.events.append(to_wire(msg.payload))     # what the CSMS would get
        if self.ack:
            self.send(sender, TransactionEventQueued(evse_id=msg.evse_id,
                                                     event_key=msg.event_key))

    def receiveMsg_AuthorizeToken(self, msg: AuthorizeToken, sender):
        self.authorizations += 1
        self.asked_at.append(msg.asked_at)
        self.send(sender, TokenAuthorized(correlation_id=msg.correlation_id,
                                          id_token_info={"status": "Accepted"}))

    def receiveMsg_ConnectorStatusChanged(self, msg: ConnectorStatusChanged, sender):
        self.statuses.append((msg.evse_id, msg.connector_id, msg.status))
        if self.ack:
            self.send(sender, ConnectorStatusSeen(evse_id=msg.evse_id,
                                                  connector_id=msg.connector_id,
                                                  origin=msg.origin, sequence=msg.sequence))

    def receiveMsg_MeterValuesReady(self, msg: MeterValuesReady, sender):
        self.meter_values.append(to_wire(msg.payload))

    def receiveMsg_GetRecords(self, msg, sender):
        self.send(sender, Records(events=self.events, keys=self.keys, statuses=self.statuses,
                                  meter_values=self.meter_values,
                                  authorizations=self.authorizations,
                                  asked_at=self.asked_at))


# -- fixtures -------------------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(actors.evse, "system_now", fake)
    return fake


@pytest.fixture
def config(station_config):
    return station_config(2)


class Rig:
    """One Evse (index 1) and the fake session."""

    def __init__(self, asys, config, clock, *, restarted: bool = False, session=None) -> None:
        self.asys, self.config, self.clock = asys, config, clock
        self.session = session or asys.createActor(FakeSession)
        self.evse = asys.createActor(Evse)
        ready = asys.ask(self.evse, Configure(role="evse", index=1, config=config,
                                              restarted=restarted), 10)
        assert isinstance(ready, ChildReady), ready
        asys.tell(self.evse, Directory(root=self.session, csms_session=self.session))

    def ask(self, message, answer_type, after: float = 1.0):
        self.clock.advance(after)
        answer = self.asys.ask(self.evse, message, 10)
        assert isinstance(answer, answer_type), answer
        return answer

    def operator(self, message) -> None:
        answer = self.ask(message, OperatorResult)
        assert answer.ok, answer.error

    def records(self) -> Records:
        """What the session got, after letting every message in flight arrive."""
        previous = None
        for _ in range(20):
            records = self.asys.ask(self.session, GetRecords(), 10)
            self.asys.ask(self.evse, GetEvseStatus(), 10)      # the Evse handles its mail
            if previous is not None and records == previous:
                return records
            previous = records
        return previous

    def summary(self) -> list[tuple]:
        return [(e["eventType"], e["seqNo"], e["triggerReason"],
                 e["transactionInfo"].get("chargingState"),
                 e["transactionInfo"].get("stoppedReason")) for e in self.records().events]

    def status(self) -> EvseStatus:
        return self.ask(GetEvseStatus(), EvseStatus, after=0)

    def saved(self) -> dict:
        connection = lite.connect(self.config.core_db_path, self.config.core_migrations_dir)
        try:
            return EvseRepository(connection).load(1)
        finally:
            connection.close()

    def kill(self) -> None:
        self.asys.tell(self.evse, ActorExitRequest())


# -- tests ----------------------------------------------------------------------------------------

class TestFuncSession:
    def test_plug_token_charge_stop_unplug(self, asys, config, clock):
        rig = Rig(asys, config, clock)
        asys.tell(rig.evse,
                  EvseSettingsChanged(settings={"SampledDataCtrlr.TxUpdatedInterval": "10"}))
        rig.operator(PlugIn(connector_id=1))
        rig.operator(PresentToken(id_token=CARD))
        rig.records()                                   # authorization answered, Started out
        rig.operator(SetEvState(state="charging"))
        clock.advance(10)                               # one TxUpdatedInterval
        status = rig.status()
        assert status.transaction["chargingState"] == "Charging"
        assert status.power_w == pytest.approx(22080.0) and status.connectors == {1: "Occupied"}
        rig.operator(PresentToken(id_token=CARD))   # E07: the same card stops
        rig.operator(PlugOut())
        assert rig.summary() == [
            ("Started", 0, "Authorized", "EVConnected", None),
            ("Updated", 1, "ChargingStateChanged", "SuspendedEV", None),   # offered (TC_E_38)
            ("Updated", 2, "ChargingStateChanged", "Charging", None),
            ("Updated", 3, "MeterValuePeriodic", None, None),
            ("Ended", 4, "StopAuthorized", "EVConnected", "Local"),
        ]
        records = rig.records()
        assert records.authorizations == 1
        assert [s[2] for s in records.statuses] == ["Available", "Occupied", "Available"]
        assert rig.status().transaction is None and rig.saved()["unacked"] == []

    def test_token_request_says_when_it_was_asked_before_the_operator_hears(self, asys,
                                                                             config, clock):
        """AuthorizeToken.asked_at is taken before the Evse answers the operator, so an action
        the operator takes next (a reconnect of the CSMS) is later: the session judges the
        token as on line or off line at presentation (C13.FR.02/05, TC_C_22/23/24)."""
        rig = Rig(asys, config, clock)
        rig.operator(PlugIn(connector_id=1))
        before = time.monotonic()
        rig.operator(PresentToken(id_token=CARD))
        answered = time.monotonic()
        [asked_at] = rig.records().asked_at
        assert asked_at is not None and before <= asked_at <= answered

    def test_remote_start_and_stop(self, asys, config, clock):
        rig = Rig(asys, config, clock)
        rig.operator(PlugIn(connector_id=1))
        answer = rig.ask(RemoteStart(correlation_id="r1", evse_id=1,
                                     id_token={"idToken": "APP", "type": "Central"},
                                     remote_start_id=5), RemoteStartAnswered)
        assert (answer.correlation_id, answer.status) == ("r1", "Accepted")
        rig.operator(SetEvState(state="charging"))
        events = rig.records().events
        assert events[0]["triggerReason"] == "RemoteStart"
        assert events[0]["transactionInfo"]["remoteStartId"] == 5
        tx_id = events[0]["transactionInfo"]["transactionId"]
        again = rig.ask(RemoteStart(correlation_id="r2", evse_id=1, remote_start_id=6,
                                    id_token={"idToken": "APP2", "type": "Central"}),
                        RemoteStartAnswered)
        assert again.status == "Rejected"                                     # F01.FR.24
        assert rig.ask(Unlock(correlation_id="u1", connector_id=1),
                       UnlockAnswered).status == "OngoingAuthorizedTransaction"  # F05.FR.02
        stop = rig.ask(RemoteStop(correlation_id="s1", transaction_id=tx_id), RemoteStopAnswered)
        assert stop.status == "Accepted"
        assert rig.summary()[-1] == ("Ended", 3, "RemoteStop", "EVConnected", "Remote")

    def test_trigger_meter_values(self, asys, config, clock):
        rig = Rig(asys, config, clock)
        asys.tell(rig.evse, TriggerEvse(requested_message="MeterValues"))
        values = rig.records().meter_values
        assert values[0]["evseId"] == 1
        assert values[0]["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"


class TestFuncAvailability:
    def test_scheduled_while_charging_then_unavailable(self, asys, config, clock):
        rig = Rig(asys, config, clock)
        rig.operator(PlugIn(connector_id=1))
        rig.operator(PresentToken(id_token=CARD))
        rig.records()
        answer = rig.ask(ChangeEvseAvailability(correlation_id="a1", evse_id=1,
                                                operational_status="Inoperative"),
                         EvseAvailabilityChanged)
        assert answer.status == "Scheduled"                                   # G03.FR.05
        rig.operator(PlugOut())
        status = rig.status()
        assert status.connectors == {1: "Unavailable"} and status.operational_status == \
            "Inoperative"
        assert rig.records().statuses[-1] == (1, 1, "Unavailable")            # G01.FR.05


class TestFuncReservation:
    def test_reservation_made_with_models_shows_reserved_and_is_saved(self, asys, config, clock):
        # H01.FR.23: the tokens travel as IdTokenType models; the Evse shows Reserved, keeps
        # the reservation in its saved state and shows it to the control API.
        rig = Rig(asys, config, clock)
        rig.records()
        asys.tell(rig.evse, ReservationMade(
            evse_id=1, reservation_id=7, id_token=IdTokenType(
                id_token="RES-1", type=IdTokenEnumType.iso14443),
            group_id_token=IdTokenType(id_token="G", type=IdTokenEnumType.central),
            expiry="2025-01-01T13:00:00.000Z"))
        status = rig.status()
        assert status.connectors == {1: "Reserved"}
        assert status.reservation == {"id": 7, "id_token": "RES-1",
                                      "expiry": "2025-01-01T13:00:00.000Z"}
        assert rig.saved()["reservation"]["id_token"] == {"idToken": "RES-1", "type": "ISO14443"}
        asys.tell(rig.evse, ReservationCleared(evse_id=1, reservation_id=7, reason="Expired"))
        assert rig.status().connectors == {1: "Available"}                     # H04.FR.02
        assert rig.records().statuses[-2:] == [(1, 1, "Reserved"), (1, 1, "Available")]


class TestFuncRestart:
    def test_killed_evse_continues_its_transaction(self, asys, config, clock):
        rig = Rig(asys, config, clock)
        rig.operator(PlugIn(connector_id=1))
        rig.operator(PresentToken(id_token=CARD))
        rig.operator(SetEvState(state="charging"))
        assert len(rig.records().events) == 2
        # The session stops acknowledging: the next event stays unacknowledged when we crash.
        asys.ask(rig.session, SetAcknowledging(ack=False), 10)
        asys.tell(rig.evse, TriggerEvse(requested_message="TransactionEvent"))
        assert len(rig.records().events) == 3
        rig.kill()
        assert len(rig.saved()["unacked"]) == 1
        asys.ask(rig.session, SetAcknowledging(ack=True), 10)
        clock.advance(30)
        again = Rig(asys, config, clock, restarted=True, session=rig.session)
        status = again.status()
        assert status.transaction["seqNo"] == 3 and status.power_w > 0
        again.operator(PresentToken(id_token=CARD))
        summary = again.summary()
        assert [e[1] for e in summary] == [0, 1, 2, 3]                        # no gap, no dup
        assert summary[-1][2] == "StopAuthorized"
        assert len({e["transactionInfo"]["transactionId"]
                    for e in again.records().events}) == 1
        assert again.saved()["unacked"] == []

    def test_station_start_ends_a_transaction_found_in_storage(self, asys, config, clock):
        rig = Rig(asys, config, clock)
        rig.operator(PlugIn(connector_id=1))
        rig.operator(PresentToken(id_token=CARD))
        assert len(rig.records().events) == 2                 # Started, SuspendedEV
        rig.kill()
        again = Rig(asys, config, clock, restarted=False, session=rig.session)
        assert again.summary()[-1] == ("Ended", 2, "AbnormalCondition", None, "PowerLoss")
        assert again.status().connectors == {1: "Occupied"}                 # still plugged


class TestFailedSave:
    """A save that raises (e.g. "database is locked" past the busy timeout on a loaded
    machine) after the core already counted the step's intents as carried out."""

    def test_status_change_of_a_failed_step_still_reaches_the_session(self, asys, config,
                                                                      clock, monkeypatch):
        """G01.FR.01: the plug-out's Available must not be lost with the failed save: the
        session (the Availability block) would otherwise still hold Occupied as reported and
        suppress the StatusNotification Occupied of the next plug-in."""
        rig = Rig(asys, config, clock)
        rig.operator(PlugIn(connector_id=1))
        real_save, failures = EvseRepository.save, []

        def save_failing_once(repo, *args, **kwargs):
            if not failures:
                failures.append(args)
                raise sqlite3.OperationalError("database is locked")
            return real_save(repo, *args, **kwargs)

        monkeypatch.setattr(EvseRepository, "save", save_failing_once)
        clock.advance(1)
        asys.ask(rig.evse, PlugOut(), 10)     # Thespian retries it once: refused, no cable
        assert failures, "the save did not fail: the test proves nothing"
        assert rig.status().connectors == {1: "Available"}
        assert [s[2] for s in rig.records().statuses] == ["Available", "Occupied", "Available"]
        assert rig.saved()["hw"]["cable"] is None       # the state is saved again as well
        rig.operator(PlugIn(connector_id=1))
        assert [s[2] for s in rig.records().statuses][-1] == "Occupied"


class TestFuncDriver:
    """The Evse actor opens the driver named by ``evses.driver`` (issue #9): the core runs on
    it, and the simulator's inputs are refused when the driver is not a simulator."""

    def test_a_real_driver_takes_no_simulated_inputs(self, asys, config, clock):
        real = config.model_copy(update={"evses": config.evses.model_copy(
            update={"driver": "tests.unit.test_evse_controls:real_driver_factory"})})
        rig = Rig(asys, real, clock)
        answer = rig.ask(PlugIn(connector_id=1), OperatorResult)
        assert not answer.ok and "no simulated inputs" in answer.error
        assert rig.status().connectors == {1: "Available"}
        assert [s[2] for s in rig.records().statuses] == ["Available"]
