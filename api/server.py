"""The control API: HTTP/JSON for operators, integrators and tests, over a :class:`StationGateway`.

Theory of operation
-------------------
:class:`ControlApi` runs a standard-library ``ThreadingHTTPServer`` in one background thread;
each connection gets its own handler thread, so a request whose gateway call blocks (an actor
ask) does not hold up the others. The gateway is therefore called from many threads at once
and must be thread-safe (see :mod:`api.gateway`). There is no framework: a dozen routes, JSON in
and out, and pydantic (already a dependency) for request bodies do not justify one.

Every request goes through the same steps, each of which may end it with a JSON error
``{"error": "<reason>"}``:

1. **Route.** The path (query string ignored) is matched against :data:`ROUTES`. No route:
   404. A route exists for the path but not for the method: 405 with ``Allow``. An EVSE id
   that is not a positive decimal integer names no EVSE: 404.
2. **Body** (routes that take one; an empty body means ``{}``). Chunked bodies: 411 (send
   Content-Length). More than :data:`MAX_BODY_BYTES`: 413; the body is never
   buffered (read and dropped up to 1 MiB so the client gets the answer, beyond that not read). A body that is not ``application/json``: 415. Not a JSON object,
   wrong types (strict: ``"1"`` is not an integer, ``1`` is not a boolean), unknown fields,
   values out of range: 400 naming the field.
3. **Gateway.** A :class:`~api.gateway.GatewayError` becomes its ``status`` (400, 403, 404,
   409, 503) with its reason; any other exception is logged with its traceback and answered
   500 ``{"error": "internal error"}``, without details.
4. **Answer.** 200 with the gateway's view, or ``{"ok": true}`` for commands.

Responses carry ``Connection: close``: a connection serves one request, so :meth:`stop`
leaves no idle keep-alive connection (and its thread) behind. A connection that sends
nothing for :data:`REQUEST_TIMEOUT_S` is dropped.

``POST /api/csms/disconnect`` and ``/connect`` are answered 403 unless the server was built
with ``external_websocket_control=True`` (the ``ocpp.EnableExternalWebsocketControl`` key,
EVerest's name for it); the gateway is not even called.

The server binds only the host it is given, by default ``127.0.0.1``. Listening on every
interface needs an explicit ``"0.0.0.0"`` (or ``"::"``); an empty host is refused because
``socketserver`` would silently read it as "all interfaces". The API has no authentication:
whoever reaches the port can plug, unplug and fault EVSEs.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import re
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from ocpp.v201.enums import IdTokenEnumType
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from typing_extensions import TypedDict

from api.gateway import EvseView, GatewayError, StationGateway, StationView

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
"""The largest request body accepted; the biggest valid one is well under 1 KiB."""

_DRAIN_LIMIT_BYTES = 1024 * 1024

REQUEST_TIMEOUT_S = 10.0
"""A client silent this long (while sending its request) is disconnected."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8180


# -- request and response bodies ------------------------------------------------------------------

class _Body(BaseModel):
    """Request bodies: unknown fields are refused (a typo must not pass silently), and parsing
    is strict JSON, so a string is never coerced to a number or a number to a boolean."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EmptyRequest(_Body):
    """No fields; the body may be omitted."""


class PlugInRequest(_Body):
    """``POST /api/evses/{id}/plug-in``."""

    connector_id: int = Field(1, ge=1, le=1_000_000,
                              description="The connector (1..n) the cable goes into.")


class TokenRequest(_Body):
    """``POST /api/evses/{id}/token``: an OCPP IdTokenType presented at the EVSE's reader."""

    id_token: str = Field(max_length=36,  # IdTokenType.idToken is string[36]
                          description="The token's value; empty only for NoAuthorization.")
    type: IdTokenEnumType = Field(IdTokenEnumType.iso14443,
                                  description="OCPP IdTokenEnumType.")

    @model_validator(mode="after")
    def _empty_only_without_authorization(self) -> TokenRequest:
        if not self.id_token and self.type != IdTokenEnumType.no_authorization:
            raise ValueError("id_token may be empty only with type NoAuthorization")
        return self


class EvStateRequest(_Body):
    """``POST /api/evses/{id}/ev``."""

    state: Literal["charging", "suspended"] = Field(
        description="charging: the EV asks for energy; suspended: it stops asking.")


class FaultRequest(_Body):
    """``POST /api/evses/{id}/fault``."""

    active: bool = Field(description="true raises the fault, false clears it.")
    code: str = Field(min_length=1, max_length=50,  # NotifyEvent techCode is string[50]
                      description="A short stable fault code, e.g. OverCurrent.")


class ExternalLimitRequest(_Body):
    """``POST /api/evses/{id}/external-limit`` and ``/api/station/external-limit``."""

    limit: float | None = Field(ge=0, description=(
        "The most the EVSE (or the station) may draw, in ``unit``; null releases the limit."))
    unit: Literal["A", "W"] = Field("A", description="A: current per phase; W: total power.")
    source: Literal["EMS", "Other", "SO"] = Field(
        "EMS", description="OCPP ChargingLimitSourceEnumType of the external system (not CSO).")


class LockFailureRequest(_Body):
    """``POST /api/evses/{id}/lock-failure``."""

    active: bool = Field(description="true: the connector's retention lock jams (it will not "
                                     "engage or release); false: it works again.")
    connector_id: int = Field(1, ge=1, description="The connector whose lock it is.")


class ParkingRequest(_Body):
    """``POST /api/evses/{id}/parking``."""

    occupied: bool = Field(description="true: a vehicle enters the parking bay; false: it "
                                       "leaves (EVSEs with evses.parking_bay_sensor).")


class OkResponse(TypedDict):
    """A command was applied."""

    ok: Literal[True]


class ErrorResponse(TypedDict):
    """Every error: a sentence that says why."""

    error: str


_OK: OkResponse = {"ok": True}


# -- routes ---------------------------------------------------------------------------------------

Handler = Callable[["ControlApi", "int | None", Any], Any]


@dataclass(frozen=True)
class Route:
    """One operation. The same table drives dispatch and the OpenAPI document.

    Attributes:
        method: the HTTP method.
        path: the OpenAPI path template; ``{id}`` is the EVSE id.
        operation_id: the OpenAPI operationId.
        summary: one line for the documentation.
        handler: ``handler(api, evse_id, body)`` returns the JSON answer.
        body: the request model, or ``None`` for a GET.
        response: the type of the 200 answer (a TypedDict), for the documentation.
        errors: the statuses the gateway may cause besides 200, for the documentation (405,
            and 400/411/413/415 for routes with a body, are added by :mod:`api.openapi`).
    """

    method: str
    path: str
    operation_id: str
    summary: str
    handler: Handler
    body: type[_Body] | None
    response: Any
    errors: tuple[int, ...]

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.escape(self.path).replace(r"\{id\}", "(?P<id>[^/]+)") + "$")


def _station(api: ControlApi, evse_id: int | None, body: Any) -> Any:
    return api.gateway.station()


def _evse(api: ControlApi, evse_id: int | None, body: Any) -> Any:
    return api.gateway.evse(evse_id)


def _plug_in(api: ControlApi, evse_id: int | None, body: PlugInRequest) -> Any:
    api.gateway.plug_in(evse_id, body.connector_id)
    return _OK


def _plug_out(api: ControlApi, evse_id: int | None, body: Any) -> Any:
    api.gateway.plug_out(evse_id)
    return _OK


def _token(api: ControlApi, evse_id: int | None, body: TokenRequest) -> Any:
    api.gateway.present_token(evse_id, body.id_token, body.type.value)
    return _OK


def _ev(api: ControlApi, evse_id: int | None, body: EvStateRequest) -> Any:
    api.gateway.set_ev_state(evse_id, body.state)
    return _OK


def _fault(api: ControlApi, evse_id: int | None, body: FaultRequest) -> Any:
    api.gateway.set_fault(evse_id, body.active, body.code)
    return _OK


def _external_limit(api: ControlApi, evse_id: int | None, body: ExternalLimitRequest) -> Any:
    api.gateway.set_external_limit(evse_id or 0, body.limit, body.unit, body.source)
    return _OK


def _lock_failure(api: ControlApi, evse_id: int | None, body: LockFailureRequest) -> Any:
    api.gateway.set_lock_failure(evse_id, body.connector_id, body.active)
    return _OK


def _parking(api: ControlApi, evse_id: int | None, body: ParkingRequest) -> Any:
    api.gateway.set_parking_bay(evse_id, body.occupied)
    return _OK


def _websocket_control_allowed(api: ControlApi) -> None:
    if not api.external_websocket_control:
        raise _HttpError(HTTPStatus.FORBIDDEN,
                         "CSMS connection control is disabled "
                         "(ocpp.EnableExternalWebsocketControl is false)")


def _csms_disconnect(api: ControlApi, evse_id: int | None, body: Any) -> Any:
    _websocket_control_allowed(api)
    api.gateway.csms_disconnect()
    return _OK


def _csms_connect(api: ControlApi, evse_id: int | None, body: Any) -> Any:
    _websocket_control_allowed(api)
    api.gateway.csms_connect()
    return _OK


def _openapi(api: ControlApi, evse_id: int | None, body: Any) -> Any:
    return api.openapi_document


_EVSE_ERRORS = (400, 404, 409, 500, 503)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/station", "getStation",
          "Identity, CSMS connection and boot status, every EVSE.",
          _station, None, StationView, (500, 503)),
    Route("GET", "/api/evses/{id}", "getEvse",
          "One EVSE: connectors, transaction, reservation, applied limit.",
          _evse, None, EvseView, (404, 500, 503)),
    Route("POST", "/api/evses/{id}/plug-in", "plugIn",
          "Plug a cable into a connector of the EVSE and into the EV.",
          _plug_in, PlugInRequest, OkResponse, _EVSE_ERRORS),
    Route("POST", "/api/evses/{id}/plug-out", "plugOut",
          "Pull the cable out of the EVSE.",
          _plug_out, EmptyRequest, OkResponse, _EVSE_ERRORS),
    Route("POST", "/api/evses/{id}/token", "presentToken",
          "Present a token (card) at the EVSE's reader.",
          _token, TokenRequest, OkResponse, _EVSE_ERRORS),
    Route("POST", "/api/evses/{id}/ev", "setEvState",
          "The EV asks for energy (charging) or stops asking (suspended).",
          _ev, EvStateRequest, OkResponse, _EVSE_ERRORS),
    Route("POST", "/api/evses/{id}/fault", "setFault",
          "Raise or clear an EVSE fault.",
          _fault, FaultRequest, OkResponse, _EVSE_ERRORS),
    Route("POST", "/api/evses/{id}/external-limit", "setEvseExternalLimit",
          "Set or release an external charging limit on an EVSE (K11-K13).",
          _external_limit, ExternalLimitRequest, OkResponse, _EVSE_ERRORS),
    Route("POST", "/api/station/external-limit", "setStationExternalLimit",
          "Set or release an external charging limit on the whole station (K12, EVSE 0).",
          _external_limit, ExternalLimitRequest, OkResponse, (400, 409, 500, 503)),
    Route("POST", "/api/evses/{id}/lock-failure", "setLockFailure",
          "Jam a connector's retention lock, or make it work again (G05 lock failure).",
          _lock_failure, LockFailureRequest, OkResponse, _EVSE_ERRORS),
    Route("POST", "/api/evses/{id}/parking", "setParkingBay",
          "A vehicle enters or leaves the EVSE's parking bay (bay sensor fitted).",
          _parking, ParkingRequest, OkResponse, _EVSE_ERRORS),
    Route("POST", "/api/csms/disconnect", "csmsDisconnect",
          "Close the websocket to the CSMS and stay offline "
          "(only with EnableExternalWebsocketControl).",
          _csms_disconnect, EmptyRequest, OkResponse, (403, 409, 500, 503)),
    Route("POST", "/api/csms/connect", "csmsConnect",
          "Connect to the CSMS again (only with EnableExternalWebsocketControl).",
          _csms_connect, EmptyRequest, OkResponse, (403, 409, 500, 503)),
    Route("GET", "/api/openapi.json", "getOpenApi",
          "This API as an OpenAPI 3.1 document.",
          _openapi, None, dict, ()),
)

_COMPILED = tuple((route, route.pattern) for route in ROUTES)
_EVSE_ID = re.compile(r"[1-9][0-9]{0,8}")


# -- the server -----------------------------------------------------------------------------------

class _HttpError(Exception):
    """Ends a request with ``status`` and ``{"error": reason}``."""

    def __init__(self, status: int, reason: str, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = int(status)
        self.reason = reason
        self.headers = headers or {}


class ControlApi:
    """The control API server. Call :meth:`start`, and :meth:`stop` when done.

    Args:
        gateway: the station behind the API; called from several threads at once.
        host: the address to listen on. Never empty; ``"0.0.0.0"`` or ``"::"`` only when the
            API really must be reachable from other machines (it has no authentication).
        port: the TCP port; 0 picks a free one (see :meth:`start`).
        external_websocket_control: ``ocpp.EnableExternalWebsocketControl``; without it the
            ``/api/csms/*`` routes answer 403.

    Raises:
        ValueError: an empty host.
    """

    def __init__(self, gateway: StationGateway, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT, *, external_websocket_control: bool = False) -> None:
        if not host:
            raise ValueError("the control API needs an explicit host to bind "
                             "(127.0.0.1 for this machine only, 0.0.0.0 for all interfaces)")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be within 0..65535, not {port}")
        self.gateway = gateway
        self.host = host
        self.port = port
        self.external_websocket_control = external_websocket_control
        # Imported here: api.openapi reads ROUTES from this module.
        from api.openapi import build_document
        self.openapi_document = build_document(ROUTES)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Bind and serve in a background thread.

        Returns:
            The bound port (the free port chosen when ``port`` was 0).

        Raises:
            OSError: the address cannot be bound (port in use, no such address).
            RuntimeError: already started.
        """
        if self._server is not None:
            raise RuntimeError("the control API is already running")
        server_class = _Server6 if _is_ipv6(self.host) else _Server
        server = server_class((self.host, self.port), _Handler)
        server.api = self
        self._server = server
        self.port = server.server_address[1]
        if not _is_loopback(self.host):
            logger.warning("control API listening on %s:%d: it has no authentication",
                           self.host, self.port)
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"control-api:{self.port}", daemon=True)
        self._thread.start()
        logger.info("control API on http://%s:%d/api/station (OpenAPI: /api/openapi.json)",
                    self.host, self.port)
        return self.port

    def stop(self) -> None:
        """Stop accepting requests and release the port. Idempotent.

        A request already being handled finishes in its own (daemon) thread; its answer may
        still reach its client.
        """
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()          # waits for serve_forever to return
        server.server_close()      # releases the listening socket
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> ControlApi:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False   # a host name: bound as IPv4, like socketserver does


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    # Handler threads must not keep the process alive, and server_close must not wait for a
    # gateway call stuck in one of them.
    daemon_threads = True
    api: ControlApi

    def server_bind(self) -> None:
        # HTTPServer.server_bind also calls socket.getfqdn(host), a reverse DNS lookup that
        # can stall start-up for seconds on a station without working DNS; the name is only
        # used for CGI variables, which this server does not have.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    """One request: route, read the body, call the gateway, answer JSON (see module doc)."""

    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = REQUEST_TIMEOUT_S
    server_version = "ocpp201-station-api"
    _body_read = False   # set by _body; one request per handler (Connection: close)

    def version_string(self) -> str:
        return self.server_version   # not the Python version: no need to advertise it

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST

    # -- steps -------------------------------------------------------------------------------------

    def _handle(self) -> None:
        try:
            route, evse_id = self._route()
            body = self._body(route.body) if route.body is not None else None
            answer = self._call(route, evse_id, body)
            payload = json.dumps(answer, separators=(",", ":"), allow_nan=False).encode()
        except _HttpError as error:
            self._drop_unread_body()
            self._send_json(error.status, {"error": error.reason}, error.headers)
            return
        except Exception:  # noqa: BLE001 - the boundary: log it, answer 500 without details
            logger.exception("control API: %s %s failed", self.command, self.path)
            self._send_json(500, {"error": "internal error"})
            return
        self._send_bytes(200, payload)

    def _route(self) -> tuple[Route, int | None]:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        method = "GET" if self.command == "HEAD" else self.command
        allowed: list[str] = []
        for route, pattern in _COMPILED:
            match = pattern.match(path)
            if match is None:
                continue
            if route.method != method:
                allowed.append(route.method)
                continue
            raw_id = match.groupdict().get("id")
            if raw_id is None:
                return route, None
            if not _EVSE_ID.fullmatch(raw_id):
                raise _HttpError(404, f"unknown EVSE {raw_id!r}: EVSE ids are 1, 2, ...")
            return route, int(raw_id)
        if allowed:
            allow = ", ".join(sorted(set(allowed) | ({"HEAD"} if "GET" in allowed else set())))
            raise _HttpError(405, f"{self.command} is not allowed on {path}; use {allow}",
                             headers={"Allow": allow})
        raise _HttpError(404, f"no such resource: {path}")

    def _body(self, model: type[_Body]) -> _Body:
        self._body_read = True
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise _HttpError(411, "chunked bodies are not supported; send Content-Length")
        raw_length = self.headers.get("Content-Length", "0").strip() or "0"
        if not raw_length.isdigit():
            raise _HttpError(400, "Content-Length must be a decimal number")
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            # Never buffered. A moderately large body is read and dropped so the client gets
            # the answer: closing a socket with unread input sends a TCP reset, which can
            # destroy the answer before the client reads it. Beyond that we just close.
            if length <= _DRAIN_LIMIT_BYTES:
                self._discard(length)
            raise _HttpError(413, f"the body may have at most {MAX_BODY_BYTES} bytes")
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            raise _HttpError(400, "the body is shorter than Content-Length")
        if not raw.strip():
            raw = b"{}"
        else:
            media_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if media_type != "application/json":
                raise _HttpError(415, "the body must be JSON (Content-Type: application/json)")
        try:
            raw.decode("utf-8")   # RFC 8259 §8.1: JSON exchanged between systems is UTF-8
        except UnicodeDecodeError:
            raise _HttpError(400, "the body is not valid UTF-8") from None
        try:
            return model.model_validate_json(raw)
        except ValidationError as error:
            raise _HttpError(400, _reason(error)) from None

    def _drop_unread_body(self) -> None:
        """Before an error answered without looking at the body (404, 405): read and drop
        a small one, so that closing the connection does not reset it (see ``_body``)."""
        if self._body_read:
            return
        raw_length = self.headers.get("Content-Length", "").strip()
        if raw_length.isdigit() and int(raw_length) <= _DRAIN_LIMIT_BYTES:
            self._discard(int(raw_length))

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                return
            length -= len(chunk)

    def _call(self, route: Route, evse_id: int | None, body: Any) -> Any:
        try:
            return route.handler(self.server.api, evse_id, body)
        except GatewayError as error:
            if error.status >= 500 and error.status != 503:
                logger.error("control API: %s %s: %s", self.command, self.path, error.reason)
            raise _HttpError(error.status, error.reason) from None

    # -- output ------------------------------------------------------------------------------------

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(obj, separators=(",", ":")).encode(), headers)

    def _send_bytes(self, status: int, payload: bytes,
                    headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # One request per connection (module docstring); also sets self.close_connection.
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, 501 method, 431 headers) as JSON too."""
        self.log_message("%d %s", code, message or "")
        reason = message or HTTPStatus(code).phrase
        payload = json.dumps({"error": reason}).encode()
        self.close_connection = True
        # A request line too broken to parse leaves the version at HTTP/0.9, for which the
        # base class writes no status line or headers; nobody speaks 0.9, so answer in 1.0.
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base-class name
        # The base class writes to stderr; the station logs through logging.
        logger.debug("control API %s: " + format, self.address_string(), *args)


def _reason(error: ValidationError) -> str:
    """A pydantic error as one sentence: ``"field: what is wrong"`` per problem."""
    parts = []
    for item in error.errors(include_url=False):
        kind, loc, msg = item["type"], item["loc"], item["msg"]
        if kind == "json_invalid":
            return f"the body is not valid JSON ({item.get('ctx', {}).get('error', msg)})"
        if kind in ("model_type", "model_attributes_type", "dict_type") and not loc:
            return "the body must be a JSON object"
        if kind == "extra_forbidden":
            msg = "unknown field"
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        where = ".".join(str(part) for part in loc)
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)
