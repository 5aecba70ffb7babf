"""Embedded / test CSMS: a small but real OCPP 2.0.1 CSMS over OCPP-J.

Theory of operation
-------------------
`CsmsServer` is a websocket *server* (the CSMS side of OCPP-J, part 4 §3) built
on the ``websockets`` asyncio API. The asyncio loop runs in one background
daemon thread; every public method is blocking and thread-safe, so a test (or
the station's integration harness) drives it from ordinary threads:

    csms = CsmsServer(log=lines.append)
    port = csms.start()                        # listening on 127.0.0.1:port
    boot = csms.wait_for("BootNotification", identity="CS001")
    csms.call("CS001", "GetVariables", {...})  # CSMS -> CS CALL, blocks for the answer
    csms.stop()

Handshake (part 4 §3.1, §3.2; part 2 A00 security profile 1)
    The identity is the last, percent-decoded segment of the URL path. When
    ``passwords`` is given, HTTP Basic auth is required with username ==
    identity; a missing or wrong credential gets 401 and an identity without a
    password entry gets 404 ("CSMS does not recognize the identifier", §3.2).
    The subprotocol must be ``ocpp2.0.1``: if the station does not offer it,
    the handshake completes *without* a Sec-WebSocket-Protocol header and the
    connection is closed at once (1002), exactly as §3.2 prescribes. Only a
    connection that passes all of this counts in `connection_count`. A second
    connection for the same identity replaces the first (the first is closed).

Frames from the station
    Every text frame is stored raw (`frames`, `wait_raw`) and then parsed:
    - CALL: checked (known action, CS->CSMS direction, JSON schema of
      ``<Action>Request``, boot registration state) and recorded as a
      `Received` of kind ``"call"``; a failed check is answered with the
      matching CALLERROR and recorded with ``violation`` set. A valid CALL goes
      to the handler set with `set_handler` or to `default_answer`.
    - CALLRESULT / CALLERROR: matched by message id to the outstanding CALL of
      `call` (or to a CALL sent raw with `send_raw`), the result validated
      against ``<Action>Response``, and recorded (kind ``"result"`` /
      ``"error"``).
    - Anything else: recorded with kind ``"malformed"`` and answered with a
      CALLERROR when part 4 asks for one (§4.1.3, §4.2.3, §4.4).

Frames to the station
    `call` keeps at most one CALL outstanding per connection (part 4 §4.1.1);
    further calls wait, in order, on a per-connection lock. `send_raw` bypasses
    all of that on purpose so tests can send malformed frames.

Registration state (B02.FR.09, B03.FR.07)
    The CSMS remembers, per identity and for its own lifetime, the status of
    the last BootNotificationResponse it sent. While that is ``Rejected``,
    every CALL other than BootNotification is answered with SecurityError.
    While ``Pending`` the same holds, except for messages the CSMS itself
    asked for: a TriggerMessage sent by `call` allows its requested message,
    a GetBaseReport / GetReport allows NotifyReport. An identity that never
    booted here is not restricted (a station that reconnects after a CSMS
    restart is not required to boot again). `call` itself is never restricted,
    so tests can check the station side of B03.FR.08.

Validation uses the JSON schemas shipped in ``ocpp/v201/schemas`` directly
(not ``ocppj.schemas``), so this simulator is an independent oracle for the
station's own framing code; the ``ocpp`` package's ChargePoint is not used.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import collections
import concurrent.futures
import copy
import dataclasses
import datetime
import functools
import hmac
import http
import importlib.resources
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from typing import Any, Callable

import jsonschema
from jsonschema.exceptions import best_match
from ocpp.v201.enums import Action, MessageTriggerEnumType
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.headers import build_www_authenticate_basic
from websockets.http11 import Request, Response

__all__ = [
    "ALL_ACTIONS",
    "CS_TO_CSMS_ACTIONS",
    "CSMS_TO_CS_ACTIONS",
    "NO_REPLY",
    "CallErrorReply",
    "CallErrorResult",
    "CsmsServer",
    "Frame",
    "PayloadViolation",
    "Received",
    "main",
]

SUBPROTOCOL = "ocpp2.0.1"

#: Every OCPP 2.0.1 action name.
ALL_ACTIONS: frozenset[str] = frozenset(a.value for a in Action)

#: Actions a Charging Station sends to the CSMS (part 2 message list).
CS_TO_CSMS_ACTIONS: frozenset[str] = frozenset({
    "Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer",
    "FirmwareStatusNotification", "Get15118EVCertificate", "GetCertificateStatus",
    "Heartbeat", "LogStatusNotification", "MeterValues", "NotifyChargingLimit",
    "NotifyCustomerInformation", "NotifyDisplayMessages", "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport", "NotifyReport",
    "PublishFirmwareStatusNotification", "ReportChargingProfiles",
    "ReservationStatusUpdate", "SecurityEventNotification", "SignCertificate",
    "StatusNotification", "TransactionEvent",
})

#: Actions the CSMS sends to a Charging Station (DataTransfer goes both ways).
CSMS_TO_CS_ACTIONS: frozenset[str] = (ALL_ACTIONS - CS_TO_CSMS_ACTIONS) | {"DataTransfer"}

# B02.FR.09: while Pending, a station may send what the CSMS asked for. The
# TriggerMessage enum names the message, not always the action.
_TRIGGERED_ACTION = {
    MessageTriggerEnumType.sign_charging_station_certificate.value: "SignCertificate",
    MessageTriggerEnumType.sign_v2g_certificate.value: "SignCertificate",
    MessageTriggerEnumType.sign_combined_certificate.value: "SignCertificate",
}
_REPORT_REQUESTS = {"GetBaseReport": "NotifyReport", "GetReport": "NotifyReport"}

_CALL, _CALLRESULT, _CALLERROR = 2, 3, 4
_MAX_MESSAGE_ID = 36          # part 4 §4.1.4: string[36]
_MAX_DESCRIPTION = 255        # part 4 §4.2.3: ErrorDescription string[255]
_MAX_IDENTITY = 48            # part 4 §3.1.1
_HISTORY = 50_000             # records kept; bounds memory when run alone for days


class NoReply:
    """Type of `NO_REPLY`; a handler returns it to leave a CALL unanswered."""

    _instance: NoReply | None = None

    def __new__(cls) -> NoReply:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_REPLY"


#: Handler return value: send nothing (lets tests exercise the station's
#: MessageTimeout and retry logic, e.g. TC_E_50_CS).
NO_REPLY = NoReply()


@dataclasses.dataclass(frozen=True)
class CallErrorReply:
    """Handler return value that answers the CALL with a CALLERROR.

    Attributes:
        code: An OCPP-J error code (part 4 §4.3), e.g. ``"InternalError"``.
        description: ErrorDescription; cut to 255 characters when sent.
        details: ErrorDetails object (``{}`` when None).
    """

    code: str
    description: str = ""
    details: dict | None = None


class CallErrorResult(Exception):
    """The station answered a `CsmsServer.call` with a CALLERROR.

    Attributes:
        code: the station's errorCode.
        description: the station's errorDescription.
        details: the station's errorDetails.
    """

    def __init__(self, code: str, description: str = "", details: dict | None = None):
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.details = details if details is not None else {}


class PayloadViolation(Exception):
    """The station's CALLRESULT broke the ``<Action>Response`` schema.

    Attributes:
        code: the error code the violation maps to (e.g. ``"FormatViolation"``).
        description: which rule failed, and where.
        payload: the payload as received.
    """

    def __init__(self, code: str, description: str, payload: Any):
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.payload = payload


@dataclasses.dataclass(frozen=True)
class Received:
    """One parsed message from a station.

    Attributes:
        identity: station identity (from the connection URL).
        action: the CALL's action; for a result/error, the action of the CALL it
            answers; None when unknown.
        message_id: the frame's message id (``"-1"`` when unreadable).
        payload: CALL/CALLRESULT payload; for kind ``"error"`` a dict with
            ``errorCode``, ``errorDescription``, ``errorDetails``; None for
            kind ``"malformed"``.
        timestamp: ``time.time()`` at receipt.
        kind: ``"call"``, ``"result"``, ``"error"`` or ``"malformed"``.
        violation: ``"<ErrorCode>: <why>"`` when the frame broke part 4, the
            schema or the registration rules; None when it was fine.
        seq: position in the server-wide record (compare with `CsmsServer.mark`).
    """

    identity: str
    action: str | None
    message_id: str
    payload: Any
    timestamp: float
    kind: str = "call"
    violation: str | None = None
    seq: int = 0


@dataclasses.dataclass(frozen=True)
class Frame:
    """One raw websocket frame, as sent or received.

    Attributes:
        identity: station identity.
        direction: ``"in"`` (station -> CSMS) or ``"out"`` (CSMS -> station).
        text: the frame text (binary frames are decoded with replacement).
        timestamp: ``time.time()``.
        seq: position in the server-wide record.
    """

    identity: str
    direction: str
    text: str
    timestamp: float
    seq: int


# --------------------------------------------------------------------------
# Schema validation (own, independent of ocppj.schemas; see module docstring)

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@_FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    # jsonschema only checks date-time when rfc3339-validator is installed; a
    # CSMS has to reject "yesterday" in a timestamp either way.
    if not isinstance(value, str):
        return True  # the "type" keyword reports this one
    m = _RFC3339.match(value)
    if m is None:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    datetime.datetime(year, month, day, hour, minute, min(second, 59))  # leap second ok
    return True


# Schema keyword -> OCPP-J error code (part 4 §4.3 table). Anything not listed
# is an out-of-range value: PropertyConstraintViolation.
_CODE_BY_KEYWORD = {
    "additionalProperties": "FormatViolation",
    "required": "OccurrenceConstraintViolation",
    "minItems": "OccurrenceConstraintViolation",
    "maxItems": "OccurrenceConstraintViolation",
    "type": "TypeConstraintViolation",
    "format": "TypeConstraintViolation",
    "maxLength": "TypeConstraintViolation",   # string[N] is the datatype
    "minLength": "TypeConstraintViolation",
}


@functools.cache
def _validator(schema_name: str) -> Any:
    path = importlib.resources.files("ocpp.v201") / "schemas" / f"{schema_name}.json"
    schema = json.loads(path.read_text(encoding="utf-8-sig"))  # the files carry a BOM
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=_FORMAT_CHECKER)


def schema_violation(action: str, payload: Any, *, response: bool) -> tuple[str, str] | None:
    """Check a payload against the OCPP 2.0.1 schema of ``action``.

    Args:
        action: a member of `ALL_ACTIONS`.
        payload: the decoded JSON payload.
        response: check ``<Action>Response`` instead of ``<Action>Request``.

    Returns:
        None when valid, else ``(error_code, description)``.
    """
    if not isinstance(payload, dict):
        # part 4 §4.1.5: the payload is always a JSON object.
        return "FormatViolation", f"payload must be a JSON object, got {type(payload).__name__}"
    validator = _validator(action + ("Response" if response else "Request"))
    error = best_match(validator.iter_errors(payload))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(payload)"
    code = _CODE_BY_KEYWORD.get(str(error.validator), "PropertyConstraintViolation")
    return code, f"{where}: {error.message}"


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _print_line(line: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
    print(f"{stamp} {line}", flush=True)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Connection:
    """Loop-thread state of one accepted websocket."""

    def __init__(self, identity: str, ws: ServerConnection):
        self.identity = identity
        self.ws = ws
        self.call_lock = asyncio.Lock()        # part 4 §4.1.1: one outstanding CALL
        self.pending: dict[str, tuple[str, asyncio.Future]] = {}
        self.raw_calls: dict[str, str] = {}    # id -> action of CALLs sent by send_raw
        self.timed_out: dict[str, str] = {}    # id -> action; a late answer is no violation
        self.done = asyncio.Event()


class CsmsServer:
    """A small OCPP 2.0.1 CSMS on its own asyncio thread (see module docstring).

    Args:
        host: address to bind; only this address is bound (default loopback).
        port: TCP port; 0 picks a free one (see `start`).
        passwords: identity -> BasicAuthPassword; when given, security profile 1
            (HTTP Basic auth, username == identity) is required.
        boot_status: ``status`` of the default BootNotificationResponse.
        heartbeat_interval: ``interval`` of the default BootNotificationResponse.
        log: called with one line per frame and event; default prints to stdout.
        clock: returns the CSMS's current time (``currentTime`` fields);
            default: the system clock in UTC.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 passwords: dict[str, str] | None = None,
                 boot_status: str = "Accepted", heartbeat_interval: int = 300,
                 log: Callable[[str], None] | None = None,
                 clock: Callable[[], datetime.datetime] | None = None,
                 min_wait_s: float = 0.0):
        if not host:
            raise ValueError("host must name one address; an empty host binds every interface")
        if boot_status not in ("Accepted", "Pending", "Rejected"):
            raise ValueError(f"boot_status must be Accepted, Pending or Rejected, not {boot_status!r}")
        self.host = host
        self._requested_port = port
        self._passwords = dict(passwords) if passwords is not None else None
        self.boot_status = boot_status
        self.heartbeat_interval = heartbeat_interval
        self._log = log if log is not None else _print_line
        self._clock = clock or _utc_now
        # The shortest any wait_for/wait_raw/call waits, whatever timeout the caller gave:
        # integration tests set it above Thespian's 35 s transmit retry (see README, "Known
        # problems"), so a message held back by the actor transport is late, not failed.
        self.min_wait_s = min_wait_s

        self._cond = threading.Condition(threading.RLock())
        self._records: collections.deque[Received] = collections.deque(maxlen=_HISTORY)
        self._frames: collections.deque[Frame] = collections.deque(maxlen=_HISTORY)
        self._seq = 0
        self._connections: dict[str, _Connection] = {}
        self._connection_counts: dict[str, int] = collections.Counter()
        self._handlers: dict[str, Callable[[str, dict], Any]] = {}
        self._registration: dict[str, str] = {}            # identity -> last boot status sent
        self._allowed_while_pending: dict[str, set[str]] = {}

        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> int:
        """Bind and start serving in a background thread.

        May be called again after `stop` (a "CSMS restart" for reconnect
        tests): it binds the port it had before, and keeps the records,
        connection counts and registration states.

        Returns:
            The bound port.

        Raises:
            OSError: the address could not be bound.
            RuntimeError: already started.
        """
        if self._thread is not None:
            raise RuntimeError("CsmsServer already started")
        if self._port is not None:
            self._requested_port = self._port   # restart: stations keep their URL
        self._ready.clear()
        self._startup_error = None
        # User handlers may block or call back into call(); they run here, off the loop.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="csms-handler")
        self._thread = threading.Thread(target=self._run, name="csms-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            self._executor.shutdown(wait=True)
            self._executor = None
            raise self._startup_error
        assert self._port is not None
        return self._port

    def stop(self) -> None:
        """Close every connection (1001), stop the loop and join its thread.

        Safe to call twice. Blocks until user handlers still running return.
        """
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive() and self._stop_event is not None:
            loop.call_soon_threadsafe(self._stop_event.set)
        thread.join()
        self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._log("csms stopped")

    def __enter__(self) -> CsmsServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int | None:
        """The bound port once `start` returned, else None."""
        return self._port

    @property
    def url_base(self) -> str:
        """``ws://HOST:PORT``; a station connects to ``url_base + "/" + identity``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self._port}"

    # ------------------------------------------------------------------ configuration

    def set_handler(self, action: str, fn: Callable[[str, dict], Any] | None) -> None:
        """Override the answer to a CS->CSMS action (None restores the default).

        ``fn(identity, payload)`` runs in a worker thread (it may block or call
        `call`) and returns the CALLRESULT payload, a `CallErrorReply`, or
        `NO_REPLY`. It is only called for CALLs that passed validation. An
        exception becomes a CALLERROR InternalError without details. Its answer
        is sent as is, so tests can send schema-invalid responses; a schema
        violation in it is only logged.
        """
        with self._cond:
            if fn is None:
                self._handlers.pop(action, None)
            else:
                self._handlers[action] = fn

    def default_answer(self, identity: str, action: str, payload: dict) -> dict:
        """The CALLRESULT payload this CSMS sends when no handler is set.

        Handlers may call this to tweak the default. Every answer is valid
        against ``<Action>Response``.

        Raises:
            KeyError: ``action`` is not a CS->CSMS action.
        """
        now = _iso(self._clock())
        if action == "BootNotification":
            return {"currentTime": now, "interval": self.heartbeat_interval,
                    "status": self.boot_status}
        if action == "Heartbeat":
            return {"currentTime": now}
        if action == "Authorize":
            return {"idTokenInfo": {"status": "Accepted"}}
        if action == "TransactionEvent":
            # E01.FR.12: an idToken in the request gets its authorization status.
            return {"idTokenInfo": {"status": "Accepted"}} if "idToken" in payload else {}
        if action == "DataTransfer":
            return {"status": "UnknownVendorId"}          # P01.FR.05: no vendor extensions here
        if action in ("NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "SignCertificate"):
            return {"status": "Accepted"}
        if action == "Get15118EVCertificate":
            return {"status": "Failed", "exiResponse": ""}  # no V2G PKI behind this CSMS
        if action == "GetCertificateStatus":
            return {"status": "Failed"}                     # no OCSP responder either
        if action in CS_TO_CSMS_ACTIONS:
            return {}  # the remaining responses have no required field
        raise KeyError(action)

    # ------------------------------------------------------------------ inspection

    def mark(self) -> int:
        """A position in the record; pass it as ``after=`` to only see newer things."""
        with self._cond:
            return self._seq

    def received(self, action: str | None = None, identity: str | None = None, *,
                 kind: str | None = "call") -> list[Received]:
        """Copies of the parsed messages received so far, oldest first.

        Args:
            action: only this action.
            identity: only this station.
            kind: ``"call"`` (default), ``"result"``, ``"error"``, ``"malformed"``
                or None for all.
        """
        with self._cond:
            hits = [r for r in self._records
                    if (action is None or r.action == action)
                    and (identity is None or r.identity == identity)
                    and (kind is None or r.kind == kind)]
            return [dataclasses.replace(r, payload=copy.deepcopy(r.payload)) for r in hits]

    def violations(self, identity: str | None = None) -> list[Received]:
        """Copies of every received message that broke a rule (``violation`` set)."""
        return [r for r in self.received(identity=identity, kind=None) if r.violation]

    def frames(self, identity: str | None = None, direction: str | None = None) -> list[Frame]:
        """Raw frames sent and received, oldest first (``direction`` "in"/"out")."""
        with self._cond:
            return [f for f in self._frames
                    if (identity is None or f.identity == identity)
                    and (direction is None or f.direction == direction)]

    def registration_status(self, identity: str) -> str | None:
        """Status of the last BootNotificationResponse sent to ``identity``."""
        with self._cond:
            return self._registration.get(identity)

    def wait_for(self, action: str, *, identity: str | None = None,
                 predicate: Callable[[dict], bool] | None = None,
                 timeout: float = 10.0, after: int | None = None) -> dict:
        """Block until a schema-valid CALL of ``action`` has been received.

        Looks at the whole record (or only past ``after``, see `mark`), so a CALL
        that arrived before this was called counts.

        Returns:
            A copy of the first matching CALL's payload.

        Raises:
            TimeoutError: none arrived in ``timeout`` seconds (the message lists
                invalid CALLs of that action, which never match).
        """
        def match(r: Received) -> bool:
            return (r.kind == "call" and r.action == action and r.violation is None
                    and (identity is None or r.identity == identity)
                    and (after is None or r.seq > after)
                    and (predicate is None or bool(predicate(r.payload))))

        timeout = max(timeout, self.min_wait_s)
        record = self._wait(match, timeout)
        if record is None:
            bad = [r.violation for r in self.violations(identity) if r.action == action]
            raise TimeoutError(f"no valid {action} from {identity or 'any station'} within "
                               f"{timeout}s" + (f"; invalid ones: {bad}" if bad else ""))
        return copy.deepcopy(record.payload)

    def _wait(self, match: Callable[[Received], bool], timeout: float) -> Received | None:
        deadline = time.monotonic() + timeout
        checked = -1
        with self._cond:
            while True:
                for record in self._records:
                    if record.seq > checked and match(record):
                        return record
                checked = self._seq
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    # ------------------------------------------------------------------ connections

    def is_connected(self, identity: str) -> bool:
        """Whether ``identity`` has an accepted, open connection."""
        with self._cond:
            return identity in self._connections

    def connection_count(self, identity: str) -> int:
        """How many connections of ``identity`` were accepted since `start`."""
        with self._cond:
            return self._connection_counts[identity]

    def wait_connected(self, identity: str, timeout: float = 10.0, *,
                       count: int | None = None) -> None:
        """Block until ``identity`` is connected (and, with ``count``, until at
        least ``count`` connections were accepted in total, for reconnect tests).

        Raises:
            TimeoutError: not within ``timeout`` seconds.
        """
        def ready() -> bool:
            return identity in self._connections and (
                count is None or self._connection_counts[identity] >= count)

        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise TimeoutError(f"{identity} not connected within {timeout}s"
                                   + (f" (count {count})" if count else ""))

    def disconnect(self, identity: str, code: int = 1000, reason: str = "", *,
                   abort: bool = False, timeout: float = 10.0) -> None:
        """Close the connection of ``identity`` and wait until it is gone.

        Args:
            code, reason: the close frame (ignored with ``abort``).
            abort: drop the TCP connection without a closing handshake, like a
                network failure.

        Raises:
            ConnectionError: ``identity`` is not connected.
        """
        async def close() -> None:
            conn = self._connections.get(identity)
            if conn is None:
                raise ConnectionError(f"{identity} is not connected")
            self._log(f"{identity} xx disconnect ({'abort' if abort else code})")
            if abort:
                conn.ws.transport.abort()
            else:
                await conn.ws.close(code, reason)
            await conn.done.wait()

        self._run_in_loop(close(), timeout)

    # ------------------------------------------------------------------ sending

    def call(self, identity: str, action: str, payload: dict, timeout: float = 10.0, *,
             validate: bool = True) -> dict:
        """Send a CSMS->CS CALL and block for its answer.

        Calls to one station are sent one at a time (part 4 §4.1.1); a call made
        while another is outstanding waits for it first. ``timeout`` counts from
        the moment this CALL is sent.

        Args:
            validate: check the CALLRESULT against ``<Action>Response``.

        Returns:
            The CALLRESULT payload.

        Raises:
            CallErrorResult: the station answered with a CALLERROR.
            PayloadViolation: the CALLRESULT broke the schema (with ``validate``).
            TimeoutError: no answer within ``timeout``.
            ConnectionError: not connected, or the connection closed meanwhile.
        """
        timeout = max(timeout, self.min_wait_s)
        return self._run_in_loop(self._call(identity, action, payload, timeout, validate), None)

    def send_raw(self, identity: str, text: str | bytes) -> int:
        """Send a frame exactly as given (text, or binary for ``bytes``).

        A CALL-shaped frame is remembered so the station's answer is recorded as
        a result, not as a violation. Nothing is validated or queued.

        Returns:
            `mark` from just before sending; pass it to `wait_raw` as ``after``.
        """
        async def send() -> int:
            conn = self._connections.get(identity)
            if conn is None:
                raise ConnectionError(f"{identity} is not connected")
            marker = self.mark()
            try:
                frame = json.loads(text)
                if isinstance(frame, list) and len(frame) >= 3 and frame[0] == _CALL \
                        and isinstance(frame[1], str):
                    conn.raw_calls[frame[1]] = frame[2] if isinstance(frame[2], str) else "?"
                    self._note_request(identity, frame[2], frame[3] if len(frame) > 3 else None)
            except (ValueError, TypeError):
                pass  # malformed on purpose
            await self._send(conn, text)
            return marker

        return self._run_in_loop(send(), 10.0)

    def wait_raw(self, identity: str, predicate: Callable[[str], bool] | None = None,
                 timeout: float = 10.0, *, after: int | None = None) -> str:
        """Block until the station sent a frame that satisfies ``predicate``.

        Args:
            after: only frames newer than this `mark` (e.g. from `send_raw`).

        Returns:
            The raw frame text.

        Raises:
            TimeoutError: none within ``timeout`` seconds.
        """
        timeout = max(timeout, self.min_wait_s)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for frame in self._frames:
                    if (frame.direction == "in" and frame.identity == identity
                            and (after is None or frame.seq > after)
                            and (predicate is None or predicate(frame.text))):
                        return frame.text
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching frame from {identity} within {timeout}s")
                self._cond.wait(remaining)

    # ================================================================== loop thread

    def _run_in_loop(self, coro: Any, timeout: float | None) -> Any:
        loop = self._loop
        if loop is None or self._thread is None or not self._thread.is_alive():
            coro.close()
            raise ConnectionError("CsmsServer is not running")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("blocking CsmsServer methods cannot run on its own loop")
        future = asyncio.run_coroutine_threadsafe(self._tracked(coro), loop)
        try:
            return future.result(timeout)
        except concurrent.futures.CancelledError:
            raise ConnectionError("CsmsServer stopped") from None
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError("CsmsServer did not complete the request in time") from None

    async def _tracked(self, coro: Any) -> Any:
        # Registered like _spawn's tasks, so stop() cancels a call() still
        # waiting (its caller then gets ConnectionError instead of hanging).
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            return await coro
        finally:
            self._tasks.discard(task)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._ready.set()

    async def _serve(self) -> None:
        self._stop_event = asyncio.Event()
        try:
            server = await serve(
                self._handle, self.host, self._requested_port,
                subprotocols=[SUBPROTOCOL],
                select_subprotocol=self._select_subprotocol,
                process_request=self._process_request,
                # A station answers a close frame at once; don't let one that
                # doesn't hold up stop() or disconnect() for the default 10 s.
                close_timeout=2.0,
            )
        except Exception as exc:  # bind failure: re-raised in start()
            self._startup_error = exc
            self._ready.set()
            return
        self._port = server.sockets[0].getsockname()[1]
        self._log(f"csms listening on {self.url_base}")
        self._ready.set()
        await self._stop_event.wait()
        server.close(close_connections=True)   # 1001 going away to every station
        await server.wait_closed()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ handshake

    @staticmethod
    def _identity_of(path: str) -> str:
        path = path.split("?", 1)[0].rstrip("/")
        return urllib.parse.unquote(path.rsplit("/", 1)[-1])

    @staticmethod
    def _select_subprotocol(connection: ServerConnection, offered: Any) -> str | None:
        # part 4 §3.2: without a shared subprotocol the handshake still completes
        # (no Sec-WebSocket-Protocol header); _handle then closes at once.
        return SUBPROTOCOL if SUBPROTOCOL in offered else None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        identity = self._identity_of(request.path)
        if not identity or ":" in identity or len(identity) > _MAX_IDENTITY:
            # part 4 §3.1.1: identifierString[48] without ':' (it is the auth username).
            return self._refuse(connection, http.HTTPStatus.NOT_FOUND,
                                identity or request.path, "invalid charging station identity")
        if self._passwords is None:
            return None
        if identity not in self._passwords:
            return self._refuse(connection, http.HTTPStatus.NOT_FOUND, identity,
                                "unknown charging station")  # part 4 §3.2
        header = request.headers.get("Authorization")
        if header is None:
            return self._refuse(connection, http.HTTPStatus.UNAUTHORIZED, identity,
                                "missing credentials")
        credentials = self._parse_basic(header)
        if credentials is None:
            return self._refuse(connection, http.HTTPStatus.UNAUTHORIZED, identity,
                                "malformed Authorization header")
        username, password = credentials
        expected = self._passwords[identity].encode()
        # Security profile 1: username is the identity of the connection URL.
        if username != identity or not hmac.compare_digest(password.encode(), expected):
            return self._refuse(connection, http.HTTPStatus.UNAUTHORIZED, identity,
                                "wrong username or password")
        return None

    @staticmethod
    def _parse_basic(header: str) -> tuple[str, str] | None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, sep, password = decoded.partition(":")
        return (username, password) if sep else None

    def _refuse(self, connection: ServerConnection, status: http.HTTPStatus,
                identity: str, why: str) -> Response:
        self._log(f"{identity} xx handshake refused: {status.value} {why}")
        response = connection.respond(status, why + "\n")
        if status == http.HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = build_www_authenticate_basic("ocpp")
        return response

    # ------------------------------------------------------------------ connection

    async def _handle(self, ws: ServerConnection) -> None:
        identity = self._identity_of(ws.request.path)
        if ws.subprotocol != SUBPROTOCOL:
            self._log(f"{identity} xx closed: subprotocol {SUBPROTOCOL} not offered")
            await ws.close(1002, f"subprotocol {SUBPROTOCOL} required")
            return
        conn = _Connection(identity, ws)
        with self._cond:
            previous = self._connections.get(identity)
            self._connections[identity] = conn
            self._connection_counts[identity] += 1
            count = self._connection_counts[identity]
            self._cond.notify_all()
        self._log(f"{identity} ++ connected (#{count}) from {ws.remote_address}")
        if previous is not None:
            self._log(f"{identity} xx replacing the previous connection")
            self._spawn(previous.ws.close(1000, "replaced by a new connection"))
        try:
            async for message in ws:
                await self._on_frame(conn, message)
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if self._connections.get(identity) is conn:
                    del self._connections[identity]
                self._cond.notify_all()
            for _action, future in conn.pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"{identity} disconnected"))
            conn.done.set()
            self._log(f"{identity} -- disconnected ({ws.close_code})")

    async def _send(self, conn: _Connection, text: str | bytes) -> None:
        shown = text if isinstance(text, str) else text.decode("utf-8", "replace")
        self._record_frame(conn.identity, "out", shown)
        self._log(f"{conn.identity} >> {_short(shown)}")
        await conn.ws.send(text)

    async def _reply(self, conn: _Connection, frame: list) -> None:
        try:
            await self._send(conn, json.dumps(frame, separators=(",", ":")))
        except ConnectionClosed:
            self._log(f"{conn.identity} xx reply dropped, connection closed")

    async def _reply_error(self, conn: _Connection, message_id: str, code: str,
                           description: str, details: dict | None = None) -> None:
        await self._reply(conn, [_CALLERROR, message_id, code,
                                 description[:_MAX_DESCRIPTION], details or {}])

    # ------------------------------------------------------------------ records

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _record_frame(self, identity: str, direction: str, text: str) -> None:
        with self._cond:
            self._frames.append(Frame(identity, direction, text, time.time(), self._next_seq()))
            self._cond.notify_all()

    def _record(self, identity: str, action: str | None, message_id: str, payload: Any,
                kind: str, violation: str | None = None) -> None:
        with self._cond:
            self._records.append(Received(identity, action, message_id, payload, time.time(),
                                          kind, violation, self._next_seq()))
            self._cond.notify_all()
        if violation:
            self._log(f"{identity} !! {kind} {action or ''} {message_id}: {violation}")

    # ------------------------------------------------------------------ incoming

    async def _on_frame(self, conn: _Connection, message: str | bytes) -> None:
        identity = conn.identity
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        self._record_frame(identity, "in", text)
        self._log(f"{identity} << {_short(text)}")
        if isinstance(message, bytes):
            # part 4 §4.1.2: OCPP-J is UTF-8 JSON in text frames.
            self._record(identity, None, "-1", None, "malformed",
                         "RpcFrameworkError: binary frame")
            return
        try:
            frame = json.loads(text)
        except ValueError as exc:
            # part 4 §4.2.3: id unreadable -> "-1"; the bad JSON is not echoed.
            why = f"not valid JSON ({exc.msg})"
            self._record(identity, None, "-1", None, "malformed", f"RpcFrameworkError: {why}")
            await self._reply_error(conn, "-1", "RpcFrameworkError", why)
            return
        if not isinstance(frame, list) or not frame or not isinstance(frame[0], int) \
                or isinstance(frame[0], bool):
            why = "not an OCPP-J frame: expected [MessageTypeId, MessageId, ...]"
            self._record(identity, None, "-1", None, "malformed", f"RpcFrameworkError: {why}")
            await self._reply_error(conn, "-1", "RpcFrameworkError", why)
            return
        type_id = frame[0]
        message_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else None
        if type_id == _CALL:
            await self._on_call(conn, frame, message_id)
        elif type_id in (_CALLRESULT, _CALLERROR):
            self._on_answer(conn, frame, message_id)
        else:
            # part 4 §4.4: unknown message type -> MessageTypeNotSupported.
            why = f"message type {type_id} not supported"
            self._record(identity, None, message_id or "-1", None, "malformed",
                         f"MessageTypeNotSupported: {why}")
            await self._reply_error(conn, message_id or "-1", "MessageTypeNotSupported", why)

    async def _on_call(self, conn: _Connection, frame: list, message_id: str | None) -> None:
        identity = conn.identity
        if message_id is None or len(frame) != 4 or not isinstance(frame[2], str):
            why = "CALL must be [2, MessageId, Action, Payload]"
            self._record(identity, None, message_id or "-1", None, "malformed",
                         f"RpcFrameworkError: {why}")
            await self._reply_error(conn, message_id or "-1", "RpcFrameworkError", why)
            return
        action, payload = frame[2], frame[3]
        error = self._check_call(identity, message_id, action, payload)
        self._record(identity, action, message_id, payload, "call",
                     f"{error[0]}: {error[1]}" if error else None)
        if error is not None:
            await self._reply_error(conn, message_id, *error)
            return
        with self._cond:
            handler = self._handlers.get(action)
        if handler is None:
            await self._answer(conn, message_id, action, self.default_answer(identity, action, payload))
        else:
            self._spawn(self._run_handler(conn, handler, message_id, action, payload))

    def _check_call(self, identity: str, message_id: str, action: str,
                    payload: Any) -> tuple[str, str] | None:
        if len(message_id) > _MAX_MESSAGE_ID:
            return "RpcFrameworkError", f"MessageId longer than {_MAX_MESSAGE_ID} characters"
        if action not in ALL_ACTIONS:
            return "NotImplemented", f"{action} is not an OCPP 2.0.1 action"
        if action not in CS_TO_CSMS_ACTIONS:
            return "NotSupported", f"{action} is sent by a CSMS, not to it"
        violation = schema_violation(action, payload, response=False)
        if violation is not None:
            return violation
        with self._cond:
            registration = self._registration.get(identity)
            allowed = self._allowed_while_pending.get(identity, set())
        if action != "BootNotification" and (
                registration == "Rejected"                                  # B03.FR.07
                or (registration == "Pending" and action not in allowed)):  # B02.FR.09
            return "SecurityError", f"{action} not allowed: registration status is {registration}"
        return None

    async def _run_handler(self, conn: _Connection, handler: Callable, message_id: str,
                           action: str, payload: dict) -> None:
        loop = asyncio.get_running_loop()
        try:
            reply = await loop.run_in_executor(self._executor, handler, conn.identity,
                                               copy.deepcopy(payload))
        except asyncio.CancelledError:
            raise
        except Exception:
            # STYLE §6: an unexpected failure is InternalError, without details.
            self._log(f"{conn.identity} !! handler for {action} failed:\n{traceback.format_exc()}")
            reply = CallErrorReply("InternalError", f"handler for {action} failed")
        await self._answer(conn, message_id, action, reply)

    async def _answer(self, conn: _Connection, message_id: str, action: str, reply: Any) -> None:
        if reply is NO_REPLY:
            self._log(f"{conn.identity} .. {action} {message_id} left unanswered")
            return
        if isinstance(reply, CallErrorReply):
            await self._reply_error(conn, message_id, reply.code, reply.description, reply.details)
            return
        violation = schema_violation(action, reply, response=True)
        if violation is not None:
            self._log(f"{conn.identity} !! note: answer to {action} breaks the schema: {violation}")
        if action == "BootNotification" and isinstance(reply, dict):
            with self._cond:
                self._registration[conn.identity] = str(reply.get("status"))
                self._allowed_while_pending[conn.identity] = set()
        await self._reply(conn, [_CALLRESULT, message_id, reply])

    def _on_answer(self, conn: _Connection, frame: list, message_id: str | None) -> None:
        identity, type_id = conn.identity, frame[0]
        kind = "result" if type_id == _CALLRESULT else "error"
        expected_len = 3 if type_id == _CALLRESULT else 5
        if message_id is None or len(frame) != expected_len:
            # Never answer an answer; just note it.
            self._record(identity, None, message_id or "-1", None, "malformed",
                         f"RpcFrameworkError: {kind} frame must have {expected_len} elements")
            return
        if kind == "result":
            payload: Any = frame[2]
        else:
            payload = {"errorCode": frame[2], "errorDescription": frame[3],
                       "errorDetails": frame[4]}
        pending = conn.pending.pop(message_id, None)
        if pending is not None:
            action, future = pending
            violation = None
            if kind == "result":
                bad = schema_violation(action, payload, response=True)
                violation = f"{bad[0]}: {bad[1]}" if bad else None
            self._record(identity, action, message_id, payload, kind, violation)
            if not future.done():
                future.set_result((kind, payload, violation))
            return
        for table in (conn.raw_calls, conn.timed_out):
            if message_id in table:
                # Answers to raw CALLs and late answers (part 4 §4.1.1 lets them
                # be dropped) are recorded but judged by the test, not here.
                self._record(identity, table.pop(message_id), message_id, payload, kind)
                return
        self._record(identity, None, message_id, payload, kind,
                     f"ProtocolError: no CALL with id {message_id} is outstanding")

    # ------------------------------------------------------------------ outgoing CALL

    def _note_request(self, identity: str, action: Any, payload: Any) -> None:
        """Remember what a Pending station may now send (B02.FR.09)."""
        allowed = None
        if action == "TriggerMessage" and isinstance(payload, dict):
            requested = payload.get("requestedMessage")
            allowed = _TRIGGERED_ACTION.get(requested, requested)
        elif action in _REPORT_REQUESTS:
            allowed = _REPORT_REQUESTS[action]
        if isinstance(allowed, str):
            with self._cond:
                self._allowed_while_pending.setdefault(identity, set()).add(allowed)

    async def _call(self, identity: str, action: str, payload: dict, timeout: float,
                    validate: bool) -> dict:
        conn = self._connections.get(identity)
        if conn is None:
            raise ConnectionError(f"{identity} is not connected")
        async with conn.call_lock:   # part 4 §4.1.1: one outstanding CALL per connection
            if conn.done.is_set():
                raise ConnectionError(f"{identity} disconnected")
            message_id = str(uuid.uuid4())
            future = asyncio.get_running_loop().create_future()
            conn.pending[message_id] = (action, future)
            self._note_request(identity, action, payload)
            try:
                await self._send(conn, json.dumps([_CALL, message_id, action, payload],
                                                  separators=(",", ":")))
                kind, answer, violation = await asyncio.wait_for(future, timeout)
            except ConnectionClosed:
                raise ConnectionError(f"{identity} disconnected") from None
            except asyncio.TimeoutError:
                conn.timed_out[message_id] = action
                self._log(f"{identity} .. {action} {message_id} timed out after {timeout}s")
                raise TimeoutError(f"{identity} did not answer {action} within {timeout}s") from None
            finally:
                conn.pending.pop(message_id, None)
        if kind == "error":
            raise CallErrorResult(answer["errorCode"], answer["errorDescription"],
                                  answer["errorDetails"])
        if validate and violation is not None:
            code, _, description = violation.partition(": ")
            raise PayloadViolation(code, f"{action}Response {description}", answer)
        return copy.deepcopy(answer)


# ---------------------------------------------------------------------- command line

def _password_arg(text: str) -> tuple[str, str]:
    identity, sep, password = text.partition("=")
    if not sep or not identity:
        raise argparse.ArgumentTypeError("expected IDENTITY=PASSWORD")
    return identity, password


def _write_port_file(path: str, port: int) -> None:
    # Write then rename, so a reader never sees a half-written file.
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """Run the CSMS alone until SIGINT/SIGTERM; ``python -m simulators.csms``.

    Returns:
        0 after a clean stop, 1 when the address could not be bound.
    """
    parser = argparse.ArgumentParser(prog="python -m simulators.csms",
                                     description="Embedded OCPP 2.0.1 CSMS (test/demo).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--password", action="append", type=_password_arg, default=[],
                        metavar="IDENTITY=PWD",
                        help="require HTTP Basic auth (security profile 1); repeatable")
    parser.add_argument("--boot-status", default="Accepted",
                        choices=["Accepted", "Pending", "Rejected"])
    parser.add_argument("--heartbeat-interval", type=int, default=300)
    args = parser.parse_args(argv)

    server = CsmsServer(args.host, args.port, passwords=dict(args.password) or None,
                        boot_status=args.boot_status,
                        heartbeat_interval=args.heartbeat_interval)
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    # Block the signals before the server thread exists, so it inherits the mask
    # and sigwait() here is the only receiver: no handler runs mid-operation.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        try:
            port = server.start()
        except OSError as exc:
            print(f"csms: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        if args.port_file:
            _write_port_file(args.port_file, port)
        print(f"csms: ready on {server.url_base}", flush=True)  # after the port file
        received = signal.sigwait(stop_signals)
        print(f"csms: {signal.Signals(received).name}, stopping", flush=True)
        server.stop()
        return 0
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


if __name__ == "__main__":
    sys.exit(main())
