"""The OCTT's side of the part 6 cases, for one station: configuration states, manual actions
through the control API, and the waits behind the tool validations.

``test_octt_transactions.py`` grew its own module-level helpers first; the newer OCTT modules
share this class instead, because each runs its own station identity.
"""
from __future__ import annotations

import json
import re
import time

from simulators.csms import CsmsServer
from station.evse_core import SETTINGS_KEYS

from tests.integration.test_station import api_port, http

VALID_TOKEN = {"idToken": "OCTT0001", "type": "ISO14443"}    # <Configured valid_idtoken>
VALID_TOKEN2 = {"idToken": "OCTT0002", "type": "ISO14443"}   # <Configured valid_idtoken2>


def evses_told(csms: CsmsServer, identity: str, evse_id: int = 1) -> None:
    """Wait until the Evse has applied what the CsmsSession forwarded so far.

    SetVariables is answered by the session, which forwards Evse settings to the Evses; a
    manual action right after the answer can reach an Evse first. A triggered MeterValues
    travels the same session -> Evse path behind the settings, so once the CSMS has it the
    Evse applied them.
    """
    mark = csms.mark()
    assert csms.call(identity, "TriggerMessage", {"requestedMessage": "MeterValues",
                                                  "evse": {"id": evse_id}}) == \
        {"status": "Accepted"}
    csms.wait_for("MeterValues", identity=identity, after=mark, timeout=10,
                  predicate=lambda p: p["evseId"] == evse_id)


def settled(csms: CsmsServer, identity: str, evse_id: int = 1, timeout: float = 60) -> None:
    """Barrier: return once every message that what happened so far at ``evse_id`` can still
    cause has reached the CSMS, so a case may then assert that something did *not* come.

    Waiting a fixed time instead passes wrongly on a slow machine and costs that time on a
    fast one. The messages a case asserts absent arise on these paths::

        token  Evse -AuthorizeToken-> CsmsSession -ValidateToken-> AuthCache -TokenVerdict->
               CsmsSession [-Authorize-> CSMS -> CsmsSession -CsmsTokenAnswer-> AuthCache
               -TokenVerdict-> CsmsSession] -TokenAuthorized-> Evse
        event  Evse -TransactionEventReady-> CsmsSession -> durable queue -> CSMS
               (and a CSMS answer -> CsmsSession -> Evse, e.g. an Invalid idTokenInfo)

    A probe of the CsmsSession alone (a GetVariables, a Heartbeat) proves nothing about an
    Evse or the AuthCache: their messages may still be on the way to the session. So a
    *round* walks the same actors in the same order, with three CSMS CALLs in turn:

    1. TriggerMessage MeterValues for the EVSE (:func:`evses_told`): the session forwards it
       to the Evse behind everything it sent that Evse before; the Evse answers behind
       everything it sent the session before (AuthorizeToken, TransactionEventReady); the
       MeterValues leaves through the same durable queue as TransactionEvents, where the
       older message goes first (station/message_queue.py), and through the one-CALL-at-a-
       time FIFO of ocppj/rpc.py, where an Authorize sent earlier goes first.
    2. GetLocalListVersion: the session asks the AuthCache behind every ValidateToken and
       CsmsTokenAnswer it sent it, the AuthCache answers behind their TokenVerdicts, and the
       session has acted on those (sent Authorize, or TokenAuthorized to the Evse) before it
       answers.
    3. Step 1 again: the Evse has now handled any TokenAuthorized, and whatever it sent in
       consequence reaches the CSMS before this MeterValues.

    A path through the CSMS (Authorize, or a TransactionEvent whose answer the Evse acts on)
    leaves the station during a round, and the CSMS's answer may go out after the round's
    next CALL (scripted answers run in a worker thread). So before each round every CALL
    the station sent has been answered on the wire, and rounds repeat until one brings
    nothing from the station but its own triggered MeterValues: then no path is still
    under way. A case must therefore not hold back an answer while it waits here.

    Each arrow is one Thespian actor-to-actor channel, which delivers in send order except
    when a transmit fails and is retried (README, "Actor messages: delivery and order"); in
    that rare case the barrier can pass early, as a fixed wait could. A message the station
    sends only after a timer (a retry interval, a timeout, a clock-aligned instant) is not
    ordered by any barrier; cases asserting those still wait, and say why.
    """
    deadline = time.monotonic() + timeout
    calls = csms.received(None, identity)
    pending = calls[-1:]          # OCPP-J: only the station's latest CALL can be unanswered
    while True:
        for call in pending:
            _wait_answered(csms, identity, call, deadline)
        mark = csms.mark()
        evses_told(csms, identity, evse_id)
        csms.call(identity, "GetLocalListVersion", {})
        evses_told(csms, identity, evse_id)
        pending = [r for r in csms.received(None, identity)
                   if r.seq > mark and not _triggered_meter_values(r.payload, r.action)]
        if not pending:
            return
        assert time.monotonic() < deadline, \
            f"the station did not settle: {[r.action for r in pending]}"


def _triggered_meter_values(payload: dict, action: str | None) -> bool:
    """A MeterValuesRequest sent for a TriggerMessage (context Trigger, F06.FR.06)."""
    return action == "MeterValues" and all(
        value.get("context") == "Trigger"
        for meter_value in payload["meterValue"] for value in meter_value["sampledValue"])


def _wait_answered(csms: CsmsServer, identity: str, call, deadline: float) -> None:
    """Until the CSMS has written its CALLRESULT or CALLERROR to the station's ``call``."""
    while True:
        for frame in csms.frames(identity, "out"):
            if frame.seq > call.seq:
                message = json.loads(frame.text)
                if message[0] in (3, 4) and message[1] == call.message_id:
                    return
        assert time.monotonic() < deadline, f"the CSMS never answered {call.action}"
        time.sleep(0.01)


class Octt:
    """The test tool for ``identity`` on ``csms``; ``station`` is its StationProcess."""

    def __init__(self, csms: CsmsServer, station, identity: str) -> None:
        self.csms = csms
        self.identity = identity
        self.station = station
        self.api = f"http://127.0.0.1:{api_port(station)}/api"

    def api_restarted(self, timeout: float = 60) -> None:
        """After a station reset run.py serves the control API again, on a new port (0 in the
        test config): use the newest one once it is up."""
        old = self.api
        deadline = time.monotonic() + timeout
        while True:
            ports = re.findall(r"control API on http://127\.0\.0\.1:(\d+)/",
                               self.station.output())
            api = f"http://127.0.0.1:{ports[-1]}/api" if ports else old
            if api != old:
                self.api = api
                return
            assert time.monotonic() < deadline, "the control API did not come back"
            time.sleep(0.2)

    # -- CSMS side -------------------------------------------------------------------------

    def call(self, action: str, payload: dict, timeout: float = 10) -> dict:
        return self.csms.call(self.identity, action, payload, timeout)

    def configure(self, component: str, variable: str, value: str,
                  instance: str | None = None) -> str:
        """Part 6 "Configuration State": set a variable (it must be Accepted); returns the
        value it had, to restore it."""
        name = {"name": variable, **({"instance": instance} if instance else {})}
        before = self.call("GetVariables", {"getVariableData": [{
            "component": {"name": component}, "variable": name}]})
        result = self.call("SetVariables", {"setVariableData": [{
            "component": {"name": component}, "variable": name,
            "attributeValue": value}]})["setVariableResult"][0]
        assert result["attributeStatus"] == "Accepted", \
            f"configuration state {component}.{variable}={value} not applied: {result}"
        if f"{component}.{variable}" in SETTINGS_KEYS and instance is None:
            evses_told(self.csms, self.identity)
        return before["getVariableResult"][0].get("attributeValue", "")

    def mark(self) -> int:
        return self.csms.mark()

    def wait(self, action: str, after: int, predicate=None, timeout: float = 15) -> dict:
        return self.csms.wait_for(action, identity=self.identity, after=after, timeout=timeout,
                                  predicate=predicate)

    def settled(self, evse_id: int = 1) -> None:
        """The barrier :func:`settled` for this station."""
        settled(self.csms, self.identity, evse_id)

    def received(self, action: str, after: int = 0) -> list[dict]:
        return [r.payload for r in self.csms.received(action, self.identity) if r.seq > after]

    def wait_tx(self, after: int, timeout: float = 15, **fields) -> dict:
        """The first TransactionEvent after ``after`` whose fields match (chargingState,
        stoppedReason and transactionId are looked up in transactionInfo)."""
        info_keys = {"chargingState", "stoppedReason", "transactionId"}

        def match(p: dict) -> bool:
            return all((p.get("transactionInfo", {}) if k in info_keys else p).get(k) == v
                       for k, v in fields.items())
        return self.wait("TransactionEvent", after, match, timeout)

    def wait_status(self, after: int, status: str, evse_id: int = 1, connector_id: int = 1,
                    timeout: float = 15) -> dict:
        """StatusNotificationRequest with ``status`` and the NotifyEventRequest Delta for
        Connector.AvailabilityState that the tool validations ask for with it."""
        notification = self.wait("StatusNotification", after, lambda p: (
            p["evseId"], p["connectorId"], p["connectorStatus"]) == (
            evse_id, connector_id, status), timeout)

        def event(p: dict) -> bool:
            return any(e["trigger"] == "Delta" and e["actualValue"] == status
                       and e["component"]["name"] == "Connector"
                       and e["component"].get("evse") == {"id": evse_id,
                                                          "connectorId": connector_id}
                       and e["variable"]["name"] == "AvailabilityState"
                       for e in p["eventData"])
        self.wait("NotifyEvent", after, event, timeout)
        return notification

    def seq_continuous(self, transaction_id: str) -> list[dict]:
        """E01.FR.15/16: seqNo from 0, one per event, Started first; returns the events."""
        events = [p for p in self.received("TransactionEvent")
                  if p["transactionInfo"]["transactionId"] == transaction_id]
        assert [e["seqNo"] for e in events] == list(range(len(events))), events
        assert events[0]["eventType"] == "Started"
        return events

    # -- manual actions --------------------------------------------------------------------

    def post(self, path: str, body: dict | None = None, evse_id: int = 1) -> None:
        status, answer = http("POST", f"{self.api}/evses/{evse_id}/{path}",
                              body if body is not None else {})
        assert status == 200, answer

    def view(self, evse_id: int = 1) -> dict:
        return http("GET", f"{self.api}/evses/{evse_id}")[1]

    def plug_in(self, evse_id: int = 1) -> None:
        self.post("plug-in", {"connector_id": 1}, evse_id)

    def plug_out(self, evse_id: int = 1) -> None:
        self.post("plug-out", None, evse_id)

    def present(self, token: dict = VALID_TOKEN, evse_id: int = 1) -> None:
        self.post("token", {"id_token": token["idToken"], "type": token["type"]}, evse_id)

    def ev(self, state: str, evse_id: int = 1) -> None:
        self.post("ev", {"state": state}, evse_id)

    # -- reusable states -------------------------------------------------------------------

    def authorized(self, token: dict = VALID_TOKEN, evse_id: int = 1) -> None:
        """Reusable state Authorized (local): the card, then Authorize for it."""
        mark = self.mark()
        self.present(token, evse_id)
        assert self.wait("Authorize", mark, timeout=10)["idToken"] == token

    def energy_transfer_started(self, evse_id: int = 1) -> str:
        """Reusable state EnergyTransferStarted once authorized: the cable, the EV charges;
        returns the transactionId."""
        mark = self.mark()
        self.plug_in(evse_id)
        self.ev("charging", evse_id)
        event = self.wait("TransactionEvent", mark, lambda p: p["transactionInfo"].get(
            "chargingState") == "Charging")
        return event["transactionInfo"]["transactionId"]

    def back_to_idle(self, evse_id: int = 1, timeout: float = 15) -> None:
        """End whatever runs on the EVSE and wait until the CSMS saw it Available."""
        view = self.view(evse_id)
        if view.get("transaction") is not None:
            self.call("RequestStopTransaction",
                      {"transactionId": view["transaction"]["id"]})
        if view["connectors"][0]["status"] != "Available":
            # Nothing may be plugged in (409 then): the answers do not matter here.
            http("POST", f"{self.api}/evses/{evse_id}/ev", {"state": "suspended"})
            http("POST", f"{self.api}/evses/{evse_id}/plug-out", {})
        deadline = time.monotonic() + timeout
        while True:
            view = self.view(evse_id)
            reports = [p for p in self.received("StatusNotification")
                       if p["evseId"] == evse_id]
            if view.get("transaction") is None and \
                    view["connectors"][0]["status"] == "Available" and \
                    reports and reports[-1]["connectorStatus"] == "Available":
                return
            assert time.monotonic() < deadline, f"EVSE {evse_id} not idle: {view}"
            time.sleep(0.1)
