"""OCTT test cases of blocks C (Authorization) and D (Local Authorization List), Charging
Station side, against the real station.

The station is the real one (``run.py``, multiprocTCPBase: the CsmsSession, the AuthCache and
the Evses in their own processes) with its own identity (``OCTT-C``) and external websocket
control, so a case can take it off line through the control API; the OCTT is the test CSMS
(``simulators.csms.CsmsServer``) whose Authorize/TransactionEvent answers each case scripts with
``set_handler``. "Manual Actions" (plug in, present a card, the EV charges) go through the
control API.

All cases share one station and run in file order. The module sets TxCtrlr.TxStartPoint to
Authorized, so an accepted token at a plugged EVSE shows up at once as a TransactionEvent
Started with its idToken, and a refused one as no TransactionEvent at all (the cases' "SHALL
NOT send a TransactionEventRequest"). The "Memory State" of a case is built the way a CSMS
would: IdTokenCached by an earlier session or Authorize answer, IdTokenLocalAuthList by
SendLocalList. Every case clears the cache first and leaves both EVSEs Available.
"""
from __future__ import annotations

import itertools
import os
import re
import signal
import time

import pytest

from messages.auth import AuthCacheStatus, GetAuthCacheStatus
from messages.supervision import GetDirectory, GetStationHealth
from simulators.csms import CsmsServer
from station.actor_system import connect_to_actor_system
from tests.integration.octt import settled
from tests.integration.station_process import StationProcess
from tests.integration.test_station import api_port, http

pytestmark = pytest.mark.integration

IDENTITY = "OCTT-C"
GROUP = {"idToken": "GROUP-1", "type": "Central"}            # <Configured GroupId>
MASTER_GROUP = "MASTERPASS"                                  # <Configured MasterPassGroupId>

_tokens = itertools.count(1)
_versions = itertools.count(10)


def new_token() -> dict:
    """A token no earlier case used (the cache and the EVSEs remember tokens)."""
    return {"idToken": f"OCTTC{next(_tokens):04d}", "type": "ISO14443"}


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def station(csms, start_station) -> StationProcess:
    process = start_station(IDENTITY, extra={"ocpp": {"EnableExternalWebsocketControl": True}})
    configure(csms, "TxCtrlr", "TxStartPoint", "Authorized")
    return process


@pytest.fixture(scope="module")
def api(station) -> str:
    return f"http://127.0.0.1:{api_port(station)}/api"


@pytest.fixture
def case(csms, station, api):
    """Before: an empty cache and the shipped authorization settings. After: both EVSEs idle,
    the CSMS on line and answering by default, changed variables restored."""
    changed: dict[tuple[str, str], str] = {}
    state = Case(csms, api, changed)
    assert csms.call(IDENTITY, "ClearCache", {})["status"] == "Accepted"
    yield state
    csms.set_handler("Authorize", None)
    csms.set_handler("TransactionEvent", None)
    api = state.api                     # a reset (last case) serves the API on a new port
    if not csms.is_connected(IDENTITY):
        post(f"{api}/csms/connect")
        csms.wait_connected(IDENTITY, timeout=15, count=csms.connection_count(IDENTITY) + 1)
    for evse_id in (1, 2):
        http("POST", f"{api}/evses/{evse_id}/ev", {"state": "suspended"})
        http("POST", f"{api}/evses/{evse_id}/plug-out")
    for evse_id in (1, 2):
        state.wait_idle(evse_id)
    state.wait_all_ended()
    for (component, variable), value in changed.items():
        configure(csms, component, variable, value)


class Case:
    def __init__(self, csms: CsmsServer, api: str, changed: dict) -> None:
        self.csms, self.api, self.changed = csms, api, changed

    def set(self, component: str, variable: str, value: str) -> None:
        """Part 6 "Configuration State"; restored after the case."""
        if (component, variable) not in self.changed:
            old = self.csms.call(IDENTITY, "GetVariables", {"getVariableData": [{
                "component": {"name": component}, "variable": {"name": variable}}]})
            self.changed[(component, variable)] = old["getVariableResult"][0]["attributeValue"]
        configure(self.csms, component, variable, value)

    def authorize_answers(self, answers: dict[str, dict]) -> None:
        """The OCTT answers Authorize with ``answers[idToken]`` (else Accepted)."""
        self.csms.set_handler("Authorize", lambda identity, payload: {
            "idTokenInfo": answers.get(payload["idToken"]["idToken"], {"status": "Accepted"})})

    def plug_in(self, evse_id: int = 1) -> None:
        mark = self.csms.mark()
        post(f"{self.api}/evses/{evse_id}/plug-in", {"connector_id": 1})
        try:
            self.csms.wait_for("StatusNotification", identity=IDENTITY, after=mark, timeout=15,
                               predicate=lambda p: p["evseId"] == evse_id
                               and p["connectorStatus"] == "Occupied")
        except TimeoutError as missing:
            view = http("GET", f"{self.api}/evses/{evse_id}")[1]
            raise TimeoutError(f"{missing}; the EVSE as the API shows it: {view}") from None

    def present(self, token: dict, evse_id: int = 1) -> None:
        post(f"{self.api}/evses/{evse_id}/token", {"id_token": token["idToken"],
                                                     "type": token["type"]})

    def charge(self, evse_id: int = 1) -> dict:
        mark = self.csms.mark()
        post(f"{self.api}/evses/{evse_id}/ev", {"state": "charging"})
        return wait_tx(self.csms, mark, evse_id=evse_id, chargingState="Charging")

    def wait_idle(self, evse_id: int) -> None:
        deadline = time.monotonic() + 20
        while True:
            view = http("GET", f"{self.api}/evses/{evse_id}")[1]
            if view.get("transaction") is None and \
                    view.get("connectors", [{}])[0].get("status") == "Available":
                return
            assert time.monotonic() < deadline, f"EVSE {evse_id} did not become idle: {view}"
            time.sleep(0.1)

    def wait_transaction(self, evse_id: int = 1) -> None:
        """Off line nothing reaches the CSMS: wait until the EVSE shows its transaction."""
        deadline = time.monotonic() + 15
        while http("GET", f"{self.api}/evses/{evse_id}")[1].get("transaction") is None:
            assert time.monotonic() < deadline, f"no transaction at EVSE {evse_id}"
            time.sleep(0.05)

    def wait_all_ended(self) -> None:
        """The EVSEs are idle; wait until the CSMS also has every transaction's Ended (the
        durable queue may still be delivering), so no event spills into the next case."""
        deadline = time.monotonic() + 20
        while True:
            events = [r.payload for r in self.csms.received("TransactionEvent", IDENTITY)]
            started = {e["transactionInfo"]["transactionId"] for e in events}
            ended = {e["transactionInfo"]["transactionId"] for e in events
                     if e["eventType"] == "Ended"}
            if started <= ended:
                return
            assert time.monotonic() < deadline, f"no Ended for {started - ended}"
            time.sleep(0.05)

    def offline(self) -> None:
        post(f"{self.api}/csms/disconnect")
        deadline = time.monotonic() + 10
        while self.csms.is_connected(IDENTITY):
            assert time.monotonic() < deadline, "the station stayed connected"
            time.sleep(0.05)

    def online(self) -> None:
        count = self.csms.connection_count(IDENTITY)
        post(f"{self.api}/csms/connect")
        self.csms.wait_connected(IDENTITY, timeout=15, count=count + 1)

    def seed_cache(self, token: dict, info: dict) -> None:
        """Memory State IdTokenCached: the CSMS answered an Authorize for ``token`` with
        ``info`` (C10.FR.04). An Accepted token charges once at EVSE 1 and stops again (a
        Master Pass token cannot: C16.FR.03)."""
        self.authorize_answers({token["idToken"]: info})
        mark = self.csms.mark()
        accepted = info["status"] == "Accepted" and \
            info.get("groupIdToken", {}).get("idToken") != MASTER_GROUP
        if accepted:
            self.plug_in(1)
        self.present(token, 1)
        self.csms.wait_for("Authorize", identity=IDENTITY, after=mark, timeout=10,
                           predicate=lambda p: p["idToken"] == token)
        if accepted:
            started = wait_tx(self.csms, mark, eventType="Started")
            assert started["idToken"] == token
            self.present(token, 1)                                  # E07: the same card ends it
            wait_tx(self.csms, mark, eventType="Ended",
                    transactionId=started["transactionInfo"]["transactionId"])
            post(f"{self.api}/evses/1/plug-out")
            self.wait_idle(1)
        self.csms.set_handler("Authorize", None)

    def present_cached(self, info: dict, answer: dict | None = None,
                       **settings: str) -> tuple[dict, int]:
        """LocalPreAuthorize on, a new token cached with ``info``, then the variables
        ``settings`` ("Component__Variable": value) set, the CSMS's next Authorize answer
        ``answer``, the EV plugged in at EVSE 1 and the token presented there.
        Returns (the token, the mark before presenting)."""
        token = new_token()
        self.set("AuthCtrlr", "LocalPreAuthorize", "true")
        self.seed_cache(token, info)
        for name, value in settings.items():
            self.set(*name.split("__"), value)
        if answer is not None:
            self.authorize_answers({token["idToken"]: answer})
        self.plug_in()
        mark = self.csms.mark()
        self.present(token)
        return token, mark

    def send_list(self, update_type: str, version: int, items: list[dict]) -> dict:
        payload = {"updateType": update_type, "versionNumber": version}
        if items:                          # schema minItems 1: an empty list is an absent one
            payload["localAuthorizationList"] = items
        return self.csms.call(IDENTITY, "SendLocalList", payload)

    def list_version(self) -> int:
        return self.csms.call(IDENTITY, "GetLocalListVersion", {})["versionNumber"]


def configure(csms: CsmsServer, component: str, variable: str, value: str) -> None:
    result = csms.call(IDENTITY, "SetVariables", {"setVariableData": [{
        "component": {"name": component}, "variable": {"name": variable},
        "attributeValue": value}]})["setVariableResult"][0]
    assert result["attributeStatus"] == "Accepted", (component, variable, value, result)


def post(url: str, body: dict | None = None) -> None:
    status, answer = http("POST", url, body if body is not None else {})
    assert status == 200, answer


def wait_tx(csms: CsmsServer, after: int, timeout: float = 15, evse_id: int | None = None,
            **fields) -> dict:
    info_keys = {"chargingState", "stoppedReason", "transactionId"}
    transactions = {r.payload["transactionInfo"]["transactionId"]: r.payload["evse"]["id"]
                    for r in csms.received("TransactionEvent", IDENTITY) if "evse" in r.payload}

    def match(p: dict) -> bool:
        if evse_id is not None:
            tx_evse = p.get("evse", {}).get("id") or transactions.get(
                p["transactionInfo"]["transactionId"])
            if tx_evse is None:
                transactions.update(
                    {r.payload["transactionInfo"]["transactionId"]: r.payload["evse"]["id"]
                     for r in csms.received("TransactionEvent", IDENTITY) if "evse" in r.payload})
                tx_evse = transactions.get(p["transactionInfo"]["transactionId"])
            if tx_evse != evse_id:
                return False
        for key, value in fields.items():
            source = p.get("transactionInfo", {}) if key in info_keys else p
            if source.get(key) != value:
                return False
        return True
    return csms.wait_for("TransactionEvent", identity=IDENTITY, after=after, timeout=timeout,
                         predicate=match)


def calls_since(csms: CsmsServer, action: str, mark: int) -> list[dict]:
    return [r.payload for r in csms.received(action, IDENTITY) if r.seq > mark]


def refused_after_authorize(csms: CsmsServer, token: dict, mark: int) -> None:
    """The station asked the CSMS about ``token`` and, refused, sends no TransactionEvent."""
    assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                         timeout=10)["idToken"] == token
    settled(csms, IDENTITY)
    assert calls_since(csms, "TransactionEvent", mark) == []


def answer_invalid(case: Case) -> None:
    """The OCTT answers every TransactionEvent that carries an idToken with Invalid."""
    case.csms.set_handler("TransactionEvent", lambda identity, payload: (
        {"idTokenInfo": {"status": "Invalid"}} if "idToken" in payload else {}))


def entry(token: dict, status: str = "Accepted", **info) -> dict:
    return {"idToken": token, "idTokenInfo": {"status": status, **info}}


# --------------------------------------------------------------------------------------------
# C01: local start, authorized by the CSMS
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id, status", [
    ("TC_C_02", "Invalid"), ("TC_C_05", "Invalid"), ("TC_C_06", "Blocked"),
    ("TC_C_07", "Expired"), ("TC_C_56", "Unknown")])
def test_tc_c_02_05_06_07_56_local_start_not_accepted(csms, case, case_id, status):
    """TC_C_02/05/06/07/56_CS (C01.FR.02): the CSMS refuses the token; no transaction. (TC_C_05
    is TC_C_02 for a station whose cable lock keeps the EV out before authorization; the
    simulated EVSE locks only while authorized, so the steps are the same.)"""
    token = new_token()
    case.authorize_answers({token["idToken"]: {"status": status}})
    case.plug_in()
    mark = csms.mark()
    case.present(token)
    refused_after_authorize(csms, token, mark)                                    # step 1


def test_tc_e_52_disable_remote_authorization(csms, case):
    """TC_E_52_CS (C01.FR.02/05 overruled by AuthCtrlr.DisableRemoteAuthorization): a token
    in neither the cache nor the list is refused without an AuthorizeRequest."""
    token = new_token()
    case.set("AuthCtrlr", "DisableRemoteAuthorization", "true")
    case.plug_in()
    mark = csms.mark()
    case.present(token)
    settled(csms, IDENTITY)
    assert calls_since(csms, "Authorize", mark) == []                            # step 1
    assert calls_since(csms, "TransactionEvent", mark) == []                     # refused
    assert http("GET", f"{case.api}/evses/1")[1]["transaction"] is None


# --------------------------------------------------------------------------------------------
# C10-C12: the Authorization Cache
# --------------------------------------------------------------------------------------------


def test_tc_c_08_33_cache_accepted(csms, case):
    """TC_C_08_CS (C12.FR.02/04): a cached Accepted token starts without Authorize;
    TC_C_33_CS (C10.FR.04, C12.FR.06): it was cached from the AuthorizeResponse."""
    token, mark = case.present_cached({"status": "Accepted"})
    started = wait_tx(csms, mark, eventType="Started")
    assert started["idToken"] == token and started["triggerReason"] == "Authorized"
    case.charge()                                                        # EnergyTransferStarted
    assert calls_since(csms, "Authorize", mark) == []


@pytest.mark.parametrize("case_id, cached", [("TC_C_09", "Invalid"), ("TC_C_10", "Blocked"),
                                             ("TC_C_11", "Expired")])
def test_tc_c_09_10_11_cache_not_accepted_asks_again(csms, case, case_id, cached):
    """TC_C_09/10/11_CS (C10.FR.03, C12.FR.05): a cached token that is not Accepted is
    authorized again; the CSMS still refuses: no transaction."""
    token, mark = case.present_cached({"status": cached}, answer={"status": cached})
    refused_after_authorize(csms, token, mark)


def test_tc_c_12_cache_invalid_csms_accepts(csms, case):
    """TC_C_12_CS (C10.FR.03, C12.FR.05/06): cached Invalid, the CSMS now accepts: charging."""
    token, mark = case.present_cached({"status": "Invalid"})
    assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                         timeout=10)["idToken"] == token
    assert wait_tx(csms, mark, eventType="Started")["idToken"] == token
    case.charge()


def test_tc_c_57_cache_disable_post_authorize(csms, case):
    """TC_C_57_CS (AuthCacheCtrlr.DisablePostAuthorize): a cached Blocked token is refused
    without Authorize."""
    _, mark = case.present_cached({"status": "Blocked"},
                                  AuthCacheCtrlr__DisablePostAuthorize="true")
    settled(csms, IDENTITY)
    assert calls_since(csms, "Authorize", mark) == []
    assert calls_since(csms, "TransactionEvent", mark) == []


def test_tc_c_13_cache_accepted_cable_later(csms, case):
    """TC_C_13_CS (C12.FR.02/04): cached Accepted, no cable yet: the transaction starts at the
    token (TxStartPoint Authorized); the energy flows once the EV is plugged in."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.seed_cache(token, {"status": "Accepted"})
    mark = csms.mark()
    case.present(token)
    started = wait_tx(csms, mark, eventType="Started")
    assert started["triggerReason"] == "Authorized" and started["idToken"] == token   # step 1
    case.plug_in()                                                                     # step 3
    case.charge()                                                                      # step 4
    assert calls_since(csms, "Authorize", mark) == []


def test_tc_c_36_cache_without_local_pre_authorize(csms, case):
    """TC_C_36_CS (AuthCtrlr.LocalPreAuthorize false): a cached token is still authorized
    with the CSMS, whose Invalid wins."""
    token = new_token()
    case.seed_cache(token, {"status": "Accepted"})
    case.set("AuthCtrlr", "LocalPreAuthorize", "false")
    case.authorize_answers({token["idToken"]: {"status": "Invalid"}})
    case.plug_in()
    mark = csms.mark()
    case.present(token)
    refused_after_authorize(csms, token, mark)


def test_tc_c_46_cache_lifetime(csms, case):
    """TC_C_46_CS (C10.FR.08): after AuthCacheCtrlr.LifeTime without use the entry has
    expired and the token is authorized with the CSMS again."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.set("AuthCacheCtrlr", "LifeTime", "2")
    case.seed_cache(token, {"status": "Accepted"})
    case.plug_in()
    # <Configured Transaction Duration>: a wait for the cache entry's LifeTime to run out,
    # which nothing announces (the expiry shows only at the next presentation), so no probe.
    time.sleep(2.5)
    mark = csms.mark()
    case.present(token)
    assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                         timeout=10)["idToken"] == token
    wait_tx(csms, mark, eventType="Started")


def test_tc_c_34_cache_updated_on_transaction_event_response(csms, case):
    """TC_C_34_CS (C10.FR.05): the TransactionEventResponse's idTokenInfo replaces the cached
    Accepted; the next presentation is authorized again (C10.FR.03)."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.csms.set_handler("TransactionEvent", lambda identity, payload: (
        {"idTokenInfo": {"status": "Blocked"}} if payload.get("idToken") == token
        else case.csms.default_answer(identity, "TransactionEvent", payload)))
    case.seed_cache(token, {"status": "Accepted"})
    case.csms.set_handler("TransactionEvent", None)
    case.authorize_answers({token["idToken"]: {"status": "Blocked"}})
    case.plug_in()
    mark = csms.mark()
    case.present(token)
    refused_after_authorize(csms, token, mark)


def test_tc_c_37_38_clear_cache(csms, case):
    """TC_C_37_CS (C11.FR.03): Accepted, and the token is authorized again afterwards;
    TC_C_38_CS (C11.FR.04): Rejected while AuthCacheCtrlr.Enabled is false."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.seed_cache(token, {"status": "Accepted"})
    assert csms.call(IDENTITY, "ClearCache", {}) == {"status": "Accepted"}
    case.plug_in()
    mark = csms.mark()
    case.present(token)
    assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                         timeout=10)["idToken"] == token
    wait_tx(csms, mark, eventType="Started")
    case.set("AuthCacheCtrlr", "Enabled", "false")
    assert csms.call(IDENTITY, "ClearCache", {})["status"] == "Rejected"


# --------------------------------------------------------------------------------------------
# C14/C13: the Local Authorization List, on line and off line
# --------------------------------------------------------------------------------------------


def test_tc_c_27_local_list_accepted_online(csms, case):
    """TC_C_27_CS (C14.FR.02): a token Accepted in the list starts without Authorize."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    assert case.send_list("Full", next(_versions), [entry(token)])["status"] == "Accepted"
    case.plug_in()
    mark = csms.mark()
    case.present(token)
    assert wait_tx(csms, mark, eventType="Started")["idToken"] == token
    assert calls_since(csms, "Authorize", mark) == []


def test_tc_c_31_local_list_invalid_csms_accepts(csms, case):
    """TC_C_31_CS (C14.FR.03): a token Invalid in the list is authorized with the CSMS."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.send_list("Full", next(_versions), [entry(token, "Invalid")])
    case.plug_in()
    mark = csms.mark()
    case.present(token)
    assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                         timeout=10)["idToken"] == token
    assert wait_tx(csms, mark, eventType="Started")["idToken"] == token


@pytest.mark.parametrize("case_id, info", [
    ("TC_C_28", {"status": "Invalid"}), ("TC_C_29", {"status": "Blocked"}),
    ("TC_C_30", {"status": "Accepted", "cacheExpiryDateTime": "2020-01-01T00:00:00Z"})])
def test_tc_c_28_29_30_local_list_not_valid_online(csms, case, case_id, info):
    """TC_C_28/29/30_CS (C14.FR.03/05): a token the list holds as Invalid, Blocked or past
    its cacheExpiryDateTime is authorized with the CSMS, which refuses it: no transaction."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.send_list("Full", next(_versions), [{"idToken": token, "idTokenInfo": info}])
    case.authorize_answers({token["idToken"]: {"status": "Blocked"}})
    case.plug_in()
    mark = csms.mark()
    case.present(token)
    refused_after_authorize(csms, token, mark)


def test_tc_c_28_local_list_disable_post_authorize(csms, case):
    """TC_C_28_CS, the LocalAuthListDisablePostAuthorization variant: a token Blocked in the
    list is refused without Authorize."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.set("LocalAuthListCtrlr", "DisablePostAuthorize", "true")
    case.send_list("Full", next(_versions), [entry(token, "Blocked")])
    case.plug_in()
    mark = csms.mark()
    case.present(token)
    settled(csms, IDENTITY)
    assert calls_since(csms, "Authorize", mark) == []
    assert calls_since(csms, "TransactionEvent", mark) == []


@pytest.mark.parametrize("case_id, info", [
    ("TC_C_22", {"status": "Invalid"}), ("TC_C_23", {"status": "Blocked"}),
    ("TC_C_24", {"status": "Accepted", "cacheExpiryDateTime": "2020-01-01T00:00:00Z"})])
def test_tc_c_22_23_24_offline_local_list_not_valid(csms, case, case_id, info):
    """TC_C_22/23/24_CS (C13.FR.02/05): off line, a token the list holds as Invalid, Blocked
    or expired starts nothing; nothing but offline status reaches the CSMS afterwards."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.send_list("Full", next(_versions), [{"idToken": token, "idTokenInfo": info}])
    case.offline()
    mark = csms.mark()
    post(f"{case.api}/evses/1/plug-in", {"connector_id": 1})
    case.present(token)
    case.online()
    settled(csms, IDENTITY)
    assert calls_since(csms, "TransactionEvent", mark) == []
    assert calls_since(csms, "Authorize", mark) == []


def test_tc_c_25_offline_list_before_cache(csms, case):
    """TC_C_25_CS (C13.FR.01, C14.FR.01): off line, the list's Invalid wins over the cache's
    Accepted, even with OfflineTxForUnknownIdEnabled (the token is not unknown)."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.seed_cache(token, {"status": "Accepted"})
    case.send_list("Full", next(_versions), [entry(token, "Invalid")])
    case.set("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "true")
    case.plug_in()
    case.offline()
    mark = csms.mark()
    case.present(token)
    case.online()
    settled(csms, IDENTITY)
    assert calls_since(csms, "TransactionEvent", mark) == []


def charge_offline_on_a_cached_token(csms, case, token: dict) -> int:
    """``token`` cached Accepted, the CSMS to answer Invalid; plugged in, the station offline,
    the token starts a transaction from the cache, the EV charges, and the station comes
    back: the queued Started must say offline (C15, E04.FR.03). Returns the mark from before
    the token was presented."""
    case.seed_cache(token, {"status": "Accepted"})
    answer_invalid(case)
    case.plug_in()
    case.offline()
    mark = csms.mark()
    case.present(token)
    case.wait_transaction(1)
    post(f"{case.api}/evses/1/ev", {"state": "charging"})
    case.online()
    started = wait_tx(csms, mark, eventType="Started")
    assert started["idToken"] == token and started["offline"] is True
    return mark


@pytest.mark.parametrize("case_id, stop_on_invalid, max_energy", [
    ("TC_C_16", "true", "0"), ("TC_C_17", "false", "0"), ("TC_C_18", "true", "500")])
def test_tc_c_16_17_18_offline_cached_then_invalid(csms, case, case_id, stop_on_invalid,
                                                   max_energy):
    """TC_C_16/17/18_CS (C12.FR.02, C15.FR.03-06, E05): off line a cached token charges; the
    CSMS answers the queued TransactionEvent with Invalid. StopTxOnInvalidId true (TC_C_16,
    and TC_C_18 where MaxEnergyOnInvalidId 500 must not matter): the transaction ends
    Deauthorized, sent on line, and the cable stays held (C15.FR.05); false with
    MaxEnergyOnInvalidId 0: the energy stops at once (SuspendedEVSE, E05.FR.02)."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.set("TxCtrlr", "StopTxOnInvalidId", stop_on_invalid)
    case.set("TxCtrlr", "MaxEnergyOnInvalidId", max_energy)
    mark = charge_offline_on_a_cached_token(csms, case, token)                    # steps 1-3
    if stop_on_invalid == "false":
        wait_tx(csms, mark, chargingState="SuspendedEVSE")                          # step 5
        return
    ended = wait_tx(csms, mark, triggerReason="Deauthorized")                       # step 5
    assert ended["eventType"] == "Ended" and not ended.get("offline")         # step 5
    # C15.FR.05, E05.FR.11: the cable stays locked to the socket until the owner comes back.
    post(f"{case.api}/evses/1/plug-out")
    assert http("GET", f"{case.api}/evses/1")[1]["connectors"][0]["status"] == "Occupied"
    case.present(token)


def test_tc_c_15_offline_cached_then_invalid_max_energy(csms, case):
    """TC_C_15_CS (C15.FR.07, E05.FR.03): StopTxOnInvalidId false, MaxEnergyOnInvalidId
    10.000 Wh: after the CSMS's Invalid the EV charges on, neither Deauthorized nor
    SuspendedEVSE. Post scenario "only MaxEnergyOnInvalidId is delivered": 10 kWh take the
    simulated EV minutes, so the limit is then lowered to a few Wh above what the
    transaction has delivered; the station stops the energy there (E05.FR.02)."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.set("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "true")
    case.set("TxCtrlr", "StopTxOnInvalidId", "false")
    case.set("TxCtrlr", "MaxEnergyOnInvalidId", "10000")
    mark = charge_offline_on_a_cached_token(csms, case, token)                    # steps 1-3
    assert wait_tx(csms, mark, triggerReason="ChargingStateChanged")["offline"] is True
    settled(csms, IDENTITY)
    assert [e for e in calls_since(csms, "TransactionEvent", mark)
            if e["triggerReason"] == "Deauthorized"
            or e.get("transactionInfo", {}).get("chargingState") == "SuspendedEVSE"] == []
    view = http("GET", f"{case.api}/evses/1")[1]
    assert view["power_w"] > 0                                       # E05.FR.03: still charging
    step_wh = view["power_w"] / 3600                                 # one second of charging
    # Post scenario: lower the limit to some 5 s of charging above what was delivered so far,
    # more than the SetVariables -> Evse path takes, so the station meets the limit running.
    limit = int(view["transaction"]["energy_wh"] + 5 * step_wh) + 1
    mark = csms.mark()
    case.set("TxCtrlr", "MaxEnergyOnInvalidId", str(limit))
    suspended = wait_tx(csms, mark, chargingState="SuspendedEVSE")
    assert suspended["triggerReason"] == "ChargingStateChanged"                 # E05.FR.02
    view = http("GET", f"{case.api}/evses/1")[1]
    assert view["power_w"] == 0
    # The Evse reads the meter every second: a loaded machine may add a late tick or two.
    delivered = view["transaction"]["energy_wh"]                     # since its start
    assert limit <= delivered <= limit + 3 * step_wh


def test_tc_c_21_offline_local_list_accepted(csms, case):
    """TC_C_21_CS (C13.FR.02): off line, a listed token charges; the queued events arrive
    with offline true, one of them StopAuthorized."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.send_list("Full", next(_versions), [entry(token)])
    case.offline()
    mark = csms.mark()
    post(f"{case.api}/evses/1/plug-in", {"connector_id": 1})
    case.present(token)
    case.wait_transaction(1)
    post(f"{case.api}/evses/1/ev", {"state": "charging"})
    case.present(token)                                                    # stop
    post(f"{case.api}/evses/1/plug-out")
    case.online()
    ended = wait_tx(csms, mark, eventType="Ended")
    events = calls_since(csms, "TransactionEvent", mark)
    assert events and all(e.get("offline") is True for e in events)
    assert any(e["triggerReason"] == "StopAuthorized" for e in events)
    assert events[0]["idToken"] == token and ended["offline"] is True


def test_offline_cached_token_starts_and_unknown_only_with_offline_tx_for_unknown_id(csms, case):
    """C12 off line: a cached token starts a transaction; an unknown one does not unless
    OfflineTxForUnknownIdEnabled (C13.FR.02/04, C15.FR.08)."""
    cached, unknown = new_token(), new_token()
    case.seed_cache(cached, {"status": "Accepted"})
    case.offline()
    mark = csms.mark()
    post(f"{case.api}/evses/1/plug-in", {"connector_id": 1})
    post(f"{case.api}/evses/2/plug-in", {"connector_id": 1})
    case.present(unknown, 2)                                 # refused: nothing starts at EVSE 2
    case.present(cached, 1)
    case.wait_transaction(1)
    case.online()
    started = wait_tx(csms, mark, eventType="Started")
    assert started["idToken"] == cached and started["offline"] is True
    settled(csms, IDENTITY, evse_id=2)                       # what EVSE 2 might have sent
    assert [e for e in calls_since(csms, "TransactionEvent", mark)
            if e.get("evse", {}).get("id") == 2] == []


def test_tc_c_26_offline_unknown_id_revoked_by_the_csms(csms, case):
    """TC_C_26_CS (C15.FR.02/06/08, C13.FR.04): off line an unknown token charges; the
    TransactionEventResponse says Invalid; StopTxOnInvalidId false, MaxEnergyOnInvalidId 0:
    the station stops the energy (SuspendedEVSE); the cache learns Invalid (C10.FR.05)."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.set("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "true")
    case.set("TxCtrlr", "StopTxOnInvalidId", "false")
    case.set("TxCtrlr", "MaxEnergyOnInvalidId", "0")
    answer_invalid(case)
    case.offline()
    mark = csms.mark()
    post(f"{case.api}/evses/1/plug-in", {"connector_id": 1})
    case.present(token)
    case.wait_transaction(1)
    post(f"{case.api}/evses/1/ev", {"state": "charging"})
    case.online()
    started = wait_tx(csms, mark, eventType="Started")
    assert started["idToken"] == token and started["offline"] is True          # step 1
    wait_tx(csms, mark, chargingState="SuspendedEVSE")                          # C15.FR.06
    case.csms.set_handler("TransactionEvent", None)
    # C15.FR.01 kept it out of the cache off line; the response put it in as Invalid.
    mark = csms.mark()
    case.authorize_answers({token["idToken"]: {"status": "Invalid"}})
    case.present(token, 2)
    assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                         timeout=10)["idToken"] == token


# --------------------------------------------------------------------------------------------
# C09, C16: groups and the Master Pass
# --------------------------------------------------------------------------------------------


def test_tc_c_39_group_id_stops(csms, case):
    """TC_C_39_CS (C09.FR.03): another token of the same group stops the transaction."""
    first, second = new_token(), new_token()
    case.authorize_answers({t["idToken"]: {"status": "Accepted", "groupIdToken": GROUP}
                            for t in (first, second)})
    case.plug_in()
    mark = csms.mark()
    case.present(first)
    wait_tx(csms, mark, eventType="Started")
    case.charge()
    mark = csms.mark()
    case.present(second)
    assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                         timeout=10)["idToken"] == second                        # step 6
    stop = wait_tx(csms, mark, triggerReason="StopAuthorized")                   # step 8
    assert stop["idToken"] == second


def test_tc_c_39_group_from_the_transaction_event_response(csms, case):
    """TC_C_39_CS with the group named only where C09.FR.12 puts it: the first card's
    Authorize answer has no groupIdToken, the TransactionEventResponse to the Started event
    carrying it does (E05: the CSMS checks the token of the transaction). A second card the
    CSMS answers with that group stops the transaction (C09.FR.03)."""
    first, second = new_token(), new_token()
    case.authorize_answers({first["idToken"]: {"status": "Accepted"},
                            second["idToken"]: {"status": "Accepted", "groupIdToken": GROUP}})
    case.csms.set_handler("TransactionEvent", lambda identity, payload: (
        {"idTokenInfo": {"status": "Accepted", "groupIdToken": GROUP}}
        if payload.get("idToken") == first else {}))
    case.plug_in()
    mark = csms.mark()
    case.present(first)
    assert wait_tx(csms, mark, eventType="Started")["idToken"] == first
    case.charge()
    mark = csms.mark()
    case.present(second)
    assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                         timeout=10)["idToken"] == second
    stop = wait_tx(csms, mark, triggerReason="StopAuthorized")
    assert stop["idToken"] == second


@pytest.mark.parametrize("case_id, other_group", [
    ("TC_C_04", None), ("TC_C_42", {"idToken": "OTHER", "type": "Central"})])
def test_tc_c_04_42_other_token_does_not_stop(csms, case, case_id, other_group):
    """TC_C_04_CS (C01.FR.03): a different token without a group, TC_C_42_CS (C09.FR.11): a
    token of another group, both Accepted, do not stop the transaction."""
    first, second = new_token(), new_token()
    second_info = {"status": "Accepted"}
    if other_group is not None:
        second_info["groupIdToken"] = other_group
    case.authorize_answers({
        first["idToken"]: {"status": "Accepted", "groupIdToken": GROUP},
        second["idToken"]: second_info})
    case.plug_in()
    mark = csms.mark()
    case.present(first)
    wait_tx(csms, mark, eventType="Started")
    mark = csms.mark()
    case.present(second)
    csms.wait_for("Authorize", identity=IDENTITY, after=mark, timeout=10)
    settled(csms, IDENTITY)
    assert [e for e in calls_since(csms, "TransactionEvent", mark)
            if e["triggerReason"] == "StopAuthorized" or e["eventType"] == "Ended"] == []


@pytest.mark.parametrize("case_id, where, status, stops", [
    ("TC_C_40", "list", "Accepted", True), ("TC_C_41", "cache", "Accepted", True),
    ("TC_C_43", "list", "Invalid", False), ("TC_C_44", "cache", "Invalid", False)])
def test_tc_c_40_41_43_44_group_known_locally(csms, case, case_id, where, status, stops):
    """TC_C_40/41_CS (C09.FR.07 b): a second token of the group, Accepted in the list or the
    cache, stops the transaction without Authorize; TC_C_43/44_CS (C09.FR.11): Invalid there,
    it is authorized with the CSMS (C10.FR.03, C14.FR.03), which says Invalid: no stop."""
    first, second = new_token(), new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    # C09.FR.12: the CSMS names the group in TransactionEventResponses too (they update the
    # cache, C10.FR.05).
    case.csms.set_handler("TransactionEvent", lambda identity, payload: (
        {"idTokenInfo": {"status": "Accepted", "groupIdToken": GROUP}}
        if "idToken" in payload else {}))
    if where == "list":
        case.send_list("Full", next(_versions), [entry(first, groupIdToken=GROUP),
                                                entry(second, status, groupIdToken=GROUP)])
    else:
        case.seed_cache(first, {"status": "Accepted", "groupIdToken": GROUP})
        case.seed_cache(second, {"status": status, "groupIdToken": GROUP})
    case.authorize_answers({second["idToken"]: {"status": status, "groupIdToken": GROUP}})
    case.plug_in()
    mark = csms.mark()
    case.present(first)
    wait_tx(csms, mark, eventType="Started")
    case.charge()
    mark = csms.mark()
    case.present(second)
    if stops:
        assert wait_tx(csms, mark, triggerReason="StopAuthorized")["idToken"] == second
        assert calls_since(csms, "Authorize", mark) == []
    else:
        assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                             timeout=10)["idToken"] == second
        settled(csms, IDENTITY)
        assert [e for e in calls_since(csms, "TransactionEvent", mark)
                if e["triggerReason"] == "StopAuthorized"] == []


def test_tc_c_49_master_pass_without_ui(csms, case):
    """TC_C_49_CS (C16.FR.02): the Master Pass stops the transactions of both EVSEs with
    stoppedReason MasterPass, and starts none (C16.FR.03)."""
    case.set("AuthCtrlr", "MasterPassGroupId", MASTER_GROUP)
    one, two, master = new_token(), new_token(), new_token()
    case.authorize_answers({master["idToken"]: {
        "status": "Accepted", "groupIdToken": {"idToken": MASTER_GROUP, "type": "Central"}}})
    for evse_id, token in ((1, one), (2, two)):
        case.plug_in(evse_id)
        mark = csms.mark()
        case.present(token, evse_id)
        wait_tx(csms, mark, eventType="Started", evse_id=evse_id)
        case.charge(evse_id)
    mark = csms.mark()
    case.present(master, 1)
    assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                         timeout=10)["idToken"] == master                        # step 1
    for evse_id in (1, 2):
        ended = wait_tx(csms, mark, evse_id=evse_id, stoppedReason="MasterPass")   # step 3
        assert ended.get("idToken", master) == master


def test_tc_c_14_master_pass_from_the_cache(csms, case):
    """TC_C_14_CS (C12.FR.09, C16.FR.03): a cached Master Pass token stops the transaction
    (StopAuthorized, MasterPass) without Authorize."""
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.set("AuthCtrlr", "MasterPassGroupId", MASTER_GROUP)
    master, driver = new_token(), new_token()
    case.seed_cache(master, {"status": "Accepted",
                             "groupIdToken": {"idToken": MASTER_GROUP, "type": "Central"}})
    case.plug_in()
    mark = csms.mark()
    case.present(driver)
    wait_tx(csms, mark, eventType="Started")
    case.charge()
    mark = csms.mark()
    case.present(master)
    ended = wait_tx(csms, mark, stoppedReason="MasterPass")
    assert ended["triggerReason"] == "StopAuthorized"
    assert calls_since(csms, "Authorize", mark) == []


def test_tc_c_45_master_pass_cannot_start(csms, case):
    """TC_C_45_CS (C12.FR.09, C16.FR.03): a Master Pass token starts no transaction."""
    case.set("AuthCtrlr", "MasterPassGroupId", MASTER_GROUP)
    master = new_token()
    case.authorize_answers({master["idToken"]: {
        "status": "Accepted", "groupIdToken": {"idToken": MASTER_GROUP, "type": "Central"}}})
    case.plug_in()
    mark = csms.mark()
    case.present(master)
    csms.wait_for("Authorize", identity=IDENTITY, after=mark, timeout=10)
    settled(csms, IDENTITY)
    assert calls_since(csms, "TransactionEvent", mark) == []


# --------------------------------------------------------------------------------------------
# D01, D02: SendLocalList and GetLocalListVersion
# --------------------------------------------------------------------------------------------


def test_tc_d_01_full(csms, case):
    """TC_D_01_CS (D01.FR.02/15)."""
    version = next(_versions)
    assert case.send_list("Full", version, [entry(new_token())]) == {"status": "Accepted"}
    assert case.list_version() == version


def test_tc_d_02_differential_update(csms, case):
    """TC_D_02_CS (D01.FR.16)."""
    version = next(_versions)
    case.send_list("Full", version, [entry(new_token())])
    assert case.send_list("Differential", version + 1, [entry(new_token())]) == {
        "status": "Accepted"}
    assert case.list_version() == version + 1
    next(_versions)


def test_tc_d_03_differential_remove(csms, case):
    """TC_D_03_CS (D01.FR.17): an entry without idTokenInfo is removed; the station reports
    the smaller list (LocalAuthListCtrlr.Entries)."""
    token, other = new_token(), new_token()
    version = next(_versions)
    case.send_list("Full", version, [entry(token), entry(other)])
    assert case.send_list("Differential", version + 1, [{"idToken": token}]) == {
        "status": "Accepted"}
    assert case.list_version() == version + 1
    entries = csms.call(IDENTITY, "GetVariables", {"getVariableData": [{
        "component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Entries"}}]})
    assert entries["getVariableResult"][0]["attributeValue"] == "1"
    next(_versions)


def test_tc_d_04_full_with_empty_list(csms, case):
    """TC_D_04_CS (D01.FR.04)."""
    case.send_list("Full", next(_versions), [entry(new_token())])
    version = next(_versions)
    assert case.send_list("Full", version, []) == {"status": "Accepted"}
    assert case.list_version() == version


def test_tc_d_05_differential_with_empty_list(csms, case):
    """TC_D_05_CS (D01.FR.05)."""
    version = next(_versions)
    case.send_list("Full", version, [entry(new_token())])
    assert case.send_list("Differential", version + 1, []) == {"status": "Accepted"}
    assert case.list_version() == version + 1
    next(_versions)


def test_tc_d_06_version_mismatch(csms, case):
    """TC_D_06_CS (D01.FR.19)."""
    version = next(_versions)
    case.send_list("Full", version, [entry(new_token())])
    assert case.send_list("Differential", version - 1, [entry(new_token())]) == {
        "status": "VersionMismatch"}
    assert case.list_version() == version


def test_tc_d_08_get_local_list_version(csms, case):
    """TC_D_08_CS (D02.FR.01)."""
    version = next(_versions)
    case.send_list("Full", version, [entry(new_token())])
    assert case.list_version() == version


def test_tc_d_10_function_disabled(csms, case):
    """TC_D_10_CS (D02.FR.03)."""
    case.send_list("Full", next(_versions), [entry(new_token())])
    case.set("LocalAuthListCtrlr", "Enabled", "false")
    assert case.list_version() == 0


# --------------------------------------------------------------------------------------------
# F01/F02 with AuthorizeRemoteStart: the remote start token takes the same path
# --------------------------------------------------------------------------------------------


def test_remote_start_token_is_validated_like_a_local_one(csms, case):
    """F01.FR.01 with AuthorizeRemoteStart: a cached token starts without Authorize
    (LocalPreAuthorize, C12.FR.02); an unknown one is authorized with the CSMS first and,
    refused, starts nothing."""
    cached, unknown = new_token(), new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.seed_cache(cached, {"status": "Accepted"})
    case.set("AuthCtrlr", "AuthorizeRemoteStart", "true")
    case.authorize_answers({unknown["idToken"]: {"status": "Invalid"}})
    case.plug_in()
    mark = csms.mark()
    assert csms.call(IDENTITY, "RequestStartTransaction", {
        "evseId": 1, "remoteStartId": 71, "idToken": unknown})["status"] == "Accepted"
    assert csms.wait_for("Authorize", identity=IDENTITY, after=mark,
                         timeout=10)["idToken"] == unknown
    settled(csms, IDENTITY)
    assert calls_since(csms, "TransactionEvent", mark) == []
    mark = csms.mark()
    assert csms.call(IDENTITY, "RequestStartTransaction", {
        "evseId": 1, "remoteStartId": 72, "idToken": cached})["status"] == "Accepted"
    started = wait_tx(csms, mark, eventType="Started")
    assert started["triggerReason"] == "RemoteStart" and started["idToken"] == cached
    assert started["transactionInfo"]["remoteStartId"] == 72
    assert calls_since(csms, "Authorize", mark) == []


# --------------------------------------------------------------------------------------------
# The AuthCache process dies: nothing is lost
# --------------------------------------------------------------------------------------------


def test_killed_auth_cache_restarts_with_its_cache_and_loses_no_check(csms, station, case):
    """The Root restarts a killed AuthCache; a token presented meanwhile is still decided by
    the AuthCache (the CsmsSession sends the check again to the new one: no fallback
    Authorize), from the cache the old process committed (C10.FR.02)."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.seed_cache(token, {"status": "Accepted"})
    actors = connect_to_actor_system("multiprocTCPBase", station.admin_port)
    root = actors.createActor("actors.root.Root", globalName="ocpp201-root")
    directory = actors.ask(root, GetDirectory(), 10)
    before = actors.ask(directory.auth_cache, GetAuthCacheStatus(), 10)
    assert isinstance(before, AuthCacheStatus) and before.stats.cache_entries >= 1
    case.plug_in()
    mark = csms.mark()
    os.kill(before.pid, signal.SIGKILL)
    case.present(token)
    started = wait_tx(csms, mark, eventType="Started")
    assert started["idToken"] == token
    assert calls_since(csms, "Authorize", mark) == []
    after = actors.ask(actors.ask(root, GetDirectory(), 10).auth_cache, GetAuthCacheStatus(), 10)
    assert after.pid != before.pid and after.stats.cache_entries == before.stats.cache_entries
    assert actors.ask(root, GetStationHealth(), 10).restarts.get("auth_cache:0") == 1


# --------------------------------------------------------------------------------------------
# Durable: last in the module, the station restarts
# --------------------------------------------------------------------------------------------


def test_tc_c_32_d_07_cache_and_list_survive_a_reboot(csms, station, case):
    """TC_C_32_CS (C10.FR.02) and TC_D_07_CS (D01.FR.10): after a reboot (Reset: every actor
    process starts again) the list keeps its version and a cached token still starts at once
    without Authorize."""
    token = new_token()
    case.set("AuthCtrlr", "LocalPreAuthorize", "true")
    case.seed_cache(token, {"status": "Accepted"})
    version = next(_versions)
    case.send_list("Full", version, [entry(new_token())])
    mark = csms.mark()
    assert csms.call(IDENTITY, "Reset", {"type": "OnIdle"}) == {"status": "Accepted"}
    csms.wait_for("BootNotification", identity=IDENTITY, after=mark, timeout=60)   # Booted
    for evse_id in (1, 2):
        csms.wait_for("StatusNotification", identity=IDENTITY, after=mark, timeout=30,
                      predicate=lambda p, e=evse_id: p["evseId"] == e)
    case.api = api_after_restart(station, restarts=1)
    assert case.list_version() == version                                          # TC_D_07
    mark = csms.mark()
    case.present(token)
    started = wait_tx(csms, mark, eventType="Started")                              # step 2
    assert started["triggerReason"] == "Authorized" and started["idToken"] == token
    case.plug_in()                                                                  # step 4
    case.charge()                                                                   # step 5
    assert calls_since(csms, "Authorize", mark) == []


def api_after_restart(station, restarts: int) -> str:
    """run.py serves the control API anew (on a new free port) after a reset."""
    deadline = time.monotonic() + 30
    while True:
        ports = re.findall(r"control API on http://127\.0\.0\.1:(\d+)/", station.output())
        if len(ports) > restarts:
            return f"http://127.0.0.1:{ports[-1]}/api"
        assert time.monotonic() < deadline, "the control API did not come back"
        time.sleep(0.1)
