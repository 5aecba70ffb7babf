"""OCTT test cases of block K (Smart charging), Charging Station side, against the real station.

Every test is one OCTT case of part 6 (or a group of cases that differ only in a parameter),
named after it, and asserts that case's tool validations. The station is the real one
(``run.py``, multiprocTCPBase, real websocket) with its own identity (``OCTT-K``) and two EVSEs;
the OCTT is played by the test CSMS ``simulators.csms.CsmsServer`` on 127.0.0.1. Manual actions
(connect the EV, present a card, an external system sets a limit) go through the station's
control API.

OCTT configuration used: <Configured evseId> 1, <Configured chargingRateUnit> A,
<Configured numberPhases> 3, <Configured max time deviation> 0 s (the station and the test CSMS
share the host clock); ``x``, the delay between the request and the schedule start, is allowed
up to ``MAX_X`` seconds.

All cases share one station and run in file order; each leaves the station without profiles,
external limits or transactions (fixture ``clean``). TC_K_13 (persistence over a reboot)
restarts the station and runs last.
"""
from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta, timezone

import pytest

from simulators.csms import CsmsServer
from tests.integration.station_process import StationProcess
from tests.integration.test_station import api_port, http

pytestmark = pytest.mark.integration

IDENTITY = "OCTT-K"
EVSE_ID = 1                     # <Configured evseId>
EVSE_COUNT = 2
ID_TOKEN = {"idToken": "OCTTK001", "type": "ISO14443"}
HARDWARE_MAX_A = 32.0           # the simulated EVSE's maximum (station/evse_core.py)
MAX_X = 5                       # seconds between a request and the schedule start

_profile_ids = itertools.count(100)
_request_ids = itertools.count(1)
_remote_start_ids = itertools.count(900)


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def station(csms, tmp_path_factory, free_port):
    process = StationProcess(tmp_path_factory.mktemp("octt-k"), csms.url_base, free_port(),
                             identity=IDENTITY, evses=EVSE_COUNT)
    process.start()
    try:
        csms.wait_connected(IDENTITY, timeout=60)
        for evse_id in range(1, EVSE_COUNT + 1):
            csms.wait_for("StatusNotification", identity=IDENTITY, timeout=60,
                          predicate=lambda p, e=evse_id: p["evseId"] == e)
        configure(csms, "AuthCtrlr", "LocalPreAuthorize", "false")        # part 6 §2.1
        configure(csms, "AuthCtrlr", "AuthorizeRemoteStart", "false")
        yield process
    finally:
        process.kill()


@pytest.fixture(scope="module")
def api(station) -> str:
    return f"http://127.0.0.1:{api_port(station)}/api"


@pytest.fixture
def clean(csms, station, api):
    """Every case starts and ends without profiles, external limits or transactions."""
    yield
    for evse_id in range(1, EVSE_COUNT + 1):
        http("POST", f"{api}/evses/{evse_id}/ev", {"state": "suspended"})
        http("POST", f"{api}/evses/{evse_id}/plug-out")
        http("POST", f"{api}/evses/{evse_id}/external-limit", {"limit": None})
    http("POST", f"{api}/station/external-limit", {"limit": None})
    deadline = time.monotonic() + 15
    while any(http("GET", f"{api}/evses/{e}")[1].get("transaction") is not None
              for e in range(1, EVSE_COUNT + 1)):
        assert time.monotonic() < deadline, "a transaction did not end"
        time.sleep(0.1)
    call(csms, "ClearChargingProfile", {"chargingProfileCriteria": {}})
    assert call(csms, "GetChargingProfiles", {"requestId": next(_request_ids),
                                              "chargingProfile": {}}) == {"status": "NoProfiles"}


def configure(csms: CsmsServer, component: str, variable: str, value: str) -> None:
    result = csms.call(IDENTITY, "SetVariables", {"setVariableData": [{
        "component": {"name": component}, "variable": {"name": variable},
        "attributeValue": value}]})["setVariableResult"][0]
    assert result["attributeStatus"] == "Accepted", result


def call(csms: CsmsServer, action: str, payload: dict) -> dict:
    return csms.call(IDENTITY, action, payload)


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(timezone.utc)


def profile(purpose: str = "TxDefaultProfile", *, kind: str = "Absolute", stack_level: int = 0,
            limits: tuple[tuple[int, float], ...] = ((0, 6.0),), duration: int | None = None,
            start: datetime | None = None, pid: int | None = None, **extra) -> dict:
    """A ChargingProfileType in A with <Configured numberPhases> 3."""
    schedule: dict = {"id": 1, "chargingRateUnit": "A",
                      "chargingSchedulePeriod": [{"startPeriod": s, "limit": lim,
                                                  "numberPhases": 3} for s, lim in limits]}
    if kind != "Relative":
        schedule["startSchedule"] = iso(start or now())
    if duration is not None:
        schedule["duration"] = duration
    out = {"id": pid if pid is not None else next(_profile_ids), "stackLevel": stack_level,
           "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
           "chargingSchedule": [schedule]}
    out.update(extra)
    return out


def set_profile(csms: CsmsServer, evse_id: int, prof: dict) -> dict:
    return call(csms, "SetChargingProfile", {"evseId": evse_id, "chargingProfile": prof})


def get_profiles(csms: CsmsServer, criteria: dict, evse_id: int | None = None
                 ) -> tuple[dict, list[dict]]:
    """GetChargingProfiles; returns the response and every ReportChargingProfiles (tbc
    followed to the end, K09.FR.02)."""
    request_id = next(_request_ids)
    payload: dict = {"requestId": request_id, "chargingProfile": criteria}
    if evse_id is not None:
        payload["evseId"] = evse_id
    mark = csms.mark()
    response = call(csms, "GetChargingProfiles", payload)
    reports: list[dict] = []
    deadline = time.monotonic() + 10
    while response["status"] == "Accepted" and (not reports or reports[-1]["tbc"]):
        assert time.monotonic() < deadline, f"reports incomplete: {reports}"
        time.sleep(0.05)
        reports = [r.payload for r in csms.received("ReportChargingProfiles", IDENTITY)
                   if r.seq > mark and r.payload["requestId"] == request_id]
    return response, reports


def reported(reports: list[dict]) -> list[dict]:
    return [p for r in reports for p in r["chargingProfile"]]


def composite(csms: CsmsServer, evse_id: int, duration: int, unit: str = "A") -> dict:
    return call(csms, "GetCompositeSchedule", {"evseId": evse_id, "duration": duration,
                                               "chargingRateUnit": unit})


def periods(response: dict) -> list[tuple[int, float]]:
    return [(p["startPeriod"], p["limit"]) for p in response["schedule"]["chargingSchedulePeriod"]]


def assert_starts_near(actual: int, nominal: int) -> None:
    """startPeriod (nominal - x), 0 <= x <= MAX_X."""
    assert nominal - MAX_X <= actual <= nominal, (actual, nominal)


def wait_applied(api: str, current_a: float | None, evse_id: int = EVSE_ID) -> dict:
    """The EVSE's view once its hardware applies ``current_a`` (None: no current limit); the
    limit travels session -> EnergySink -> Evse, asynchronously."""
    deadline = time.monotonic() + 10
    while True:
        view = http("GET", f"{api}/evses/{evse_id}")[1]
        if (view["applied_limit"] or {}).get("current_a") == current_a:
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.05)


def energy_transfer_started(csms: CsmsServer, api: str, evse_id: int = EVSE_ID) -> str:
    """Reusable state EnergyTransferStarted (local authorization); returns the transactionId."""
    mark = csms.mark()
    assert http("POST", f"{api}/evses/{evse_id}/plug-in", {"connector_id": 1})[0] == 200
    assert http("POST", f"{api}/evses/{evse_id}/token",
                {"id_token": ID_TOKEN["idToken"], "type": ID_TOKEN["type"]})[0] == 200
    assert http("POST", f"{api}/evses/{evse_id}/ev", {"state": "charging"})[0] == 200
    event = csms.wait_for("TransactionEvent", identity=IDENTITY, after=mark, timeout=15,
                          predicate=lambda p: p.get("transactionInfo", {}).get("chargingState")
                          == "Charging")
    return event["transactionInfo"]["transactionId"]


# --------------------------------------------------------------------------------------------
# K01 SetChargingProfile
# --------------------------------------------------------------------------------------------


def test_tc_k_01_tx_default_profile_specific_evse(csms, station, clean):
    """TC_K_01_CS (K01.FR.07, K01.FR.15)."""
    prof = profile(duration=300)
    assert set_profile(csms, EVSE_ID, prof) == {"status": "Accepted"}              # step 2
    response, reports = get_profiles(csms, {"chargingProfileId": [prof["id"]]})
    assert response == {"status": "Accepted"}                                      # step 4
    assert [r["evseId"] for r in reports] == [EVSE_ID]                             # step 5
    assert reported(reports) == [prof]


@pytest.mark.parametrize("evse_id", [EVSE_ID, 0], ids=["TC_K_02_CS/TC_K_16_CS", "TC_K_11_CS"])
def test_tc_k_02_16_11_tx_profile_rejected(csms, station, clean, evse_id):
    """TC_K_02_CS / TC_K_16_CS: TxProfile with transactionId UNKNOWN-TRANSACTION-ID
    (K01.FR.09/33); TC_K_11_CS: a TxProfile on EVSE 0 (K01.FR.16)."""
    prof = profile("TxProfile", kind="Relative", transactionId="UNKNOWN-TRANSACTION-ID")
    assert set_profile(csms, evse_id, prof)["status"] == "Rejected"


def test_tc_k_03_charging_station_max_profile(csms, station, clean):
    """TC_K_03_CS."""
    prof = profile("ChargingStationMaxProfile", duration=300)
    assert set_profile(csms, 0, prof) == {"status": "Accepted"}
    response, reports = get_profiles(csms, {"chargingProfileId": [prof["id"]]})
    assert response == {"status": "Accepted"}
    assert [r["evseId"] for r in reports] == [0]
    assert reported(reports) == [prof]


def test_tc_k_04_replace_with_charging_profile_id(csms, station, clean):
    """TC_K_04_CS (K01.FR.05)."""
    first = profile(limits=((0, 6.0),))
    assert set_profile(csms, EVSE_ID, first) == {"status": "Accepted"}
    second = dict(profile(limits=((0, 10.0),)), id=first["id"])
    assert set_profile(csms, EVSE_ID, second) == {"status": "Accepted"}            # step 2
    response, reports = get_profiles(csms, {"chargingProfileId": [first["id"]]})
    assert response == {"status": "Accepted"}
    assert reports[0]["evseId"] == EVSE_ID
    assert reported(reports) == [second]


def test_tc_k_10_tx_default_profile_all_evses(csms, station, clean):
    """TC_K_10_CS (K01.FR.14): on EVSE 0, reported on EVSE 0, and in force on every EVSE."""
    prof = profile(duration=300)
    assert set_profile(csms, 0, prof) == {"status": "Accepted"}
    response, reports = get_profiles(csms, {"chargingProfileId": [prof["id"]]})
    assert response == {"status": "Accepted"}
    assert [(r["evseId"], r["tbc"]) for r in reports] == [(0, False)]
    assert reported(reports) == [prof]
    for evse_id in range(1, EVSE_COUNT + 1):
        assert periods(composite(csms, evse_id, 60))[0][1] == 6.0


def test_tc_k_14_unknown_evse(csms, station, clean):
    """TC_K_14_CS (K01.FR.28): evseId <EVSECount + 1>."""
    assert set_profile(csms, EVSE_COUNT + 1, profile())["status"] == "Rejected"


def test_tc_k_19_recurring(csms, station, clean):
    """TC_K_19_CS: chargingProfileKind Recurring, <Configured RecurrencyKind> Daily."""
    prof = profile(kind="Recurring", recurrencyKind="Daily", duration=3600)
    assert set_profile(csms, EVSE_ID, prof) == {"status": "Accepted"}


def test_tc_k_21_valid_from(csms, station, clean):
    """TC_K_21_CS (K01.FR.36): a Relative TxDefaultProfile valid from now + 300 s."""
    prof = profile(kind="Relative", validFrom=iso(now() + timedelta(seconds=300)))
    assert set_profile(csms, EVSE_ID, prof) == {"status": "Accepted"}
    response = composite(csms, EVSE_ID, 400)
    assert response["status"] == "Accepted"
    schedule = response["schedule"]
    assert (schedule["evseId"], schedule["chargingRateUnit"], schedule["duration"]) == (
        EVSE_ID, "A", 400)
    (start0, _), (start1, limit1) = periods(response)[:2]
    assert start0 == 0 and limit1 == 6.0
    assert_starts_near(start1, 300)


def test_tc_k_22_valid_to(csms, station, clean):
    """TC_K_22_CS (K01.FR.37): a TxDefaultProfile on EVSE 0 valid until now + 300 s; steps 3
    and 4 for every EVSE id."""
    prof = profile(validFrom=iso(now()), validTo=iso(now() + timedelta(seconds=300)))
    assert set_profile(csms, 0, prof) == {"status": "Accepted"}
    for evse_id in range(1, EVSE_COUNT + 1):
        response = composite(csms, evse_id, 400)
        assert response["status"] == "Accepted"
        (start0, limit0), (start1, limit1) = periods(response)[:2]
        assert (start0, limit0) == (0, 6.0)
        assert_starts_near(start1, 300)
        assert limit1 != 6.0                          # the profile is no longer valid
    assert composite(csms, 0, 400)["status"] == "Accepted"


def test_tc_k_23_start_schedule(csms, station, clean):
    """TC_K_23_CS (K01.FR.30): startSchedule now + 60 s: no limit before, 6 A after."""
    start = now() + timedelta(seconds=60)
    prof = profile(start=start, validFrom=iso(now() + timedelta(seconds=50)),
                   validTo=iso(now() + timedelta(seconds=400)))
    assert set_profile(csms, EVSE_ID, prof) == {"status": "Accepted"}
    response = composite(csms, EVSE_ID, 300)
    (start0, limit0), (start1, limit1) = periods(response)[:2]
    assert (start0, limit0) == (0, HARDWARE_MAX_A)
    assert_starts_near(start1, 60)
    assert limit1 == 6.0


def test_tc_k_28_tx_default_profile_with_transaction_ongoing(csms, station, api, clean):
    """TC_K_28_CS (K01.FR.32): the running transaction switches to the new TxDefaultProfile;
    the EVSE's hardware follows."""
    energy_transfer_started(csms, api)
    prof = profile(duration=300, validFrom=iso(now()),
                   validTo=iso(now() + timedelta(seconds=300)))
    assert set_profile(csms, EVSE_ID, prof) == {"status": "Accepted"}
    response = composite(csms, EVSE_ID, 300)
    assert periods(response)[0] == (0, 6.0)
    view = wait_applied(api, 6.0)
    assert view["power_w"] == pytest.approx(6.0 * 230 * 3)


def test_tc_k_60_tx_profile_with_ongoing_transaction(csms, station, api, clean):
    """TC_K_60_CS (K01.FR.04): TxProfile for the running transaction, reported; the hardware
    follows (K02 step 6) and the transaction reports ChargingRateChanged."""
    transaction_id = energy_transfer_started(csms, api)
    mark = csms.mark()
    prof = profile("TxProfile", kind="Relative", limits=((0, 10.0),),
                   transactionId=transaction_id)
    assert set_profile(csms, EVSE_ID, prof) == {"status": "Accepted"}
    response, reports = get_profiles(csms, {"chargingProfileId": [prof["id"]]})
    assert response == {"status": "Accepted"}
    assert reported(reports) == [prof]
    event = csms.wait_for("TransactionEvent", identity=IDENTITY, after=mark, timeout=10,
                          predicate=lambda p: p["triggerReason"] == "ChargingRateChanged")
    assert event["transactionInfo"]["transactionId"] == transaction_id
    view = wait_applied(api, 10.0)
    assert view["power_w"] == pytest.approx(10.0 * 230 * 3)


def test_tx_profile_is_deleted_when_the_transaction_ends(csms, station, api, clean):
    """K02.FR.05 (no OCTT case of its own)."""
    transaction_id = energy_transfer_started(csms, api)
    prof = profile("TxProfile", kind="Relative", transactionId=transaction_id)
    assert set_profile(csms, EVSE_ID, prof) == {"status": "Accepted"}
    mark = csms.mark()
    http("POST", f"{api}/evses/{EVSE_ID}/ev", {"state": "suspended"})
    http("POST", f"{api}/evses/{EVSE_ID}/plug-out")
    csms.wait_for("TransactionEvent", identity=IDENTITY, after=mark, timeout=15,
                  predicate=lambda p: p["eventType"] == "Ended")
    assert get_profiles(csms, {"chargingProfileId": [prof["id"]]})[0] == {"status": "NoProfiles"}


def test_tc_k_37_remote_start_with_charging_profile(csms, station, api, clean):
    """TC_K_37_CS (F01.FR.08-11, K05.FR.03): from EVConnectedPreSession."""
    mark = csms.mark()
    assert http("POST", f"{api}/evses/{EVSE_ID}/plug-in", {"connector_id": 1})[0] == 200
    remote_start_id = next(_remote_start_ids)
    prof = profile("TxProfile", kind="Relative")
    response = call(csms, "RequestStartTransaction", {
        "idToken": ID_TOKEN, "evseId": EVSE_ID, "remoteStartId": remote_start_id,
        "chargingProfile": prof})
    assert response["status"] == "Accepted"                                        # step 2
    event = csms.wait_for("TransactionEvent", identity=IDENTITY, after=mark, timeout=15,
                          predicate=lambda p: p["triggerReason"] == "RemoteStart")
    assert event["transactionInfo"]["remoteStartId"] == remote_start_id            # step 5
    transaction_id = event["transactionInfo"]["transactionId"]
    deadline = time.monotonic() + 10
    while True:                                       # the profile follows the event
        answer, reports = get_profiles(csms, {"chargingProfileId": [prof["id"]]})
        if answer["status"] == "Accepted" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer == {"status": "Accepted"}                                        # step 9
    [installed] = reported(reports)                                                # step 10
    assert installed == dict(prof, transactionId=transaction_id)


def test_remote_start_with_an_invalid_profile_is_rejected(csms, station, clean):
    """F01.FR.26, K05.FR.05 (no OCTT case): a TxDefaultProfile in RequestStartTransaction."""
    response = call(csms, "RequestStartTransaction", {
        "idToken": ID_TOKEN, "evseId": EVSE_ID, "remoteStartId": next(_remote_start_ids),
        "chargingProfile": profile()})
    assert response["status"] == "Rejected"
    assert response["statusInfo"]["reasonCode"] in ("InvalidProfile", "InvalidSchedule")


# --------------------------------------------------------------------------------------------
# K09 GetChargingProfiles
# --------------------------------------------------------------------------------------------


@pytest.fixture
def three_profiles(csms, station, clean):
    """ChargingStationMaxProfile on 0, TxDefaultProfiles stackLevel 1 and 2 on EVSE 1."""
    station_max = profile("ChargingStationMaxProfile", limits=((0, 30.0),))
    low = profile(stack_level=1, limits=((0, 16.0),))
    high = profile(stack_level=2, limits=((0, 12.0),))
    for evse_id, prof in ((0, station_max), (EVSE_ID, low), (EVSE_ID, high)):
        assert set_profile(csms, evse_id, prof) == {"status": "Accepted"}
    return station_max, low, high


def test_tc_k_29_evse_0(csms, three_profiles):
    """TC_K_29_CS (K09.FR.05): only the station's own profiles."""
    station_max, _, _ = three_profiles
    response, reports = get_profiles(csms, {}, evse_id=0)
    assert response == {"status": "Accepted"}
    assert reported(reports) == [station_max]


def test_tc_k_30_evse_above_0(csms, three_profiles):
    """TC_K_30_CS (K09.FR.04)."""
    _, low, high = three_profiles
    response, reports = get_profiles(csms, {}, evse_id=EVSE_ID)
    assert response == {"status": "Accepted"}
    assert sorted(reported(reports), key=lambda p: p["id"]) == [low, high]


def test_tc_k_31_no_evse_id(csms, three_profiles):
    """TC_K_31_CS (K09.FR.06): every profile; requestId in every report (K09.FR.01)."""
    response, reports = get_profiles(csms, {})
    assert response == {"status": "Accepted"}
    assert sorted(p["id"] for p in reported(reports)) == sorted(p["id"] for p in three_profiles)
    assert [r["tbc"] for r in reports] == [True] * (len(reports) - 1) + [False]


def test_tc_k_32_charging_profile_id(csms, three_profiles):
    """TC_K_32_CS."""
    _, low, _ = three_profiles
    assert reported(get_profiles(csms, {"chargingProfileId": [low["id"]]})[1]) == [low]


def test_tc_k_33_evse_and_stack_level(csms, three_profiles):
    """TC_K_33_CS."""
    _, _, high = three_profiles
    assert reported(get_profiles(csms, {"stackLevel": 2}, evse_id=EVSE_ID)[1]) == [high]


def test_tc_k_34_evse_and_charging_limit_source(csms, three_profiles):
    """TC_K_34_CS: <Configured chargingLimitSource> CSO, <...2> EMS (none)."""
    _, low, high = three_profiles
    response, reports = get_profiles(csms, {"chargingLimitSource": ["CSO"]}, evse_id=EVSE_ID)
    assert response == {"status": "Accepted"}
    assert sorted(reported(reports), key=lambda p: p["id"]) == [low, high]
    response, _ = get_profiles(csms, {"chargingLimitSource": ["EMS"]}, evse_id=EVSE_ID)
    assert response == {"status": "NoProfiles"}                                    # step 6


def test_tc_k_35_36_evse_purpose_and_stack_level(csms, three_profiles):
    """TC_K_35_CS (purpose) and TC_K_36_CS (purpose and stackLevel)."""
    _, low, high = three_profiles
    by_purpose = reported(get_profiles(csms, {"chargingProfilePurpose": "TxDefaultProfile"},
                                       evse_id=EVSE_ID)[1])
    assert sorted(by_purpose, key=lambda p: p["id"]) == [low, high]
    both = reported(get_profiles(csms, {"chargingProfilePurpose": "TxDefaultProfile",
                                        "stackLevel": 1}, evse_id=EVSE_ID)[1])
    assert both == [low]


# --------------------------------------------------------------------------------------------
# K10 ClearChargingProfile
# --------------------------------------------------------------------------------------------


def test_tc_k_05_clear_with_charging_profile_id(csms, station, clean):
    """TC_K_05_CS (K10.FR.03)."""
    prof = profile()
    set_profile(csms, EVSE_ID, prof)
    assert call(csms, "ClearChargingProfile", {"chargingProfileId": prof["id"]}) == {
        "status": "Accepted"}
    assert get_profiles(csms, {"chargingProfileId": [prof["id"]]})[0] == {"status": "NoProfiles"}


def test_tc_k_06_clear_with_stack_level_and_purpose(csms, station, api, clean):
    """TC_K_06_CS (K10.FR.04), in charging state EnergyTransferStarted."""
    energy_transfer_started(csms, api)
    set_profile(csms, EVSE_ID, profile(stack_level=3))
    criteria = {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 3}
    assert call(csms, "ClearChargingProfile", {"chargingProfileCriteria": criteria}) == {
        "status": "Accepted"}
    assert get_profiles(csms, criteria)[0] == {"status": "NoProfiles"}


def test_tc_k_07_clear_unknown_stack_level_and_purpose(csms, station, clean):
    """TC_K_07_CS (K10.FR.01)."""
    set_profile(csms, EVSE_ID, profile(stack_level=1))
    assert call(csms, "ClearChargingProfile", {"chargingProfileCriteria": {
        "chargingProfilePurpose": "ChargingStationMaxProfile", "stackLevel": 0}}) == {
        "status": "Unknown"}


def test_tc_k_08_clear_without_previous_profile(csms, station, clean):
    """TC_K_08_CS (K10.FR.01)."""
    assert call(csms, "ClearChargingProfile", {"chargingProfileId": next(_profile_ids)}) == {
        "status": "Unknown"}


def test_tc_k_09_clear_tx_default_with_ongoing_transaction(csms, station, api, clean):
    """TC_K_09_CS (K10.FR.05/07): the composite schedule drops the cleared limit."""
    configure(csms, "SmartChargingCtrlr", "LimitChangeSignificance", "1.0")
    energy_transfer_started(csms, api)
    prof = profile(duration=400, validFrom=iso(now()),
                   validTo=iso(now() + timedelta(seconds=401)))
    assert set_profile(csms, EVSE_ID, prof) == {"status": "Accepted"}
    before = composite(csms, EVSE_ID, 300)
    assert before["status"] == "Accepted" and periods(before)[0] == (0, 6.0)       # step 2
    assert call(csms, "ClearChargingProfile", {"chargingProfileCriteria": {
        "chargingProfilePurpose": "TxDefaultProfile"}}) == {"status": "Accepted"}  # step 4
    after = composite(csms, EVSE_ID, 300)
    assert after["schedule"]["duration"] == 300
    assert periods(after)[0][0] == 0 and periods(after)[0][1] != 6.0                # step 5


def test_tc_k_24_clear_multiple_profiles(csms, station, clean):
    """TC_K_24_CS (K10.FR.04): the same stackLevel/purpose on both EVSEs."""
    for evse_id in range(1, EVSE_COUNT + 1):
        assert set_profile(csms, evse_id, profile(stack_level=4))["status"] == "Accepted"
    criteria = {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 4}
    assert call(csms, "ClearChargingProfile", {"chargingProfileCriteria": criteria}) == {
        "status": "Accepted"}
    assert get_profiles(csms, criteria)[0] == {"status": "NoProfiles"}


# --------------------------------------------------------------------------------------------
# K08 GetCompositeSchedule
# --------------------------------------------------------------------------------------------


def test_tc_k_39_no_profile_installed(csms, station, clean):
    """TC_K_39_CS (K08.FR.02/03/06)."""
    response = composite(csms, 0, 300)
    assert response["status"] == "Accepted"
    schedule = response["schedule"]
    assert (schedule["evseId"], schedule["duration"], schedule["chargingRateUnit"]) == (
        0, 300, "A")
    assert schedule["chargingSchedulePeriod"][0]["startPeriod"] == 0


def test_tc_k_40_stacking_charging_profiles(csms, station, clean):
    """TC_K_40_CS (K08.FR.02/06, K01.FR.17)."""
    start = now()
    window = dict(validFrom=iso(start), validTo=iso(start + timedelta(seconds=401)))
    one = profile(stack_level=0, start=start, duration=400,
                  limits=((0, 6.0), (100, 8.0), (200, 10.0)), **window)
    two = profile(stack_level=1, start=start, duration=150, limits=((0, 7.0), (100, 9.0)),
                  **window)
    for prof in (one, two):
        assert set_profile(csms, EVSE_ID, prof) == {"status": "Accepted"}
    response = composite(csms, EVSE_ID, 350)
    assert response["status"] == "Accepted"
    assert response["schedule"]["duration"] == 350
    got = periods(response)
    assert [limit for _, limit in got] == [7.0, 9.0, 8.0, 10.0]
    assert got[0][0] == 0
    for (actual, _), nominal in zip(got[1:], (100, 150, 200)):
        assert_starts_near(actual, nominal)


def test_tc_k_41_combining_charging_profile_purposes(csms, station, api, clean):
    """TC_K_41_CS (K08.FR.02/04): station max 10, TxDefault and TxProfile (with the
    transaction it needs)."""
    transaction_id = energy_transfer_started(csms, api)
    start = now()
    window = dict(validFrom=iso(start), validTo=iso(start + timedelta(seconds=401)))
    station_max = profile("ChargingStationMaxProfile", start=start, duration=86400,
                          limits=((0, 10.0),))
    tx_default = profile(start=start, duration=300, limits=(
        (0, 6.0), (60, 10.0), (120, 8.0), (180, 15.0), (260, 8.0)), **window)
    tx = profile("TxProfile", start=start, duration=260, transactionId=transaction_id, limits=(
        (0, 8.0), (50, 11.0), (140, 16.0), (200, 6.0), (240, 12.0)), **window)
    for evse_id, prof in ((0, station_max), (EVSE_ID, tx_default), (EVSE_ID, tx)):
        assert set_profile(csms, evse_id, prof) == {"status": "Accepted"}
    response = composite(csms, EVSE_ID, 400)
    assert response["schedule"]["duration"] == 400
    got = periods(response)
    # The tool validations list the periods up to 240 - x; after them the TxProfile's schedule
    # ends (duration 260) and K02.FR.08 falls back to min(TxDefaultProfile, station max):
    # 8 from 260 - x, then 10 once the TxDefaultProfile's duration (300) ends.
    assert [limit for _, limit in got] == [8.0, 10.0, 6.0, 10.0, 8.0, 10.0]
    assert got[0][0] == 0
    for (actual, _), nominal in zip(got[1:], (50, 200, 240, 260, 300)):
        assert_starts_near(actual, nominal)


def test_tc_k_47_unknown_evse(csms, station, clean):
    """TC_K_47_CS (K08.FR.05)."""
    response = composite(csms, EVSE_COUNT + 1, 300)
    assert response["status"] == "Rejected" and "schedule" not in response


def test_composite_in_watts_for_the_station(csms, station, clean):
    """K08.FR.03 in W (K01.FR.50): ChargingStationMaxProfile 10 A on 3 phases at 230 V."""
    set_profile(csms, 0, profile("ChargingStationMaxProfile", limits=((0, 10.0),)))
    response = composite(csms, 0, 300, unit="W")
    assert response["schedule"]["chargingRateUnit"] == "W"
    assert periods(response)[0] == (0, 10.0 * 230 * 3)


# --------------------------------------------------------------------------------------------
# K11-K13 external limits
# --------------------------------------------------------------------------------------------


def test_tc_k_52_external_constraints_in_report(csms, station, api, clean):
    """TC_K_52_CS (K12.FR.05): an external limit is reported as
    ChargingStationExternalConstraints; setting it sent NotifyChargingLimit (K12.FR.02)."""
    mark = csms.mark()
    assert http("POST", f"{api}/station/external-limit",
                {"limit": 20, "unit": "A", "source": "EMS"})[0] == 200
    notify = csms.wait_for("NotifyChargingLimit", identity=IDENTITY, after=mark, timeout=10)
    assert notify["chargingLimit"]["chargingLimitSource"] == "EMS"                 # K12.FR.04
    response, reports = get_profiles(
        csms, {"chargingProfilePurpose": "ChargingStationExternalConstraints"})
    assert response == {"status": "Accepted"}
    [report] = reports
    assert (report["chargingLimitSource"], report["evseId"]) == ("EMS", 0)
    [external] = report["chargingProfile"]
    assert external["chargingProfilePurpose"] == "ChargingStationExternalConstraints"
    assert external["id"] < 0                                                      # K11.FR.06
    assert periods(composite(csms, EVSE_ID, 60))[0][1] == 20.0                     # K12.FR.01


def test_external_limit_on_a_transaction_and_its_release(csms, station, api, clean):
    """K11.FR.01/02, K13.FR.01/02: the EVSE follows the external limit and is released."""
    energy_transfer_started(csms, api)
    mark = csms.mark()
    assert http("POST", f"{api}/evses/{EVSE_ID}/external-limit", {"limit": 8})[0] == 200
    csms.wait_for("NotifyChargingLimit", identity=IDENTITY, after=mark, timeout=10,
                  predicate=lambda p: p.get("evseId") == EVSE_ID)
    view = wait_applied(api, 8.0)
    assert view["power_w"] == pytest.approx(8.0 * 230 * 3)
    mark = csms.mark()
    assert http("POST", f"{api}/evses/{EVSE_ID}/external-limit", {"limit": None})[0] == 200
    cleared = csms.wait_for("ClearedChargingLimit", identity=IDENTITY, after=mark, timeout=10)
    assert cleared == {"chargingLimitSource": "EMS", "evseId": EVSE_ID}
    # Released: the composite schedule is the hardware maximum again (K13.FR.01).
    view = wait_applied(api, HARDWARE_MAX_A)
    assert view["power_w"] == pytest.approx(HARDWARE_MAX_A * 230 * 3)


# --------------------------------------------------------------------------------------------
# Last: TC_K_13 restarts the station
# --------------------------------------------------------------------------------------------


def test_tc_k_13_persistent_over_reboot(csms, station):
    """TC_K_13_CS (K01.FR.27): set, reboot (reusable state Booted), still reported."""
    prof = profile(duration=300)
    assert set_profile(csms, EVSE_ID, prof) == {"status": "Accepted"}
    assert station.stop() == 0
    mark = csms.mark()
    station.start()
    csms.wait_for("BootNotification", identity=IDENTITY, after=mark, timeout=60)
    csms.wait_for("StatusNotification", identity=IDENTITY, after=mark, timeout=60,
                  predicate=lambda p: p["evseId"] == EVSE_COUNT)
    response, reports = get_profiles(csms, {"chargingProfileId": [prof["id"]]})
    assert response == {"status": "Accepted"}
    assert [r["evseId"] for r in reports] == [EVSE_ID]
    assert reported(reports) == [prof]
    call(csms, "ClearChargingProfile", {"chargingProfileId": prof["id"]})


def test_every_frame_was_schema_valid(csms, station):
    """Every ReportChargingProfiles, NotifyChargingLimit, ClearedChargingLimit and
    TransactionEvent above passed the OCPP 2.0.1 schemas at the test CSMS."""
    assert csms.violations(IDENTITY) == []
