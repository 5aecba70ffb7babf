"""Functional block H (blocks/reservation.py) on a real station core, the test playing the CSMS.

The Evse actors are not here: the test announces connector statuses (as an Evse would, after it
got a ReservationMade / ReservationCleared / EvseHeldForReservations) and reads what the block
told the Evses from ``session.messages_to_actors()``. Time: ``h.advance`` moves the session's
monotonic clock and the block's wall clock together.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from blocks.reservation import STATUS_WAIT_S, Reservations
from messages.ocpp201 import ConnectorEnumType, IdTokenType, to_wire
from messages.reservation import EvseHeldForReservations, ReservationCleared, ReservationMade
from ports.time import iso
from storage import lite
from storage.reservation_repo import ReservationRepository, ReservationRow

from tests.unit.station_harness import FIXED_TIME, Harness

T1 = {"idToken": "TOKEN-1", "type": "ISO14443"}
T2 = {"idToken": "TOKEN-2", "type": "ISO14443"}
T3 = {"idToken": "TOKEN-3", "type": "ISO14443"}
GROUP = {"idToken": "GROUP-A", "type": "Central"}
OTHER_GROUP = {"idToken": "GROUP-B", "type": "Central"}
START = 1000.0        # the harness's first monotonic time


def tok(token: dict) -> IdTokenType:
    """A wire token as the model the block keeps and sends to the Evses."""
    return IdTokenType.model_validate(token)


class Station:
    """A harness plus a Reservations block built on its session, like build_core would."""

    def __init__(self, tmp_path, *, evses: int = 2, connectors: int = 1,
                 types: dict[tuple[int, int], str] | None = None, boot: bool = True,
                 clock_offset_s: float = 0.0, announce: str | None = "Available") -> None:
        # The core's own block is left out: this one has a test clock and test ports.
        self.h = h = Harness(tmp_path, evses=evses, connectors=connectors,
                             with_reservations=False)
        self.clock_offset_s = clock_offset_s
        self.repo = ReservationRepository(lite.connect(h.config.core_db_path,
                                                       h.config.core_migrations_dir))
        self.types = types
        self.in_use: set[int] = set()
        self.block = Reservations(
            h.session, h.core.sender, h.dm, self.repo, h.config.connectors_per_evse,
            h.core.availability.status_of, self.connector_type,
            evse_in_use=lambda evse_id: evse_id in self.in_use,
            wall_clock=self.wall)
        # What build_routes does for the core's own block.
        h.session.route("ReserveNow", self.block.on_reserve_now)
        h.session.route("CancelReservation", self.block.on_cancel_reservation)
        if announce:
            h.announce_all(announce)
        if boot:
            h.boot()
            h.drain_calls()

    def wall(self):
        return FIXED_TIME + timedelta(seconds=self.h.now - START + self.clock_offset_s)

    def connector_type(self, evse_id: int, connector_id: int) -> str | None:
        if self.types is not None:
            return self.types.get((evse_id, connector_id))
        return self.h.dm.get("Connector", "ConnectorType", evse_id=evse_id,
                             connector_id=connector_id)

    # -- the Evse's side --------------------------------------------------------------------------

    def status(self, evse_id: int, connector_id: int, status: str) -> None:
        """An Evse announces a status; core wiring feeds it to both blocks."""
        self.h.announce(evse_id, connector_id, status)
        self.block.connector_status_changed(evse_id, connector_id, status)

    def evse_messages(self) -> list[tuple[int, object]]:
        out = []
        for target, message in self.h.session.messages_to_actors():
            if isinstance(message, (ReservationMade, ReservationCleared,
                                    EvseHeldForReservations)):
                assert target == ("evse", message.evse_id)
                out.append((message.evse_id, message))
        return out

    def held(self) -> dict[int, bool]:
        return {evse_id: m.held for evse_id, m in self.evse_messages()
                if isinstance(m, EvseHeldForReservations)}

    # -- the CSMS's side --------------------------------------------------------------------------

    def reserve(self, reservation_id: int = 1, *, evse_id: int | None = None,
                connector_type: str | None = None, id_token: dict = T1,
                group: dict | None = None, expires_in: float = 60.0) -> dict:
        payload = {"id": reservation_id, "idToken": id_token,
                   "expiryDateTime": iso(self.wall() + timedelta(seconds=expires_in))}
        if evse_id is not None:
            payload["evseId"] = evse_id
        if connector_type is not None:
            payload["connectorType"] = connector_type
        if group is not None:
            payload["groupIdToken"] = group
        self.h.drain_calls()            # status reports of earlier steps are not the answer
        frames = self.h.csms_call("ReserveNow", payload)
        assert frames[0][0] == 3, frames
        assert len(frames) == 1, f"nothing but the answer expected: {frames}"
        return frames[0][2]

    def cancel(self, reservation_id: int) -> list[list]:
        self.h.drain_calls()
        return self.h.csms_call("CancelReservation", {"reservationId": reservation_id})

    def calls(self) -> list[tuple[str, dict]]:
        return [(c[2], c[3]) for c in self.h.drain_calls()]


def updates(calls):
    return [(p["reservationId"], p["reservationUpdateStatus"]) for a, p in calls
            if a == "ReservationStatusUpdate"]


def statuses(calls):
    return [(p["evseId"], p["connectorId"], p["connectorStatus"]) for a, p in calls
            if a == "StatusNotification"]


@pytest.fixture
def s(tmp_path):
    return Station(tmp_path)


class TestRouting:
    def test_reserve_now_and_cancel_reservation_are_routed(self, s):
        assert {"ReserveNow", "CancelReservation"} <= set(s.h.session.routes)


class TestReserveSpecificEvse:
    """H01.S2: ReserveNow with an evseId (TC_H_01, 03, 04, 06, 22)."""

    def test_available_evse_is_accepted_and_the_evse_told(self, s):
        assert s.reserve(7, evse_id=1, group=GROUP) == {"status": "Accepted"}   # H01.FR.23
        [(evse_id, made)] = s.evse_messages()
        assert evse_id == 1 and isinstance(made, ReservationMade)
        assert (made.reservation_id, made.id_token, made.group_id_token) == (7, tok(T1),
                                                                              tok(GROUP))
        assert made.expiry == iso(s.wall() + timedelta(seconds=60))
        assert s.block.reservation_on(1) == {"id": 7, "id_token": "TOKEN-1",
                                             "expiry": made.expiry}
        assert s.block.is_reserved(1) and not s.block.is_reserved(2)

    def test_nothing_is_sent_to_the_csms_but_the_answer(self, s):
        s.reserve(1, evse_id=1)
        assert s.calls() == []

    def test_reserved_evse_answers_occupied(self, s):
        s.reserve(1, evse_id=1)
        assert s.reserve(2, evse_id=1, id_token=T2) == {"status": "Occupied"}  # H01.FR.11

    def test_occupied_evse_answers_occupied(self, s):
        s.status(1, 1, "Occupied")
        assert s.reserve(1, evse_id=1) == {"status": "Occupied"}               # TC_H_04

    def test_evse_with_a_transaction_answers_occupied(self, s):
        s.in_use.add(1)             # authorized, cable not in yet: the connector is Available
        assert s.reserve(1, evse_id=1) == {"status": "Occupied"}

    def test_faulted_evse_answers_faulted(self, s):
        s.status(1, 1, "Faulted")
        assert s.reserve(1, evse_id=1) == {"status": "Faulted"}                # H01.FR.12

    def test_unavailable_evse_answers_unavailable(self, s):
        s.status(1, 1, "Unavailable")
        assert s.reserve(1, evse_id=1) == {"status": "Unavailable"}            # H01.FR.14

    def test_evse_that_never_reported_answers_unavailable(self, tmp_path):
        s = Station(tmp_path, announce=None)
        assert s.reserve(1, evse_id=1) == {"status": "Unavailable"}

    def test_unknown_evse_is_rejected(self, s):
        answer = s.reserve(1, evse_id=3)
        assert answer["status"] == "Rejected"
        assert answer["statusInfo"]["reasonCode"] == "UnknownEvse"

    def test_disabled_reservations_are_rejected(self, s):
        s.h.dm.set_internal("ReservationCtrlr", "Enabled", "false")
        answer = s.reserve(1, evse_id=1)
        assert answer["status"] == "Rejected"                                  # H01.FR.01
        assert answer["statusInfo"]["reasonCode"] == "NotEnabled"              # TC_H_22
        assert s.repo.all() == [] and s.evse_messages() == []

    def test_not_available_is_rejected(self, s):
        s.h.dm.set_internal("ReservationCtrlr", "Available", "false")
        assert s.reserve(1, evse_id=1)["status"] == "Rejected"

    def test_expiry_in_the_past_is_rejected(self, s):
        answer = s.reserve(1, evse_id=1, expires_in=-1)
        assert answer["status"] == "Rejected"
        assert answer["statusInfo"]["reasonCode"] == "InvalidValue"

    def test_a_connector_type_the_evse_lacks_is_rejected(self, tmp_path):
        s = Station(tmp_path, types={(1, 1): "cType2", (2, 1): "cCCS2"})
        answer = s.reserve(1, evse_id=1, connector_type="cCCS2")
        assert answer["status"] == "Rejected"
        assert answer["statusInfo"]["reasonCode"] == "UnknownConnectorType"
        assert s.reserve(1, evse_id=2, connector_type="cCCS2") == {"status": "Accepted"}

    def test_connector_type_on_a_two_connector_evse_looks_at_that_connector(self, tmp_path):
        s = Station(tmp_path, evses=1, connectors=2,
                    types={(1, 1): "cType2", (1, 2): "cCCS2"})
        s.status(1, 2, "Faulted")
        assert s.reserve(1, evse_id=1, connector_type="cCCS2") == {"status": "Faulted"}
        assert s.reserve(1, evse_id=1, connector_type="cType2") == {"status": "Accepted"}


class TestReplace:
    """H01.FR.02: a ReserveNow with a known id replaces that reservation."""

    def test_same_id_same_evse_is_accepted_again(self, s):
        s.reserve(1, evse_id=1, expires_in=60)
        s.evse_messages()
        assert s.reserve(1, evse_id=1, id_token=T2, expires_in=600) == {"status": "Accepted"}
        [(_, made)] = s.evse_messages()
        assert made.id_token == tok(T2)
        [row] = s.repo.all()
        assert row.id_token == tok(T2) and row.expiry == iso(s.wall() + timedelta(seconds=600))

    def test_same_id_on_another_evse_moves_it(self, s):
        s.reserve(1, evse_id=1)
        s.evse_messages()
        assert s.reserve(1, evse_id=2) == {"status": "Accepted"}
        messages = s.evse_messages()
        assert [(e, type(m).__name__) for e, m in messages] == [
            (2, "ReservationMade"), (1, "ReservationCleared")]
        assert messages[1][1].reason == "Replaced"
        assert not s.block.is_reserved(1) and s.block.is_reserved(2)
        assert [r.evse_id for r in s.repo.all()] == [2]

    def test_refused_replacement_keeps_the_old_reservation(self, s):
        s.reserve(1, evse_id=1)
        s.status(2, 1, "Faulted")
        assert s.reserve(1, evse_id=2) == {"status": "Faulted"}
        assert s.block.reservation_on(1)["id"] == 1
        assert [r.evse_id for r in s.repo.all()] == [1]

    def test_a_replaced_reservation_keeps_only_its_new_expiry(self, s):
        s.reserve(1, evse_id=1, expires_in=10)
        s.reserve(1, evse_id=1, expires_in=100)
        s.h.advance(10)
        assert s.calls() == [] and s.block.is_reserved(1)
        s.h.advance(90)
        assert updates(s.calls()) == [(1, "Expired")]


class TestReserveUnspecifiedEvse:
    """H01.S1: ReserveNow without evseId (TC_H_08, 09, 10, 12, 13, 14)."""

    def test_accepted_while_an_evse_is_free(self, s):
        assert s.reserve(1) == {"status": "Accepted"}                          # H01.FR.04
        assert s.held() == {}           # two free EVSEs, one reservation: nothing to show

    def test_as_many_reservations_as_free_evses_hold_them_all(self, s):
        s.reserve(1)
        s.evse_messages()
        assert s.reserve(2, id_token=T2) == {"status": "Accepted"}
        assert s.held() == {1: True, 2: True}                                  # H01.FR.20
        assert s.block.is_reserved(1) and s.block.is_reserved(2)

    def test_a_single_evse_station_holds_its_evse(self, tmp_path):
        s = Station(tmp_path, evses=1)
        assert s.reserve(1) == {"status": "Accepted"}
        assert s.held() == {1: True}                                           # TC_H_08

    def test_all_evses_reserved_answers_occupied(self, s):
        s.reserve(1)
        s.reserve(2, id_token=T2)
        assert s.reserve(3, id_token=T3) == {"status": "Occupied"}             # TC_H_09

    def test_specific_reservations_count_too(self, s):
        s.reserve(1, evse_id=1)
        assert s.reserve(2, id_token=T2) == {"status": "Accepted"}
        assert s.held() == {2: True}
        assert s.reserve(3, id_token=T3) == {"status": "Occupied"}

    def test_all_evses_occupied_answers_occupied(self, s):
        s.status(1, 1, "Occupied")
        s.status(2, 1, "Occupied")
        assert s.reserve(1) == {"status": "Occupied"}                          # TC_H_10

    def test_all_evses_unavailable_answers_unavailable(self, s):
        s.status(1, 1, "Unavailable")
        s.status(2, 1, "Unavailable")
        assert s.reserve(1) == {"status": "Unavailable"}                       # TC_H_12

    def test_all_evses_faulted_answers_faulted(self, s):
        s.status(1, 1, "Faulted")
        s.status(2, 1, "Faulted")
        assert s.reserve(1) == {"status": "Faulted"}

    def test_one_free_evse_among_broken_ones_is_enough(self, s):
        s.status(1, 1, "Faulted")
        assert s.reserve(1) == {"status": "Accepted"}
        assert s.held() == {2: True}

    def test_rejected_when_non_evse_specific_is_false(self, s):
        s.h.dm.set_internal("ReservationCtrlr", "NonEvseSpecific", "false")
        answer = s.reserve(1)
        assert answer["status"] == "Rejected"                                  # H01.FR.19
        assert answer["statusInfo"]["reasonCode"] == "UnsupportedRequest"      # TC_H_13

    def test_a_specific_reservation_may_not_take_a_held_evse(self, s):
        s.reserve(1)
        s.reserve(2, id_token=T2)
        assert s.reserve(3, evse_id=1, id_token=T3) == {"status": "Occupied"}

    def test_a_specific_reservation_may_take_an_evse_that_can_be_spared(self, s):
        s.reserve(1)
        s.evse_messages()
        assert s.reserve(2, evse_id=1, id_token=T2) == {"status": "Accepted"}
        messages = s.evse_messages()
        assert [(e, type(m).__name__) for e, m in messages] == [
            (2, "EvseHeldForReservations"), (1, "ReservationMade")]


class TestConnectorType:
    """H01.S3: ReserveNow with a connectorType (TC_H_15, TC_H_16)."""

    TYPES = {(1, 1): "cType2", (2, 1): "cCCS2", (3, 1): "cCCS2"}

    @pytest.fixture
    def s(self, tmp_path):
        return Station(tmp_path, evses=3, types=self.TYPES)

    def test_only_evses_with_that_type_count(self, s):
        assert s.reserve(1, connector_type="cCCS2") == {"status": "Accepted"}  # H01.FR.06
        assert s.held() == {}
        assert s.reserve(2, connector_type="cCCS2", id_token=T2) == {"status": "Accepted"}
        assert s.held() == {2: True, 3: True}                                  # H01.FR.24
        assert s.reserve(3, connector_type="cCCS2", id_token=T3) == \
            {"status": "Occupied"}                                             # TC_H_16
        assert s.reserve(3, connector_type="cType2", id_token=T3) == {"status": "Accepted"}

    def test_unknown_type_is_rejected(self, s):
        answer = s.reserve(1, connector_type="cTesla")
        assert answer["status"] == "Rejected"
        assert answer["statusInfo"]["reasonCode"] == "UnknownConnectorType"

    def test_type_status_answers_for_the_evses_of_that_type(self, s):
        s.status(2, 1, "Faulted")
        s.status(3, 1, "Faulted")
        assert s.reserve(1, connector_type="cCCS2") == {"status": "Faulted"}
        assert s.reserve(1, connector_type="cType2") == {"status": "Accepted"}

    def test_untyped_reservation_does_not_take_the_evse_a_typed_one_needs(self, tmp_path):
        s = Station(tmp_path, types={(1, 1): "cType2", (2, 1): "cCCS2"})
        s.reserve(1, connector_type="cCCS2")
        s.reserve(2, id_token=T2)                      # any type: only EVSE 1 is left for it
        assert s.held() == {1: True, 2: True}
        # The untyped reservation's driver may not use the CCS EVSE: the CCS driver needs it.
        assert s.block.check_token(2, tok(T2)) == (False, None)                # H01.FR.09
        assert s.block.check_token(1, tok(T2)) == (True, 2)
        assert s.block.check_token(2, tok(T1)) == (True, 1)


class TestCancel:
    """H02 (TC_H_17, TC_H_18)."""

    def test_known_reservation_is_cancelled_without_status_update(self, s):
        s.reserve(1, evse_id=1)
        s.evse_messages()
        assert s.cancel(1) == [[3, "csms-2", {"status": "Accepted"}]]          # H02.FR.02
        [(evse_id, cleared)] = s.evse_messages()
        assert evse_id == 1 and isinstance(cleared, ReservationCleared)        # H02.FR.03
        assert (cleared.reservation_id, cleared.reason) == (1, "Cancelled")
        assert s.repo.all() == [] and not s.block.is_reserved(1)
        s.h.advance(120)
        assert updates(s.calls()) == []                                       # H02 remark

    def test_unknown_reservation_is_rejected(self, s):
        assert s.cancel(1)[0][2] == {"status": "Rejected"}                     # H02.FR.01

    def test_cancelling_an_unspecified_reservation_releases_held_evses(self, s):
        s.reserve(1)
        s.reserve(2, id_token=T2)
        s.evse_messages()
        assert s.cancel(2)[0][2] == {"status": "Accepted"}
        assert s.held() == {1: False, 2: False}                                # H02.FR.05/06

    def test_an_expired_reservation_can_no_longer_be_cancelled(self, s):
        s.reserve(1, evse_id=1, expires_in=10)
        s.h.advance(10)
        assert s.cancel(1)[0][2] == {"status": "Rejected"}


class TestExpiry:
    """H04 (TC_H_07)."""

    def test_status_update_expired_at_the_expiry_time(self, s):
        s.reserve(1, evse_id=1, expires_in=60)
        s.evse_messages()
        s.h.advance(59)
        assert s.calls() == [] and s.evse_messages() == []
        s.h.advance(1)
        [(evse_id, cleared)] = s.evse_messages()
        assert (evse_id, cleared.reason) == (1, "Expired")                     # H04.FR.02
        assert updates(s.calls()) == [(1, "Expired")]                          # H04.FR.01
        assert not s.block.is_reserved(1) and s.block.active == {}

    def test_the_update_follows_the_status_notification_available(self, s):
        s.reserve(1, evse_id=1, expires_in=60)
        s.status(1, 1, "Reserved")                    # what the Evse shows
        s.calls()
        s.h.advance(60)
        assert s.calls() == []                        # waits for the EVSE to show Available
        s.status(1, 1, "Available")                   # the Evse got ReservationCleared
        calls = s.calls()
        assert [a for a, _ in calls] == ["StatusNotification", "NotifyEvent",
                                         "ReservationStatusUpdate"]            # H04.FR.03
        assert statuses(calls) == [(1, 1, "Available")]
        assert updates(calls) == [(1, "Expired")]

    def test_the_update_goes_anyway_when_the_evse_stays_silent(self, s):
        s.reserve(1, evse_id=1, expires_in=60)
        s.status(1, 1, "Reserved")
        s.calls()
        s.h.advance(60)
        assert s.h.session.next_deadline() == s.h.now + STATUS_WAIT_S
        s.h.advance(STATUS_WAIT_S - 0.5)
        assert s.calls() == []
        s.h.advance(0.5)
        assert updates(s.calls()) == [(1, "Expired")]

    def test_next_deadline_is_the_earliest_expiry(self, s):
        s.reserve(1, evse_id=1, expires_in=300)
        s.reserve(2, evse_id=2, expires_in=90)
        assert s.h.session.next_deadline() <= s.h.now + 90

    def test_unspecified_reservation_expires_and_releases_holds(self, tmp_path):
        s = Station(tmp_path, evses=1)
        s.reserve(1, expires_in=30)
        assert s.held() == {1: True}
        s.h.advance(30)
        assert s.held() == {1: False}
        assert updates(s.calls()) == [(1, "Expired")]

    def test_update_is_durably_queued_before_the_row_goes(self, s):
        # ReservationStatusUpdate is GUARANTEED (station.send_policy): in the durable queue
        # once handed over, so the row need not wait for the CSMS's answer.
        s.reserve(1, evse_id=1, expires_in=10)
        s.h.advance(10)
        [frame] = s.h.sent()
        assert frame[2] == "ReservationStatusUpdate"
        assert [m.action for m in s.h.core.sender.queue.pending()] == ["ReservationStatusUpdate"]
        assert s.repo.all() == []
        s.h.answer(frame, {})
        assert s.h.core.sender.queue.pending() == []

    def test_update_lost_with_the_connection_is_sent_after_reconnect(self, s):
        s.reserve(1, evse_id=1, expires_in=10)
        s.h.advance(10)
        s.h.sent()                                    # on the wire, never answered
        s.h.disconnect()
        s.h.advance(5)
        s.h.connect()
        assert updates(s.calls()) == [(1, "Expired")]
        assert s.repo.all() == []

    def test_expiry_while_offline_is_reported_once_online(self, s):
        s.reserve(1, evse_id=1, expires_in=10)
        s.h.disconnect()
        s.h.advance(30)
        assert s.h.session.next_deadline() is None or \
            s.h.session.next_deadline() > s.h.now     # no spinning while it cannot go
        s.h.connect()
        assert updates(s.calls()) == [(1, "Expired")]

    def test_call_error_is_retried_as_message_attempts_says(self, s):
        # The queue's E13 rules (MessageAttempts 3, MessageAttemptInterval 60 s by default).
        s.reserve(1, evse_id=1, expires_in=10)
        s.h.advance(10)
        for wait in (60, 120):
            [frame] = s.h.sent()
            s.h.session.receive_text(f'[4, "{frame[1]}", "InternalError", "no", {{}}]', s.h.now)
            s.h.advance(wait - 1)
            assert s.calls() == []
            s.h.advance(1)
        [frame] = s.h.sent()
        assert frame[2] == "ReservationStatusUpdate"
        s.h.session.receive_text(f'[4, "{frame[1]}", "InternalError", "no", {{}}]', s.h.now)
        s.h.advance(600)
        assert updates(s.calls()) == [] and s.h.core.sender.queue.pending() == []  # E13.FR.04


class TestRemovedWhenFaultedOrUnavailable:
    """H01.FR.16/17 (TC_H_21_CS; TC_H_20_CSMS)."""

    def test_unavailable_evse_removes_its_reservation_after_the_status(self, s):
        s.reserve(1, evse_id=1)
        s.status(1, 1, "Reserved")
        s.calls()
        s.evse_messages()
        s.status(1, 1, "Unavailable")
        calls = s.calls()
        assert [a for a, _ in calls] == ["StatusNotification", "NotifyEvent",
                                         "ReservationStatusUpdate"]
        assert updates(calls) == [(1, "Removed")]                              # H01.FR.17
        [(evse_id, cleared)] = s.evse_messages()
        assert (evse_id, cleared.reason) == (1, "Removed")
        assert s.repo.all() == [] and s.block.active == {}
        s.status(1, 1, "Available")                  # Operative again: nothing reserved
        assert statuses(s.calls()) == [(1, 1, "Available")]

    def test_faulted_evse_removes_its_reservation(self, s):
        s.reserve(1, evse_id=1)
        s.status(1, 1, "Faulted")
        assert updates(s.calls()) == [(1, "Removed")]                          # H01.FR.16

    def test_occupied_evse_keeps_its_reservation(self, s):
        s.reserve(1, evse_id=1)
        s.status(1, 1, "Occupied")      # a cable plugged in on a reserved EVSE (G01.FR.09)
        assert updates(s.calls()) == [] and s.block.is_reserved(1)

    def test_other_evse_failing_keeps_the_reservation(self, s):
        s.reserve(1, evse_id=1)
        s.status(2, 1, "Faulted")
        assert updates(s.calls()) == [] and s.block.is_reserved(1)

    def test_unspecified_reservations_lose_the_newest_that_cannot_be_served(self, s):
        s.reserve(1)
        s.reserve(2, id_token=T2)
        s.evse_messages()
        s.status(2, 1, "Faulted")
        assert updates(s.calls()) == [(2, "Removed")]
        assert list(s.block.active) == [1]
        assert s.held() == {2: False}             # EVSE 1 stays held for reservation 1

    def test_unspecified_reservation_survives_while_an_evse_remains(self, s):
        s.reserve(1)
        s.status(2, 1, "Faulted")
        assert updates(s.calls()) == [] and list(s.block.active) == [1]


class TestTokens:
    """H03: who may use a reserved EVSE (TC_H_01, TC_H_02, TC_H_19; F01.FR.21/22)."""

    def test_reserving_token_may_use_the_evse(self, s):
        s.reserve(1, evse_id=1)
        assert s.block.check_token(1, tok(T1)) == (True, 1)                    # H03.FR.01
        assert s.block.check_token(1, tok({"idToken": "token-1", "type": "ISO14443"})) \
            == (True, 1)                                       # CiString: case-insensitive

    def test_other_token_may_not(self, s):
        s.reserve(1, evse_id=1)
        assert s.block.check_token(1, tok(T2)) == (False, None)                # TC_H_02
        assert s.block.check_token(1, tok(T2), tok(OTHER_GROUP)) == (False, None)  # F01.FR.22

    def test_group_member_may_use_the_evse(self, s):
        s.reserve(1, evse_id=1, group=GROUP)
        assert s.block.check_token(1, tok(T2), tok(GROUP)) == (True, 1)        # H03.FR.04
        assert s.block.check_token(1, tok(T2)) == (False, None)                # F01.FR.21

    def test_other_evse_is_free_for_anyone(self, s):
        s.reserve(1, evse_id=1)
        assert s.block.check_token(2, tok(T2)) == (True, None)
        assert s.block.check_token(2, tok(T1)) == (True, None)  # its reservation is elsewhere

    def test_check_token_changes_nothing(self, s):
        s.reserve(1, evse_id=1)
        s.evse_messages()
        s.block.check_token(1, tok(T1))
        assert s.evse_messages() == [] and s.block.is_reserved(1)

    def test_claim_consumes_the_reservation_without_status_update(self, s):
        s.reserve(1, evse_id=1)
        s.evse_messages()
        assert s.block.claim(1, tok(T1)) == (True, 1)                          # H03.FR.09
        [(evse_id, cleared)] = s.evse_messages()
        assert (evse_id, cleared.reason) == (1, "Used")                        # H03.FR.10
        assert s.repo.all() == [] and s.block.active == {}
        s.h.advance(120)
        assert updates(s.calls()) == []
        assert s.block.used(1) is False                     # the TransactionEvent comes later

    def test_claim_by_a_stranger_changes_nothing(self, s):
        s.reserve(1, evse_id=1)
        assert s.block.claim(1, tok(T2)) == (False, None)
        assert s.block.is_reserved(1)

    def test_used_by_a_transaction_event(self, s):
        s.reserve(1, evse_id=1)
        s.evse_messages()
        assert s.block.used(1) is True                                         # H01.FR.15
        assert [(e, m.reason) for e, m in s.evse_messages()] == [(1, "Used")]

    def test_unspecified_reservation_holder_may_use_any_evse(self, s):
        s.reserve(1)
        assert s.block.check_token(1, tok(T1)) == (True, 1)                    # H03.FR.03
        assert s.block.check_token(2, tok(T1)) == (True, 1)
        assert s.block.check_token(1, tok(T2)) == (True, None)  # one EVSE still left over

    def test_strangers_may_not_take_the_last_evses(self, s):
        s.reserve(1)
        s.reserve(2, id_token=T2, group=GROUP)
        assert s.block.check_token(1, tok(T3)) == (False, None)                # H01.FR.07
        assert s.block.check_token(1, tok(T3), tok(GROUP)) == (True, 2)        # H03.FR.06
        assert s.block.claim(2, tok(T1)) == (True, 1)
        assert s.held() == {1: False, 2: False}   # one reservation, two free EVSEs

    def test_occupied_evses_count_against_strangers(self, s):
        s.reserve(1)
        s.status(2, 1, "Occupied")
        assert s.block.check_token(1, tok(T2)) == (False, None)
        assert s.block.check_token(2, tok(T2)) == (True, None)  # the driver already plugged in

    def test_refresh_follows_transactions(self, s):
        s.reserve(1)
        s.evse_messages()
        s.in_use.add(2)
        s.block.refresh()
        assert s.held() == {1: True}


class TestPersistence:
    """B01.FR.13, B11.FR.05 (TC_B_24): the Reserved state survives a reboot."""

    def test_reservation_is_stored_before_the_answer(self, s):
        s.reserve(5, evse_id=2, group=GROUP, connector_type="sType2")
        [row] = s.repo.all()
        assert (row.reservation_id, row.evse_id, row.connector_type, row.id_token,
                row.group_id_token) == (5, 2, "sType2", tok(T1), tok(GROUP))

    def test_a_new_station_on_the_same_database_reserves_the_evse_again(self, s, tmp_path):
        s.reserve(5, evse_id=2, expires_in=600)
        s.reserve(6, id_token=T2, expires_in=600)
        again = Station(tmp_path, boot=False, announce=None, clock_offset_s=100)
        assert sorted(again.block.active) == [5, 6]
        messages = again.evse_messages()
        made = [m for _, m in messages if isinstance(m, ReservationMade)]
        assert [(m.evse_id, m.reservation_id) for m in made] == [(2, 5)]       # B11.FR.05
        assert again.block.check_token(2, tok(T3)) == (False, None)
        again.h.announce_all()
        again.h.boot()
        assert updates(again.calls()) == []
        # Announced statuses hold EVSE 1 for the unspecified reservation once reported.
        again.block.connector_status_changed(1, 1, "Available")
        assert again.held() == {1: True}

    def test_reservation_expired_while_down_is_reported_after_boot(self, s, tmp_path):
        s.reserve(5, evse_id=2, expires_in=60)
        again = Station(tmp_path, boot=False, clock_offset_s=3600)
        assert again.block.active == {}
        assert [(e, m.reason) for e, m in again.evse_messages()
                if isinstance(m, ReservationCleared)] == [(2, "Expired")]
        # Queued durably at start (GUARANTEED), so the row has done its job.
        assert [m.action for m in again.h.core.sender.queue.pending()
                if m.action != "SecurityEventNotification"] == ["ReservationStatusUpdate"]
        assert again.repo.all() == []
        again.h.boot()
        calls = again.calls()
        assert updates(calls) == [(5, "Expired")]                              # H04.FR.01

    def test_expired_update_unacknowledged_before_a_restart_is_sent_again(self, s, tmp_path):
        s.reserve(5, evse_id=1, expires_in=10)
        s.h.advance(10)
        assert s.h.sent()[0][2] == "ReservationStatusUpdate"       # never answered
        again = Station(tmp_path, boot=False, clock_offset_s=20)
        again.h.boot()
        assert updates(again.calls()) == [(5, "Expired")]

    def test_reservation_for_an_evse_that_is_gone_is_removed(self, tmp_path):
        repo = ReservationRepository(lite.connect(tmp_path / "core" / "cp.db",
                                                  Harness(tmp_path).config.core_migrations_dir))
        repo.save(ReservationRow(9, 5, None, tok(T1), None, iso(FIXED_TIME + timedelta(hours=1)),
                                 iso(FIXED_TIME)))
        s = Station(tmp_path, boot=False)
        assert s.block.active == {}
        s.h.boot()
        assert updates(s.calls()) == [(9, "Removed")]
        assert s.repo.all() == []


class TestRepository:
    def test_save_replaces_and_delete_reports(self, s):
        row = ReservationRow(1, None, ConnectorEnumType.c_ccs2, tok(T1), None,
                             "2030-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z")
        s.repo.save(row)
        assert s.repo.all() == [row]
        s.repo.save(ReservationRow(1, 2, None, tok(T2), tok(GROUP), row.expiry, row.created))
        assert s.repo.all() == [ReservationRow(1, 2, None, tok(T2), tok(GROUP), row.expiry,
                                               row.created)]
        assert s.repo.delete(1) is True and s.repo.delete(1) is False

    def test_the_stored_form_is_the_wire_json_as_before_the_models(self, s):
        # Databases written before the models must load, and new rows look the same.
        s.repo.save(ReservationRow(3, None, ConnectorEnumType.c_type2, tok(T1), tok(GROUP),
                                   "2030-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"))
        db = lite.connect(s.h.config.core_db_path, s.h.config.core_migrations_dir)
        assert db.execute("SELECT CONNECTOR_TYPE, typeof(CONNECTOR_TYPE), ID_TOKEN, "
                          "GROUP_ID_TOKEN FROM RESERVATIONS").fetchall() == [
            ("cType2", "text", '{"idToken":"TOKEN-1","type":"ISO14443"}',
             '{"idToken":"GROUP-A","type":"Central"}')]

    def test_a_row_written_before_the_models_loads(self, s, tmp_path):
        db = lite.connect(s.h.config.core_db_path, s.h.config.core_migrations_dir)
        with db:
            db.execute("INSERT INTO RESERVATIONS (ID, EVSE_ID, CONNECTOR_TYPE, ID_TOKEN, "
                       "GROUP_ID_TOKEN, EXPIRY, CREATED) VALUES (4, 1, NULL, ?, NULL, ?, ?)",
                       ('{"additionalInfo":[{"additionalIdToken":"X","type":"t"}],'
                        '"idToken":"TOKEN-1","type":"ISO14443"}',
                        "2030-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z"))
        [row] = s.repo.all()
        assert to_wire(row.id_token) == {"idToken": "TOKEN-1", "type": "ISO14443",
                                         "additionalInfo": [{"additionalIdToken": "X",
                                                             "type": "t"}]}
        again = Station(tmp_path, boot=False)             # and the block takes it up again
        assert again.block.check_token(1, tok(T1)) == (True, 4)
        assert again.block.check_token(1, tok(T2)) == (False, None)

    @pytest.mark.parametrize("token", ['[1]', '{"idToken": 5, "type": "ISO14443"}'])
    def test_a_damaged_token_is_a_value_error(self, s, token):
        db = lite.connect(s.h.config.core_db_path, s.h.config.core_migrations_dir)
        with db:
            db.execute("INSERT INTO RESERVATIONS (ID, EVSE_ID, CONNECTOR_TYPE, ID_TOKEN, "
                       "GROUP_ID_TOKEN, EXPIRY, CREATED) VALUES (4, 1, NULL, ?, NULL, ?, ?)",
                       (token, "2030-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z"))
        with pytest.raises(ValueError):
            s.repo.all()


class TestTypedInterfaces:
    """Issue #9: the block speaks the OCPP models."""

    def test_check_token_takes_the_group_model(self, s):
        s.reserve(1, evse_id=1, group=GROUP)
        assert s.block.check_token(1, tok(T2), tok(GROUP)) == (True, 1)
        assert s.block.check_token(1, tok(T2)) == (False, None)

    def test_rejection_carries_the_status_info_on_the_wire(self, s):
        assert s.reserve(1, evse_id=9) == {
            "status": "Rejected",
            "statusInfo": {"reasonCode": "UnknownEvse", "additionalInfo": "EVSE 9 does not exist"}}

    def test_cancel_answers(self, s):
        s.reserve(1, evse_id=1)
        assert s.cancel(1)[0][2] == {"status": "Accepted"}                    # H02.FR.02
        assert s.cancel(1)[0][2] == {"status": "Rejected"}                    # H02.FR.01

    def test_the_update_goes_out_as_the_request_model_would(self, s):
        s.reserve(5, evse_id=1, expires_in=10)
        s.status(1, 1, "Reserved")
        s.calls()
        s.h.advance(10)
        s.status(1, 1, "Available")
        assert [p for a, p in s.calls() if a == "ReservationStatusUpdate"] == [
            {"reservationId": 5, "reservationUpdateStatus": "Expired"}]        # H04.FR.01
