"""OCTT test cases of block H (Reservation) and of reset (B11/B12, TC_B_20-29), Charging
Station side, against the real station.

One station with **one** EVSE (identity ``OCTT-H``): part 6 states what a one-EVSE station
shows for a reservation without evseId ("If the Charging Station has only one EVSE, it sets the
availabilityState of the EVSE and corresponding connectors to Reserved", TC_H_08/H_24), so
every H case has a single expected outcome. The OCTT is the test CSMS, which answers Authorize
and TransactionEvent Accepted unless a case sets a handler; manual actions go through the
control API. Cases run in file order and each leaves the EVSE Available with nothing reserved.

The reset cases come last: a station reset restarts the whole actor tree (run.py stays), so
they also show that reservations, availability and queued events survive it.
"""
from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.integration.octt import VALID_TOKEN, VALID_TOKEN2, Octt

pytestmark = pytest.mark.integration

IDENTITY = "OCTT-H"
GROUP_TOKEN = {"idToken": "OCTT-GROUP", "type": "Central"}     # <Configured groupIdToken>
CONNECTOR_TYPE = "sType2"                                      # <Configured connectorType>

_reservation_ids = itertools.count(1001)


@pytest.fixture(scope="module")
def octt(csms, start_station):
    station = start_station(IDENTITY, evses=1)
    tool = Octt(csms, station, IDENTITY)
    tool.configure("AuthCtrlr", "LocalPreAuthorize", "false")      # part 6 §2.1
    return tool


@pytest.fixture
def idle(octt, csms):
    """Every case ends with the EVSE Available, no transaction and no reservation."""
    yield
    csms.set_handler("Authorize", None)
    for reservation in list(_made):
        try:
            octt.call("CancelReservation", {"reservationId": reservation})
        finally:
            _made.discard(reservation)
    octt.back_to_idle()


_made: set[int] = set()


def expiry(seconds: float = 3600) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def reserve_now(octt: Octt, *, evse_id: int | None = 1, token: dict = VALID_TOKEN,
                seconds: float = 3600, reservation_id: int | None = None, **extra) -> tuple:
    """ReserveNowRequest; returns (status, reservationId)."""
    reservation_id = reservation_id if reservation_id is not None else next(_reservation_ids)
    payload = {"id": reservation_id, "expiryDateTime": expiry(seconds), "idToken": token,
               **extra}
    if evse_id is not None:
        payload["evseId"] = evse_id
    status = octt.call("ReserveNow", payload)["status"]
    if status == "Accepted":
        _made.add(reservation_id)
    return status, reservation_id


def reserved(octt: Octt, **kwargs) -> int:
    """Reusable state Reserved: ReserveNow Accepted and the connector reported Reserved."""
    mark = octt.mark()
    status, reservation_id = reserve_now(octt, **kwargs)
    assert status == "Accepted"
    octt.wait_status(mark, "Reserved")
    return reservation_id


def charge_after_authorization(octt: Octt, token: dict) -> str:
    """Reusable states Authorized then EnergyTransferStarted; returns the transactionId."""
    octt.authorized(token)
    return octt.energy_transfer_started()


# --------------------------------------------------------------------------------------------
# H01/H03: reserve a specific EVSE
# --------------------------------------------------------------------------------------------


def test_tc_h_01_reserve_specific_evse_valid_token(octt, idle):
    """TC_H_01_CS: Reserve a specific EVSE - Accepted - Valid idToken (H01.FR.15, H03.FR.01,
    .09, .10): after the authorization the connector goes Reserved -> Available, and the
    transaction carries the reservationId."""
    reservation_id = reserved(octt)
    mark = octt.mark()
    octt.authorized(VALID_TOKEN)
    octt.wait_status(mark, "Available")                                           # step 2
    transaction_id = octt.energy_transfer_started()                              # step 3
    events = octt.seq_continuous(transaction_id)
    assert any(e.get("reservationId") == reservation_id for e in events)         # H01.FR.15
    _made.discard(reservation_id)                                                 # used


def test_tc_h_02_reserved_for_a_different_token(octt, csms, idle):
    """TC_H_02_CS: Reserve a specific EVSE - Accepted - Different idToken (H03.FR.01,
    F01.FR.22). Main A: another (valid) card does not charge; Main B: RequestStartTransaction
    with it is Rejected."""
    reserved(octt)
    mark = octt.mark()
    octt.plug_in()                                               # EVConnectedPreSession
    octt.present(VALID_TOKEN2)
    octt.wait("Authorize", mark, timeout=10)
    octt.ev("charging")
    octt.settled()                                                                # Main A
    assert not [p for p in octt.received("TransactionEvent", mark)
                if p.get("transactionInfo", {}).get("chargingState") == "Charging"]
    assert octt.view()["connectors"][0]["status"] == "Reserved"                   # G03.FR.09
    answer = octt.call("RequestStartTransaction", {                               # Main B
        "evseId": 1, "remoteStartId": 77, "idToken": VALID_TOKEN2})
    assert answer["status"] == "Rejected"


def test_tc_h_03_reserve_reserved_evse_is_occupied(octt, idle):
    """TC_H_03_CS: Reserve a specific EVSE - Occupied - EVSE Reserved (H01.FR.11)."""
    reserved(octt)
    assert reserve_now(octt, token=VALID_TOKEN2)[0] == "Occupied"


def test_tc_h_04_reserve_occupied_evse(octt, idle):
    """TC_H_04_CS: Reserve a specific EVSE - Occupied - EVSE Occupied (H01.FR.13):
    EnergyTransferStarted."""
    charge_after_authorization(octt, VALID_TOKEN)
    assert reserve_now(octt, token=VALID_TOKEN2)[0] == "Occupied"


def test_tc_h_06_reserve_unavailable_evse(octt, idle):
    """TC_H_06_CS: Reserve a specific EVSE - Unavailable (H01.FR.14)."""
    mark = octt.mark()
    assert octt.call("ChangeAvailability", {"operationalStatus": "Inoperative",
                                            "evse": {"id": 1}}) == {"status": "Accepted"}
    octt.wait_status(mark, "Unavailable")
    try:
        assert reserve_now(octt, token=VALID_TOKEN2)[0] == "Unavailable"
    finally:
        assert octt.call("ChangeAvailability", {"operationalStatus": "Operative",
                                                "evse": {"id": 1}}) == {"status": "Accepted"}


def test_tc_h_07_reservation_expires(octt, idle):
    """TC_H_07_CS: Reserve a specific EVSE - Reservation Ended / not used (H04.FR.01, .02, .03):
    at expiry the connector is Available again and ReservationStatusUpdate says Expired; then
    another driver may charge. The expiry is 3 s instead of the OCTT's 60 s."""
    reservation_id = reserved(octt, seconds=3)
    mark = octt.mark()
    octt.wait_status(mark, "Available", timeout=15)                               # step 1
    update = octt.wait("ReservationStatusUpdate", mark, timeout=10)               # step 3
    assert update == {"reservationId": reservation_id, "reservationUpdateStatus": "Expired"}
    _made.discard(reservation_id)
    charge_after_authorization(octt, VALID_TOKEN2)                                # steps 5-6


def test_tc_h_19_reserved_evse_used_by_group(octt, csms, idle):
    """TC_H_19_CS: Reserve a specific EVSE - Use a reserved EVSE with GroupId (H03.FR.07/08):
    a card of the reservation's group charges."""
    reservation_id = reserved(octt, groupIdToken=GROUP_TOKEN)                     # steps 1-3
    csms.set_handler("Authorize", lambda identity, payload: {"idTokenInfo": {
        "status": "Accepted", "groupIdToken": GROUP_TOKEN}})
    transaction_id = charge_after_authorization(octt, VALID_TOKEN2)               # steps 3-4
    assert any(e.get("reservationId") == reservation_id
               for e in octt.seq_continuous(transaction_id))
    _made.discard(reservation_id)


def test_tc_h_22_reservations_disabled(octt, idle):
    """TC_H_22_CS: Reserve a specific EVSE - Configured to Reject (H01.FR.01): with
    ReservationCtrlr.Enabled false, ReserveNow is Rejected. (ReservationCtrlr.Available is
    ReadOnly true here, so the case runs through its "If implemented" Enabled variable.)"""
    before = octt.configure("ReservationCtrlr", "Enabled", "false")
    try:
        assert reserve_now(octt)[0] == "Rejected"
    finally:
        octt.configure("ReservationCtrlr", "Enabled", before)


def test_tc_h_23_replace_reservation(octt, idle):
    """TC_H_23_CS: Reserve a specific EVSE - Replace reservation (H01.FR.02): the same id with
    another token replaces it; that token charges."""
    reservation_id = reserved(octt)
    mark = octt.mark()
    status, _ = reserve_now(octt, token=VALID_TOKEN2, reservation_id=reservation_id)
    assert status == "Accepted"                                                   # step 2
    deadline = time.monotonic() + 10             # the Evse hears of it a moment later
    while octt.view()["reservation"]["id_token"] != VALID_TOKEN2["idToken"]:
        assert time.monotonic() < deadline, octt.view()
        time.sleep(0.1)
    octt.authorized(VALID_TOKEN2)
    octt.wait_status(mark, "Available")
    charge_transaction = octt.energy_transfer_started()
    assert any(e.get("reservationId") == reservation_id
               for e in octt.seq_continuous(charge_transaction))
    _made.discard(reservation_id)


# --------------------------------------------------------------------------------------------
# H01 S2/S3: an unspecified EVSE, a connector type
# --------------------------------------------------------------------------------------------


def test_tc_h_08_reserve_unspecified_evse(octt, idle):
    """TC_H_08_CS: Reserve an unspecified EVSE - Accepted (H01.FR.06, .20): the only EVSE shows
    Reserved; the reserving card charges there."""
    mark = octt.mark()
    status, reservation_id = reserve_now(octt, evse_id=None)
    assert status == "Accepted"                                                   # step 2
    octt.wait_status(mark, "Reserved")                                            # step 3
    transaction_id = charge_after_authorization(octt, VALID_TOKEN)
    assert any(e.get("reservationId") == reservation_id
               for e in octt.seq_continuous(transaction_id))
    _made.discard(reservation_id)


def test_tc_h_09_unspecified_when_all_reserved_is_occupied(octt, idle):
    """TC_H_09_CS: Reserve an unspecified EVSE - Occupied - EVSE Reserved (H01.FR.08)."""
    reserved(octt)                                               # All EVSE are Reserved
    assert reserve_now(octt, evse_id=None, token=VALID_TOKEN2)[0] == "Occupied"


def test_tc_h_10_unspecified_when_all_charging_is_occupied(octt, idle):
    """TC_H_10_CS: Reserve an unspecified EVSE - Occupied - EVSE Occupied (H01.FR.08):
    EnergyTransferStarted for all EVSE."""
    charge_after_authorization(octt, VALID_TOKEN)
    assert reserve_now(octt, evse_id=None, token=VALID_TOKEN2)[0] == "Occupied"


def test_tc_h_12_unspecified_when_station_unavailable(octt, idle):
    """TC_H_12_CS: Reserve an unspecified EVSE - Unavailable (H01.FR.10): Charging Station is
    Unavailable."""
    mark = octt.mark()
    assert octt.call("ChangeAvailability", {"operationalStatus": "Inoperative"}) == \
        {"status": "Accepted"}
    octt.wait_status(mark, "Unavailable")
    try:
        assert reserve_now(octt, evse_id=None)[0] == "Unavailable"
    finally:
        mark = octt.mark()
        assert octt.call("ChangeAvailability", {"operationalStatus": "Operative"}) == \
            {"status": "Accepted"}
        octt.wait_status(mark, "Available")


def test_tc_h_14_as_many_reservations_as_evses(octt, idle):
    """TC_H_14_CS: Reserve an unspecified EVSE - Amount of EVSEs available equals the amount of
    reservations (H01.FR.20/24): one reservation per EVSE, each Accepted; every connector is
    Reserved."""
    mark = octt.mark()
    assert reserve_now(octt, evse_id=None, token=VALID_TOKEN2)[0] == "Accepted"
    octt.wait_status(mark, "Reserved")


def test_tc_h_15_reserve_connector_type(octt, idle):
    """TC_H_15_CS: Reserve a connector with a specific type - Success (H01.FR.12, .19)."""
    mark = octt.mark()
    status, reservation_id = reserve_now(octt, evse_id=None, connectorType=CONNECTOR_TYPE)
    assert status == "Accepted"
    octt.wait_status(mark, "Reserved")
    transaction_id = charge_after_authorization(octt, VALID_TOKEN)                # steps 5-6
    assert any(e.get("reservationId") == reservation_id
               for e in octt.seq_continuous(transaction_id))
    _made.discard(reservation_id)


def test_tc_h_16_connector_type_all_reserved_is_occupied(octt, idle):
    """TC_H_16_CS: Reserve a connector with a specific type - Amount of available connectors of
    a type equals the amount of reservations (H01.FR.19): all EVSEs reserved -> Occupied."""
    reserved(octt)
    assert reserve_now(octt, evse_id=None, token=VALID_TOKEN2,
                       connectorType=CONNECTOR_TYPE)[0] == "Occupied"


def test_tc_h_24_unspecified_evse_group_token(octt, csms, idle):
    """TC_H_24_CS: Reserve an unspecified EVSE - GroupIdToken (H03.FR.07/08): a card of the
    group charges on the Reserved EVSE."""
    mark = octt.mark()
    status, reservation_id = reserve_now(octt, evse_id=None, groupIdToken=GROUP_TOKEN)
    assert status == "Accepted"
    octt.wait_status(mark, "Reserved")
    csms.set_handler("Authorize", lambda identity, payload: {"idTokenInfo": {
        "status": "Accepted", "groupIdToken": GROUP_TOKEN}})
    transaction_id = charge_after_authorization(octt, VALID_TOKEN2)
    assert any(e.get("reservationId") == reservation_id
               for e in octt.seq_continuous(transaction_id))
    _made.discard(reservation_id)


# --------------------------------------------------------------------------------------------
# H02, H04: cancel, and the station ending reservations
# --------------------------------------------------------------------------------------------


def test_tc_h_17_cancel_reservation(octt, idle):
    """TC_H_17_CS: Cancel reservation of an EVSE - Success (H02.FR.02, .03)."""
    reservation_id = reserved(octt)
    mark = octt.mark()
    assert octt.call("CancelReservation", {"reservationId": reservation_id}) == \
        {"status": "Accepted"}
    _made.discard(reservation_id)
    octt.wait_status(mark, "Available")


def test_tc_h_18_cancel_unknown_reservation(octt, idle):
    """TC_H_18_CS: Cancel reservation of an EVSE - Rejected (H02.FR.01)."""
    assert octt.call("CancelReservation", {"reservationId": 1}) == {"status": "Rejected"}


def test_tc_h_21_unavailable_cancels_reservation(octt, idle):
    """TC_H_21_CS: Charging Station cancels reservation when Unavailable (H04.FR.04?/H01.FR.17
    as in the case): Inoperative -> Unavailable and ReservationStatusUpdate Removed; Operative
    -> Available; another driver charges."""
    reservation_id = reserved(octt)
    mark = octt.mark()
    assert octt.call("ChangeAvailability", {"operationalStatus": "Inoperative",
                                            "evse": {"id": 1}}) == {"status": "Accepted"}
    octt.wait_status(mark, "Unavailable")                                         # step 3
    update = octt.wait("ReservationStatusUpdate", mark, timeout=10)               # step 5
    assert update == {"reservationId": reservation_id, "reservationUpdateStatus": "Removed"}
    _made.discard(reservation_id)
    mark = octt.mark()
    assert octt.call("ChangeAvailability", {"operationalStatus": "Operative",
                                            "evse": {"id": 1}}) == {"status": "Accepted"}
    octt.wait_status(mark, "Available")                                           # step 9
    charge_after_authorization(octt, VALID_TOKEN2)                                # 11-12


# --------------------------------------------------------------------------------------------
# B11/B12: reset (last: each station reset restarts every actor process)
# --------------------------------------------------------------------------------------------


def reset_station(octt: Octt, kind: str, expected: str) -> int:
    """ResetRequest for the station; returns the mark from before it."""
    mark = octt.mark()
    assert octt.call("Reset", {"type": kind}) == {"status": expected}
    return mark


def rebooted(octt: Octt, mark: int, reason: str) -> None:
    """The station booted again with ``reason`` (B11.FR.04) and its API is back."""
    boot = octt.wait("BootNotification", mark, timeout=60)
    assert boot["reason"] == reason
    octt.api_restarted()


@pytest.mark.parametrize("transaction", [False, True], ids=["TC_B_28_CS", "TC_B_29_CS"])
def test_tc_b_28_b_29_evse_reset_not_supported(octt, idle, transaction):
    """TC_B_28_CS / TC_B_29_CS: Reset EVSE - (with ongoing transaction) - Not Supported
    (B11.FR.09, B12.FR.09): EVSE.AllowReset is false, so Rejected. TC_B_25/26/27 (individual
    EVSE reset supported) are therefore not applicable."""
    if transaction:
        charge_after_authorization(octt, VALID_TOKEN)
    assert octt.call("Reset", {"type": "OnIdle", "evseId": 1})["status"] == "Rejected"
    assert octt.call("Reset", {"type": "Immediate", "evseId": 1})["status"] == "Rejected"


def test_tc_b_20_reset_without_transaction_on_idle(octt, idle):
    """TC_B_20_CS: Reset Charging Station - Without ongoing transaction - OnIdle (B11.FR.01,
    .03, .04): Accepted, reboot, BootNotification, every connector reported Available."""
    mark = reset_station(octt, "OnIdle", "Accepted")                              # step 2
    rebooted(octt, mark, "RemoteReset")                                           # step 3
    octt.wait_status(mark, "Available", timeout=30)                               # step 5


def test_tc_b_21_reset_with_transaction_on_idle(octt, idle):
    """TC_B_21_CS: Reset Charging Station - With Ongoing Transaction - OnIdle (B12.FR.01, .03):
    Scheduled; the driver stops (StopAuthorized: the transaction ends, the EV stays plugged);
    then the reboot, boot reason ScheduledReset, the connector Occupied, and a
    SecurityEventNotification StartupOfTheDevice or ResetOrReboot."""
    transaction_id = charge_after_authorization(octt, VALID_TOKEN)
    mark = reset_station(octt, "OnIdle", "Scheduled")                             # step 2
    assert octt.view()["transaction"]["id"] == transaction_id       # not ended by the reset
    octt.present(VALID_TOKEN)                                                     # step 3
    ended = octt.wait_tx(mark, eventType="Ended")
    assert ended["triggerReason"] == "StopAuthorized"
    rebooted(octt, mark, "ScheduledReset")                                        # step 7
    octt.wait_status(mark, "Occupied", timeout=30)                                # step 9
    event = octt.wait("SecurityEventNotification", mark, timeout=30)              # step 11
    assert event["type"] in ("StartupOfTheDevice", "ResetOrReboot")
    octt.seq_continuous(transaction_id)


def test_tc_b_22_reset_with_transaction_immediate(octt, idle):
    """TC_B_22_CS: Reset Charging Station - With Ongoing Transaction - Immediate (B12.FR.02,
    .04): Accepted; Ended ResetCommand / EVConnected / ImmediateReset without idToken; boot
    RemoteReset; the connector (the EV is still plugged) Occupied."""
    transaction_id = charge_after_authorization(octt, VALID_TOKEN)
    mark = reset_station(octt, "Immediate", "Accepted")                           # step 2
    ended = octt.wait_tx(mark, eventType="Ended")                                 # step 3
    assert ended["triggerReason"] == "ResetCommand"
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"
    assert ended["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    assert "idToken" not in ended
    rebooted(octt, mark, "RemoteReset")                                           # step 5
    octt.wait_status(mark, "Occupied", timeout=30)                                # step 7
    events = octt.seq_continuous(transaction_id)
    assert [e["eventType"] for e in events].count("Ended") == 1


def test_tc_b_23_unavailable_persists_reset(octt, idle):
    """TC_B_23_CS: Reset Charging Station - Unavailable persists reset (B11.FR.02, B12.FR.06)."""
    mark = octt.mark()
    assert octt.call("ChangeAvailability", {"operationalStatus": "Inoperative",
                                            "evse": {"id": 1}}) == {"status": "Accepted"}
    octt.wait_status(mark, "Unavailable")
    try:
        mark = reset_station(octt, "OnIdle", "Accepted")
        rebooted(octt, mark, "RemoteReset")
        octt.wait_status(mark, "Unavailable", timeout=30)
    finally:
        assert octt.call("ChangeAvailability", {"operationalStatus": "Operative",
                                                "evse": {"id": 1}}) == {"status": "Accepted"}


def test_tc_b_24_reserved_persists_reset(octt, idle):
    """TC_B_24_CS: Reset Charging Station - Reserved persists reset (B11.FR.05). Type Immediate
    as the 2025-02 errata changed it (a pending reservation is not idle: OnIdle is Scheduled)."""
    reserved(octt)
    mark = reset_station(octt, "Immediate", "Accepted")
    rebooted(octt, mark, "RemoteReset")
    octt.wait_status(mark, "Reserved", timeout=30)


@pytest.mark.parametrize("target", ["evse", "connector", "station"],
                         ids=["TC_G_18_CS", "TC_G_19_CS", "TC_G_21_CS"])
def test_tc_g_18_g_19_g_21_inoperative_persists_reboot(octt, idle, target):
    """TC_G_18_CS (EVSE), TC_G_19_CS (connector), TC_G_21_CS (Charging Station): Change
    Availability - state persists across reboot (G03.FR.08, G04.FR.09): Inoperative, the
    station reboots (here by a Reset), and reports the connector Unavailable again."""
    address = {"evse": {"evse": {"id": 1}}, "connector": {"evse": {"id": 1, "connectorId": 1}},
               "station": {}}[target]
    mark = octt.mark()
    assert octt.call("ChangeAvailability", {"operationalStatus": "Inoperative", **address}) \
        == {"status": "Accepted"}                                                  # step 2
    octt.wait_status(mark, "Unavailable")                                          # step 3
    try:
        mark = reset_station(octt, "OnIdle", "Accepted")                           # Booted
        rebooted(octt, mark, "RemoteReset")
        octt.wait_status(mark, "Unavailable", timeout=30)
        event = octt.wait("SecurityEventNotification", mark, timeout=30)
        assert event["type"] in ("StartupOfTheDevice", "ResetOrReboot")
    finally:
        assert octt.call("ChangeAvailability", {"operationalStatus": "Operative", **address}) \
            == {"status": "Accepted"}
