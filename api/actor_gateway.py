"""The control API's gateway onto the running actor system.

Each call asks the actor concerned through its own private Thespian endpoint
(``ActorSystem.private()``): the HTTP server calls the gateway from many threads, and one
Thespian handle must not ``ask`` from several threads at once. The Directory is fetched from the
Root on every call; it is one small ask and never stale after a restart.
"""
from __future__ import annotations

import logging
import threading

from api.gateway import (Conflict, EvseView, StationView, Unavailable, UnknownEvse)
from messages.energy import ExternalLimitDone, SetExternalLimit
from messages.csms import (ConnectCsms, CsmsControlDone, DisconnectCsms, GetSessionStatus,
                           SessionStatus)
from messages.evse import (EvseStatus, GetEvseStatus, OperatorResult, PlugIn, PlugOut,
                           PresentToken, SetEvState, SetFault, SetLockFailure,
                           SetParkingBay)
from messages.ocpp201 import IdTokenType
from messages.supervision import Directory, GetDirectory

log = logging.getLogger(__name__)

ASK_TIMEOUT_S = 5.0


class ActorGateway:
    def __init__(self, asys, root, *, identity: str, csms_url: str) -> None:
        self._asys = asys
        self._root = root
        self._identity = identity
        self._csms_url = csms_url
        # Creating private contexts touches the shared handle's bookkeeping.
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------

    def _ask(self, address, message, expected: type):
        with self._lock:
            context = self._asys.private()
            endpoint = context.__enter__()
        try:
            answer = endpoint.ask(address, message, ASK_TIMEOUT_S)
        finally:
            with self._lock:
                context.__exit__(None, None, None)
        if not isinstance(answer, expected):
            raise Unavailable(f"the station did not answer {type(message).__name__} "
                              f"within {ASK_TIMEOUT_S:.0f} s")
        return answer

    def _directory(self) -> Directory:
        return self._ask(self._root, GetDirectory(), Directory)

    def _evse_address(self, evse_id: int):
        address = self._directory().evses.get(evse_id)
        if address is None:
            raise UnknownEvse(evse_id)
        return address

    def _operate(self, evse_id: int, message) -> None:
        result = self._ask(self._evse_address(evse_id), message, OperatorResult)
        if not result.ok:
            raise Conflict(result.error or "refused")

    @staticmethod
    def _evse_view(status: EvseStatus) -> EvseView:
        return {
            "id": status.evse_id,
            "connectors": [{"id": c, "status": s} for c, s in sorted(status.connectors.items())],
            "transaction": status.transaction,
            "reservation": status.reservation,
            "applied_limit": status.applied_limit,
            "power_w": status.power_w,
        }

    # -- StationGateway -------------------------------------------------------------------------

    def station(self) -> StationView:
        directory = self._directory()
        session = self._ask(directory.csms_session, GetSessionStatus(), SessionStatus)
        evses = []
        for evse_id in sorted(directory.evses):
            status = self._ask(directory.evses[evse_id], GetEvseStatus(), EvseStatus)
            view = self._evse_view(status)
            evses.append({"id": view["id"], "connectors": view["connectors"],
                          "transaction_id": (status.transaction or {}).get("id")})
        return {"identity": self._identity,
                "csms": {"url": self._csms_url, "connected": session.connected,
                         "registration": session.registration},
                "evses": evses}

    def evse(self, evse_id: int) -> EvseView:
        return self._evse_view(self._ask(self._evse_address(evse_id), GetEvseStatus(),
                                         EvseStatus))

    def plug_in(self, evse_id: int, connector_id: int) -> None:
        self._operate(evse_id, PlugIn(connector_id=connector_id))

    def plug_out(self, evse_id: int) -> None:
        self._operate(evse_id, PlugOut())

    def present_token(self, evse_id: int, id_token: str, token_type: str) -> None:
        # The API's JSON becomes the model here (the server checked type and length).
        self._operate(evse_id, PresentToken(id_token=IdTokenType(id_token=id_token,
                                                                 type=token_type)))

    def set_ev_state(self, evse_id: int, state) -> None:
        self._operate(evse_id, SetEvState(state=state))

    def set_fault(self, evse_id: int, active: bool, code: str) -> None:
        self._operate(evse_id, SetFault(active=active, code=code))

    def set_external_limit(self, evse_id: int, limit: float | None, unit: str,
                           source: str) -> None:
        directory = self._directory()
        if evse_id != 0 and evse_id not in directory.evses:
            raise UnknownEvse(evse_id)
        done = self._ask(directory.csms_session, SetExternalLimit(
            evse_id=evse_id, limit=limit, unit=unit, source=source), ExternalLimitDone)
        if not done.ok:
            raise Conflict(done.error or "refused")

    def set_lock_failure(self, evse_id: int, connector_id: int, active: bool) -> None:
        self._operate(evse_id, SetLockFailure(connector_id=connector_id, active=active))

    def set_parking_bay(self, evse_id: int, occupied: bool) -> None:
        self._operate(evse_id, SetParkingBay(occupied=occupied))

    def csms_disconnect(self) -> None:
        self._ask(self._directory().csms_session, DisconnectCsms(), CsmsControlDone)

    def csms_connect(self) -> None:
        self._ask(self._directory().csms_session, ConnectCsms(), CsmsControlDone)
