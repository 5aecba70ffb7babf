"""The control API (api/): real HTTP on 127.0.0.1 against a fake gateway (issue 3, item 9).

No actors: :class:`FakeGateway` implements the :class:`StationGateway` Protocol in memory and
records every call, so each test checks both the HTTP answer and what reached the station.
"""
import http.client
import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from typing import Any

import jsonschema
import pytest
from pydantic import TypeAdapter

from api import (Conflict, ControlApi, Forbidden, InvalidRequest, StationGateway, Unavailable,
                 UnknownEvse)
from api.gateway import EvseView, StationView
from api.server import MAX_BODY_BYTES, ROUTES


class FakeGateway:
    """An in-memory station with EVSEs 1 and 2 (EVSE 2 has two connectors).

    ``fail[method] = exception`` makes that method raise; ``barrier`` makes every call wait
    for the others (to prove requests run concurrently). Thread-safe, as the Protocol asks.
    """

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.fail: dict[str, BaseException] = {}
        self.barrier: threading.Barrier | None = None
        self.views: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _record(self, name: str, *args: Any) -> None:
        with self._lock:
            self.calls.append((name, *args))
        if self.barrier is not None:
            self.barrier.wait()
        if name in self.fail:
            raise self.fail[name]

    def _known(self, evse_id: int) -> None:
        if evse_id not in (1, 2):
            raise UnknownEvse(evse_id)

    def station(self) -> StationView:
        self._record("station")
        if "station" in self.views:
            return self.views["station"]
        return {
            "identity": "CP001",
            "csms": {"url": "ws://127.0.0.1:9000/CP001", "connected": True,
                     "registration": "Accepted"},
            "evses": [
                {"id": 1, "connectors": [{"id": 1, "status": "Occupied"}],
                 "transaction_id": "tx-1"},
                {"id": 2, "connectors": [{"id": 1, "status": "Available"},
                                         {"id": 2, "status": "Reserved"}],
                 "transaction_id": None},
            ],
        }

    def evse(self, evse_id: int) -> EvseView:
        self._record("evse", evse_id)
        self._known(evse_id)
        if evse_id == 1:
            return {
                "id": 1, "connectors": [{"id": 1, "status": "Occupied"}],
                "transaction": {"id": "tx-1", "seqNo": 3, "chargingState": "Charging",
                                "energy_wh": 1234.5, "power_w": 11000.0},
                "reservation": None,
                "applied_limit": {"current_a": 16.0, "power_w": None, "phases": 3},
                "power_w": 11000.0,
            }
        return {
            "id": 2, "connectors": [{"id": 1, "status": "Reserved"},
                                    {"id": 2, "status": "Reserved"}],
            "transaction": None,
            "reservation": {"id": 7, "id_token": "CARD-7", "expiry": "2030-01-01T00:00:00Z"},
            "applied_limit": None,
            "power_w": 0.0,
        }

    def plug_in(self, evse_id: int, connector_id: int) -> None:
        self._record("plug_in", evse_id, connector_id)
        self._known(evse_id)

    def plug_out(self, evse_id: int) -> None:
        self._record("plug_out", evse_id)
        self._known(evse_id)

    def present_token(self, evse_id: int, id_token: str, token_type: str) -> None:
        self._record("present_token", evse_id, id_token, token_type)
        self._known(evse_id)

    def set_ev_state(self, evse_id: int, state: str) -> None:
        self._record("set_ev_state", evse_id, state)
        self._known(evse_id)

    def set_fault(self, evse_id: int, active: bool, code: str) -> None:
        self._record("set_fault", evse_id, active, code)
        self._known(evse_id)

    def set_external_limit(self, evse_id: int, limit: float | None, unit: str,
                           source: str) -> None:
        self._record("set_external_limit", evse_id, limit, unit, source)
        if evse_id:
            self._known(evse_id)

    def set_parking_bay(self, evse_id: int, occupied: bool) -> None:
        self._record("set_parking_bay", evse_id, occupied)
        self._known(evse_id)

    def set_lock_failure(self, evse_id: int, connector_id: int, active: bool) -> None:
        self._record("set_lock_failure", evse_id, connector_id, active)
        self._known(evse_id)

    def csms_disconnect(self) -> None:
        self._record("csms_disconnect")

    def csms_connect(self) -> None:
        self._record("csms_connect")


# -- fixtures and helpers -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    """One server for the module (start/stop cost a poll interval); each test gets its own
    fake through the ``gateway`` fixture."""
    api = ControlApi(FakeGateway(), "127.0.0.1", 0, external_websocket_control=True)
    api.start()
    yield api
    api.stop()


@pytest.fixture
def gateway(server):
    fake = FakeGateway()
    server.gateway = fake
    server.external_websocket_control = True
    return fake


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, body

    @property
    def json(self) -> Any:
        assert self.headers["Content-Type"] == "application/json"
        return json.loads(self.raw)

    @property
    def error(self) -> str:
        return self.json["error"]


def call(api: ControlApi, method: str, path: str, body: Any = None, *,
         data: bytes | None = None, content_type: str = "application/json") -> Answer:
    """One request with urllib; ``body`` is sent as JSON, ``data`` as is."""
    if body is not None:
        data = json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{api.port}{path}", data=data,
                                     method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def raw_call(api: ControlApi, method: str, path: str, headers: dict[str, str],
             data: bytes = b"") -> Answer:
    """One request with http.client, for what urllib will not send (chunked, wrong lengths)."""
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(data or None)
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        conn.close()


# -- tests ----------------------------------------------------------------------------------------

class TestGateway:
    """The seam: the fake satisfies the Protocol and its views have the documented shapes."""

    def test_the_fake_implements_the_protocol(self):
        assert isinstance(FakeGateway(), StationGateway)

    def test_the_fake_views_have_the_documented_shapes(self):
        fake = FakeGateway()
        TypeAdapter(StationView).validate_python(fake.station(), strict=True)
        for evse_id in (1, 2):
            TypeAdapter(EvseView).validate_python(fake.evse(evse_id), strict=True)

    @pytest.mark.parametrize("error, status", [
        (InvalidRequest("x"), 400), (Forbidden("x"), 403), (UnknownEvse(3), 404),
        (Conflict("x"), 409), (Unavailable("x"), 503)])
    def test_each_error_carries_its_http_status(self, error, status):
        assert error.status == status


class TestReads:
    """GET /api/station and GET /api/evses/{id}."""

    def test_station_returns_the_gateway_view(self, server, gateway):
        answer = call(server, "GET", "/api/station")
        assert answer.status == 200
        assert answer.json == gateway.station()
        assert answer.headers["Cache-Control"] == "no-store"

    def test_evse_returns_transaction_reservation_and_limit(self, server, gateway):
        one = call(server, "GET", "/api/evses/1").json
        assert one["transaction"] == {"id": "tx-1", "seqNo": 3, "chargingState": "Charging",
                                      "energy_wh": 1234.5, "power_w": 11000.0}
        assert one["applied_limit"]["current_a"] == 16.0
        two = call(server, "GET", "/api/evses/2").json
        assert two["reservation"]["id"] == 7 and two["transaction"] is None
        assert gateway.calls == [("evse", 1), ("evse", 2)]

    def test_a_query_string_is_ignored(self, server, gateway):
        assert call(server, "GET", "/api/evses/1?verbose=1").status == 200

    def test_head_answers_like_get_without_a_body(self, server, gateway):
        answer = raw_call(server, "HEAD", "/api/station", {})
        assert answer.status == 200 and answer.raw == b""
        assert int(answer.headers["Content-Length"]) > 0


class TestCommands:
    """The POST routes reach the gateway with the right arguments and answer {"ok": true}."""

    def test_plug_in_defaults_to_connector_1(self, server, gateway):
        answer = call(server, "POST", "/api/evses/1/plug-in", data=b"")
        assert (answer.status, answer.json) == (200, {"ok": True})
        assert gateway.calls == [("plug_in", 1, 1)]

    def test_plug_in_on_a_named_connector(self, server, gateway):
        assert call(server, "POST", "/api/evses/2/plug-in", {"connector_id": 2}).status == 200
        assert gateway.calls == [("plug_in", 2, 2)]

    @pytest.mark.parametrize("data", [None, b"", b"{}", b"  "])
    def test_plug_out_takes_no_body_or_an_empty_object(self, server, gateway, data):
        answer = call(server, "POST", "/api/evses/1/plug-out", data=data)
        assert (answer.status, answer.json) == (200, {"ok": True})
        assert gateway.calls == [("plug_out", 1)]

    def test_token_defaults_to_iso14443(self, server, gateway):
        assert call(server, "POST", "/api/evses/1/token", {"id_token": "04A2B3C4"}).status == 200
        assert gateway.calls == [("present_token", 1, "04A2B3C4", "ISO14443")]

    def test_token_with_a_type(self, server, gateway):
        body = {"id_token": "NL-TNM-012204-5", "type": "eMAID"}
        assert call(server, "POST", "/api/evses/2/token", body).status == 200
        assert gateway.calls == [("present_token", 2, "NL-TNM-012204-5", "eMAID")]

    def test_token_of_exactly_36_characters_is_accepted(self, server, gateway):
        """IdTokenType.idToken is string[36]."""
        assert call(server, "POST", "/api/evses/1/token", {"id_token": "T" * 36}).status == 200

    def test_no_authorization_may_have_an_empty_token(self, server, gateway):
        body = {"id_token": "", "type": "NoAuthorization"}
        assert call(server, "POST", "/api/evses/1/token", body).status == 200
        assert gateway.calls == [("present_token", 1, "", "NoAuthorization")]

    @pytest.mark.parametrize("state", ["charging", "suspended"])
    def test_ev_state(self, server, gateway, state):
        assert call(server, "POST", "/api/evses/1/ev", {"state": state}).status == 200
        assert gateway.calls == [("set_ev_state", 1, state)]

    @pytest.mark.parametrize("active", [True, False])
    def test_fault_raised_and_cleared(self, server, gateway, active):
        body = {"active": active, "code": "OverCurrent"}
        assert call(server, "POST", "/api/evses/2/fault", body).status == 200
        assert gateway.calls == [("set_fault", 2, active, "OverCurrent")]

    def test_external_limit_on_an_evse(self, server, gateway):
        """K11: an energy manager limits EVSE 2; the defaults are A and EMS."""
        assert call(server, "POST", "/api/evses/2/external-limit", {"limit": 16}).status == 200
        body = {"limit": 11000.0, "unit": "W", "source": "SO"}
        assert call(server, "POST", "/api/evses/1/external-limit", body).status == 200
        assert gateway.calls == [("set_external_limit", 2, 16, "A", "EMS"),
                                 ("set_external_limit", 1, 11000.0, "W", "SO")]

    def test_external_limit_on_the_station_and_its_release(self, server, gateway):
        """K12 (EVSE 0) and K13 (null releases)."""
        assert call(server, "POST", "/api/station/external-limit", {"limit": 40}).status == 200
        assert call(server, "POST", "/api/station/external-limit", {"limit": None}).status == 200
        assert gateway.calls == [("set_external_limit", 0, 40, "A", "EMS"),
                                 ("set_external_limit", 0, None, "A", "EMS")]

    @pytest.mark.parametrize("body", [{"limit": -1}, {"limit": 10, "unit": "kW"},
                                      {"limit": 10, "source": "CSO"}, {}])
    def test_external_limit_bad_bodies_are_400(self, server, gateway, body):
        assert call(server, "POST", "/api/evses/1/external-limit", body).status == 400

    @pytest.mark.parametrize("occupied", [True, False])
    def test_parking_bay_entered_and_left(self, server, gateway, occupied):
        answer = call(server, "POST", "/api/evses/1/parking", {"occupied": occupied})
        assert (answer.status, answer.json) == (200, {"ok": True})
        assert gateway.calls == [("set_parking_bay", 1, occupied)]

    def test_lock_failure_jams_and_frees_a_connector_lock(self, server, gateway):
        """G05 (TC_G_20): the simulated retention lock fails to engage."""
        assert call(server, "POST", "/api/evses/1/lock-failure", {"active": True}).status == 200
        assert call(server, "POST", "/api/evses/2/lock-failure",
                    {"active": False, "connector_id": 2}).status == 200
        assert gateway.calls == [("set_lock_failure", 1, 1, True),
                                 ("set_lock_failure", 2, 2, False)]

    @pytest.mark.parametrize("body", [{}, {"active": True, "connector_id": 0}])
    def test_lock_failure_bad_bodies_are_400(self, server, gateway, body):
        assert call(server, "POST", "/api/evses/1/lock-failure", body).status == 400
        assert gateway.calls == []

    def test_parking_bay_needs_a_boolean(self, server, gateway):
        answer = call(server, "POST", "/api/evses/1/parking", data=b'{"occupied": "yes"}')
        assert answer.status == 400 and "occupied" in answer.json["error"]
        assert gateway.calls == []

    @pytest.mark.parametrize("action", ["disconnect", "connect"])
    def test_csms_control_when_enabled(self, server, gateway, action):
        answer = call(server, "POST", f"/api/csms/{action}", data=b"")
        assert (answer.status, answer.json) == (200, {"ok": True})
        assert gateway.calls == [(f"csms_{action}",)]

    def test_content_type_with_charset_is_json(self, server, gateway):
        answer = call(server, "POST", "/api/evses/1/ev", {"state": "charging"},
                      content_type="application/json; charset=utf-8")
        assert answer.status == 200


class TestRoutingErrors:
    """Unknown paths, wrong methods and EVSE ids that name no EVSE."""

    @pytest.mark.parametrize("path", ["/", "/api", "/api/evses", "/api/evses/1/plug-in/x",
                                      "/api/station/", "/api/csms"])
    def test_unknown_path_is_404_json(self, server, gateway, path):
        answer = call(server, "GET", path)
        assert answer.status == 404 and "no such resource" in answer.error
        assert gateway.calls == []

    @pytest.mark.parametrize("raw_id", ["0", "01", "abc", "-1", "1.0", "9999999999"])
    def test_an_id_that_is_not_a_positive_integer_is_404(self, server, gateway, raw_id):
        answer = call(server, "GET", f"/api/evses/{raw_id}")
        assert answer.status == 404 and "unknown EVSE" in answer.error
        assert gateway.calls == []

    def test_an_evse_the_station_does_not_have_is_404(self, server, gateway):
        answer = call(server, "POST", "/api/evses/3/plug-in", {"connector_id": 1})
        assert (answer.status, answer.error) == (404, "unknown EVSE 3")
        answer = call(server, "GET", "/api/evses/3")
        assert (answer.status, answer.error) == (404, "unknown EVSE 3")

    @pytest.mark.parametrize("method, path, allow", [
        ("POST", "/api/station", "GET, HEAD"),
        ("DELETE", "/api/evses/1", "GET, HEAD"),
        ("GET", "/api/evses/1/plug-in", "POST"),
        ("PUT", "/api/csms/connect", "POST"),
        ("POST", "/api/openapi.json", "GET, HEAD"),
    ])
    def test_wrong_method_is_405_with_allow(self, server, gateway, method, path, allow):
        answer = call(server, method, path, data=b"{}" if method != "GET" else None)
        assert answer.status == 405 and answer.headers["Allow"] == allow
        assert method in answer.error
        assert gateway.calls == []

    def test_a_method_http_server_does_not_know_is_json_too(self, server, gateway):
        answer = raw_call(server, "BREW", "/api/station", {})
        assert answer.status == 501 and answer.error


class TestGatewayErrors:
    """Gateway errors become their status with the reason; anything else is a bare 500."""

    @pytest.mark.parametrize("error, status", [
        (InvalidRequest("EVSE 1 has no connector 3"), 400),
        (Forbidden("not today"), 403),
        (Conflict("a plug is already in connector 1"), 409),
        (Unavailable("EVSE 1 did not answer within 5 s"), 503),
    ])
    def test_typed_errors(self, server, gateway, error, status):
        gateway.fail["plug_in"] = error
        answer = call(server, "POST", "/api/evses/1/plug-in", {"connector_id": 1})
        assert (answer.status, answer.json) == (status, {"error": error.reason})

    def test_unavailable_on_a_read(self, server, gateway):
        gateway.fail["station"] = Unavailable("the station did not answer")
        assert call(server, "GET", "/api/station").status == 503

    def test_unexpected_exception_is_500_without_details_and_logged(self, server, gateway,
                                                                    caplog):
        gateway.fail["set_fault"] = RuntimeError("secret internals /etc/passwd")
        with caplog.at_level(logging.ERROR, logger="api.server"):
            answer = call(server, "POST", "/api/evses/1/fault", {"active": True, "code": "X"})
        assert (answer.status, answer.json) == (500, {"error": "internal error"})
        assert "secret" not in answer.raw.decode()
        assert any("secret internals" in (r.exc_text or "") for r in caplog.records)

    def test_a_raw_simulator_value_error_is_a_bug_not_a_conflict(self, server, gateway):
        """The gateway must translate SimulatorInputError to Conflict; the server does not."""
        gateway.fail["plug_in"] = ValueError("a plug is already in")
        assert call(server, "POST", "/api/evses/1/plug-in", data=b"").status == 500

    def test_a_view_that_is_not_json_is_500(self, server, gateway):
        gateway.views["station"] = {"identity": object()}
        assert call(server, "GET", "/api/station").status == 500

    def test_a_view_with_nan_is_500(self, server, gateway):
        gateway.views["station"] = {"energy": float("nan")}
        assert call(server, "GET", "/api/station").status == 500


class TestWebsocketControl:
    """/api/csms/* only with EnableExternalWebsocketControl."""

    @pytest.mark.parametrize("action", ["disconnect", "connect"])
    def test_403_when_disabled_and_the_gateway_is_not_called(self, server, gateway, action):
        server.external_websocket_control = False
        answer = call(server, "POST", f"/api/csms/{action}", data=b"")
        assert answer.status == 403 and "EnableExternalWebsocketControl" in answer.error
        assert gateway.calls == []

    def test_disabled_by_default(self):
        fake = FakeGateway()
        with ControlApi(fake, port=0) as api:
            assert call(api, "POST", "/api/csms/disconnect", data=b"").status == 403
        assert fake.calls == []


class TestBodies:
    """Request bodies: JSON objects of the right types, nothing else."""

    @pytest.mark.parametrize("path, data, reason", [
        ("/api/evses/1/plug-in", b"{bad", "not valid JSON"),
        ("/api/evses/1/plug-in", b'{"connector_id": 1} x', "not valid JSON"),
        ("/api/evses/1/plug-in", b"[1]", "must be a JSON object"),
        ("/api/evses/1/plug-in", b"null", "must be a JSON object"),
        ("/api/evses/1/plug-in", b"[" * 5000, "not valid JSON"),
        ("/api/evses/1/plug-in", b"\xff\xfe{}", "not valid UTF-8"),
        ("/api/evses/1/plug-in", b'{"connector_id": "1"}', "connector_id"),
        ("/api/evses/1/plug-in", b'{"connector_id": true}', "connector_id"),
        ("/api/evses/1/plug-in", b'{"connector_id": 1.5}', "connector_id"),
        ("/api/evses/1/plug-in", b'{"connector_id": 0}', "connector_id"),
        ("/api/evses/1/plug-in", b'{"connectorId": 1}', "connectorId: unknown field"),
        ("/api/evses/1/plug-out", b'{"force": true}', "force: unknown field"),
        ("/api/evses/1/token", b"{}", "id_token: Field required"),
        ("/api/evses/1/token", b'{"id_token": 123}', "id_token"),
        ("/api/evses/1/token", b'{"id_token": "' + b"T" * 37 + b'"}', "at most 36"),
        ("/api/evses/1/token", b'{"id_token": "A", "type": "Magic"}', "type"),
        ("/api/evses/1/token", b'{"id_token": "A", "type": "iso14443"}', "type"),
        ("/api/evses/1/token", b'{"id_token": ""}', "NoAuthorization"),
        ("/api/evses/1/ev", b'{"state": "flying"}', "state"),
        ("/api/evses/1/ev", b'{"state": "Charging"}', "state"),
        ("/api/evses/1/ev", b"{}", "state: Field required"),
        ("/api/evses/1/fault", b'{"active": 1, "code": "X"}', "active"),
        ("/api/evses/1/fault", b'{"active": "true", "code": "X"}', "active"),
        ("/api/evses/1/fault", b'{"active": true}', "code: Field required"),
        ("/api/evses/1/fault", b'{"active": true, "code": ""}', "code"),
        ("/api/evses/1/fault", b'{"active": true, "code": "' + b"C" * 51 + b'"}', "code"),
        ("/api/csms/connect", b'{"now": 1}', "now: unknown field"),
    ])
    def test_bad_bodies_are_400_with_a_reason(self, server, gateway, path, data, reason):
        answer = call(server, "POST", path, data=data)
        assert answer.status == 400, answer.raw
        assert reason in answer.error
        assert gateway.calls == []

    def test_a_body_that_is_not_json_is_415(self, server, gateway):
        answer = call(server, "POST", "/api/evses/1/ev", data=b"state=charging",
                      content_type="application/x-www-form-urlencoded")
        assert answer.status == 415 and "application/json" in answer.error
        assert gateway.calls == []

    def test_a_json_body_without_content_type_is_415(self, server, gateway):
        answer = raw_call(server, "POST", "/api/evses/1/ev", {"Content-Length": "2"}, b"{}")
        assert answer.status == 415

    def test_a_body_over_the_limit_is_413(self, server, gateway):
        data = b'{"state": "charging", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
        answer = call(server, "POST", "/api/evses/1/ev", data=data)
        assert answer.status == 413 and str(MAX_BODY_BYTES) in answer.error
        assert gateway.calls == []

    def test_a_huge_content_length_is_413_without_reading(self, server, gateway):
        answer = raw_call(server, "POST", "/api/evses/1/ev",
                          {"Content-Type": "application/json",
                           "Content-Length": str(10 ** 12)})
        assert answer.status == 413

    def test_chunked_bodies_are_411(self, server, gateway):
        answer = raw_call(server, "POST", "/api/evses/1/ev",
                          {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        assert answer.status == 411

    def test_a_malformed_content_length_is_400(self, server, gateway):
        answer = raw_call(server, "POST", "/api/evses/1/ev",
                          {"Content-Type": "application/json", "Content-Length": "-1"})
        assert answer.status == 400 and "Content-Length" in answer.error

    def test_a_body_shorter_than_its_content_length_is_400(self, server, gateway):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"POST /api/evses/1/ev HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{}")
            sock.shutdown(socket.SHUT_WR)
            reply = b"".join(iter(lambda: sock.recv(4096), b""))
        assert reply.startswith(b"HTTP/1.1 400") and b"shorter than Content-Length" in reply


class TestOpenApi:
    """GET /api/openapi.json documents every route, generated from the route table."""

    @pytest.fixture
    def document(self, server, gateway):
        answer = call(server, "GET", "/api/openapi.json")
        assert answer.status == 200
        return answer.json

    def test_it_is_openapi_3_1(self, document):
        assert document["openapi"] == "3.1.0"
        assert document["info"]["title"] and document["info"]["version"]

    def test_it_lists_exactly_the_routes(self, document):
        documented = {(method.upper(), path) for path, item in document["paths"].items()
                      for method in item}
        assert documented == {(route.method, route.path) for route in ROUTES}
        assert documented >= {
            ("GET", "/api/station"), ("GET", "/api/evses/{id}"),
            ("POST", "/api/evses/{id}/plug-in"), ("POST", "/api/evses/{id}/plug-out"),
            ("POST", "/api/evses/{id}/token"), ("POST", "/api/evses/{id}/ev"),
            ("POST", "/api/evses/{id}/fault"), ("POST", "/api/csms/disconnect"),
            ("POST", "/api/csms/connect"), ("GET", "/api/openapi.json")}

    def test_every_operation_documents_its_answers(self, document):
        ids = set()
        for path, item in document["paths"].items():
            for method, operation in item.items():
                ids.add(operation["operationId"])
                assert "200" in operation["responses"] and "405" in operation["responses"]
                assert ("{id}" in path) == ("parameters" in operation)
                if method == "post":
                    assert {"400", "413", "415"} <= operation["responses"].keys()
                    assert "requestBody" in operation
        assert len(ids) == len(ROUTES)
        csms = document["paths"]["/api/csms/connect"]["post"]
        assert "403" in csms["responses"]
        assert document["paths"]["/api/evses/{id}/token"]["post"]["requestBody"]["required"]
        assert not document["paths"]["/api/evses/{id}/plug-in"]["post"]["requestBody"][
            "required"]

    def test_schemas_are_valid_json_schema_and_every_ref_resolves(self, document):
        schemas = document["components"]["schemas"]
        for schema in schemas.values():
            jsonschema.Draft202012Validator.check_schema(schema)
        refs = set()

        def walk(node):
            if isinstance(node, dict):
                if "$ref" in node:
                    refs.add(node["$ref"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
        walk(document)
        assert refs and all(ref.removeprefix("#/components/schemas/") in schemas
                            for ref in refs)

    def test_token_schema_carries_the_ocpp_limits(self, document):
        schemas = document["components"]["schemas"]
        token = schemas["TokenRequest"]["properties"]
        assert token["id_token"]["maxLength"] == 36
        assert "ISO14443" in schemas["IdTokenEnumType"]["enum"]

    @pytest.mark.parametrize("path, schema", [("/api/station", "StationView"),
                                              ("/api/evses/1", "EvseView"),
                                              ("/api/evses/2", "EvseView")])
    def test_answers_validate_against_the_documented_schemas(self, server, document, path,
                                                             schema):
        root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
        jsonschema.validate(call(server, "GET", path).json, root,
                            cls=jsonschema.Draft202012Validator)

    def test_errors_validate_against_the_error_schema(self, server, document):
        root = {"$ref": "#/components/schemas/ErrorResponse",
                "components": document["components"]}
        jsonschema.validate(call(server, "GET", "/nope").json, root)


class TestServer:
    """Binding, threads and shutdown."""

    def test_requests_are_handled_concurrently(self, server, gateway):
        """Eight requests meet at a barrier inside the gateway: served one at a time, the
        barrier would break after its timeout and every request would answer 500."""
        count = 8
        gateway.barrier = threading.Barrier(count, timeout=5)
        statuses: list[int] = []
        lock = threading.Lock()

        def one(evse_id: int) -> None:
            status = call(server, "GET", f"/api/evses/{evse_id}").status
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=one, args=(1 + i % 2,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert statuses == [200] * count

    def test_port_0_binds_a_free_port_and_stop_releases_it(self):
        api = ControlApi(FakeGateway(), "127.0.0.1", 0)
        port = api.start()
        assert port > 0 and api.port == port
        assert call(api, "GET", "/api/station").status == 200
        api.stop()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        again = ControlApi(FakeGateway(), "127.0.0.1", port)
        assert again.start() == port
        again.stop()

    def test_stop_is_idempotent_and_start_twice_is_refused(self):
        api = ControlApi(FakeGateway(), port=0)
        api.start()
        with pytest.raises(RuntimeError):
            api.start()
        api.stop()
        api.stop()

    def test_a_busy_port_fails_start(self, server):
        with pytest.raises(OSError):
            ControlApi(FakeGateway(), "127.0.0.1", server.port).start()

    def test_the_default_host_is_loopback(self):
        api = ControlApi(FakeGateway())
        assert (api.host, api.port) == ("127.0.0.1", 8180)

    @pytest.mark.parametrize("host", ["", None])
    def test_an_empty_host_is_refused(self, host):
        with pytest.raises(ValueError, match="explicit host"):
            ControlApi(FakeGateway(), host, 0)

    def test_an_out_of_range_port_is_refused(self):
        with pytest.raises(ValueError):
            ControlApi(FakeGateway(), "127.0.0.1", 70000)

    def test_ipv6_loopback(self):
        if not socket.has_ipv6:
            pytest.skip("no IPv6")
        api = ControlApi(FakeGateway(), "::1", 0)
        try:
            port = api.start()
        except OSError:
            pytest.skip("::1 is not configured")
        try:
            conn = http.client.HTTPConnection("::1", port, timeout=5)
            conn.request("GET", "/api/station")
            assert conn.getresponse().status == 200
            conn.close()
        finally:
            api.stop()

    def test_every_answer_closes_the_connection(self, server, gateway):
        answer = call(server, "GET", "/api/station")
        assert answer.headers["Connection"] == "close"

    def test_a_garbage_request_line_is_400_json(self, server, gateway):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            reply = b"".join(iter(lambda: sock.recv(4096), b""))
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.split()[1] == b"400" and b"application/json" in head
        assert "error" in json.loads(body)

    @pytest.mark.parametrize("request_head, status", [
        (b"GET /api/station HTTP/1.1\r\n" + b"X-A: b\r\n" * 120 + b"\r\n", b"431"),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"414"),
    ])
    def test_http_server_limits_answer_json(self, server, gateway, request_head, status):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(request_head)
            reply = b"".join(iter(lambda: sock.recv(4096), b""))
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.split()[1] == status and "error" in json.loads(body)
        assert gateway.calls == []
