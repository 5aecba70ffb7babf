"""What the test CSMS answers to a station's CALLs, and what it lets a station send.

`Answers` holds the scripted handlers a test sets, the default answer to every
CS->CSMS action, and the registration state per identity. It does no I/O; a lock
makes it safe to use from the server's loop thread and from test threads alike.

Registration state (B02.FR.09, B03.FR.07)
    The CSMS remembers, per identity and for its own lifetime, the status of
    the last BootNotificationResponse it sent. While that is ``Rejected``,
    every CALL other than BootNotification is refused with SecurityError.
    While ``Pending`` the same holds, except for messages the CSMS itself
    asked for: a TriggerMessage allows its requested message, a GetBaseReport /
    GetReport allows NotifyReport. An identity that never booted here is not
    restricted (a station that reconnects after a CSMS restart is not required
    to boot again). The CSMS's own CALLs are never restricted, so tests can
    check the station side of B03.FR.08.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
from typing import Any, Callable

from ocpp.v201.enums import MessageTriggerEnumType

from simulators.csms.protocol import CS_TO_CSMS_ACTIONS

#: ``fn(identity, payload)``: a test's answer to one CS->CSMS action.
Handler = Callable[[str, dict], Any]

# B02.FR.09: while Pending, a station may send what the CSMS asked for. The
# TriggerMessage enum names the message, not always the action.
_TRIGGERED_ACTION = {
    MessageTriggerEnumType.sign_charging_station_certificate.value: "SignCertificate",
    MessageTriggerEnumType.sign_v2g_certificate.value: "SignCertificate",
    MessageTriggerEnumType.sign_combined_certificate.value: "SignCertificate",
}
_REPORT_REQUESTS = {"GetBaseReport": "NotifyReport", "GetReport": "NotifyReport"}


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


def iso(moment: datetime.datetime) -> str:
    """An OCPP dateTime in UTC with milliseconds, e.g. ``2024-05-01T12:00:00.000Z``."""
    return moment.astimezone(datetime.timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Answers:
    """Scripted and default answers plus registration state (see module docstring).

    Args:
        boot_status: ``status`` of the default BootNotificationResponse.
        heartbeat_interval: ``interval`` of the default BootNotificationResponse.
        clock: the CSMS's current time (``currentTime`` fields).
    """

    def __init__(self, *, boot_status: str = "Accepted", heartbeat_interval: int = 300,
                 clock: Callable[[], datetime.datetime] = utc_now):
        if boot_status not in ("Accepted", "Pending", "Rejected"):
            raise ValueError(f"boot_status must be Accepted, Pending or Rejected, not {boot_status!r}")
        self.boot_status = boot_status
        self.heartbeat_interval = heartbeat_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._handlers: dict[str, Handler] = {}
        self._registration: dict[str, str] = {}            # identity -> last boot status sent
        self._allowed_while_pending: dict[str, set[str]] = {}

    # ------------------------------------------------------------------ scripted answers

    def set_handler(self, action: str, fn: Handler | None) -> None:
        """Answer ``action`` with ``fn`` from now on; None restores the default."""
        with self._lock:
            if fn is None:
                self._handlers.pop(action, None)
            else:
                self._handlers[action] = fn

    def handler(self, action: str) -> Handler | None:
        """The handler set for ``action``, None when the default answers it."""
        with self._lock:
            return self._handlers.get(action)

    def default_answer(self, identity: str, action: str, payload: dict) -> dict:
        """The CALLRESULT payload sent when no handler is set.

        Every answer is valid against ``<Action>Response``.

        Raises:
            KeyError: ``action`` is not a CS->CSMS action.
        """
        now = iso(self._clock())
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

    # ------------------------------------------------------------------ registration

    def registration_status(self, identity: str) -> str | None:
        """Status of the last BootNotificationResponse sent to ``identity``."""
        with self._lock:
            return self._registration.get(identity)

    def answered_boot(self, identity: str, reply: Any) -> None:
        """Note the BootNotificationResponse just sent; it sets the registration state."""
        if isinstance(reply, dict):
            with self._lock:
                self._registration[identity] = str(reply.get("status"))
                self._allowed_while_pending[identity] = set()

    def note_request(self, identity: str, action: Any, payload: Any) -> None:
        """Remember what a Pending station may now send (B02.FR.09).

        ``action`` and ``payload`` are whatever the CSMS sent, also in a raw frame.
        """
        allowed = None
        if action == "TriggerMessage" and isinstance(payload, dict):
            requested = payload.get("requestedMessage")
            allowed = _TRIGGERED_ACTION.get(requested, requested) \
                if isinstance(requested, str) else requested
        elif isinstance(action, str) and action in _REPORT_REQUESTS:
            allowed = _REPORT_REQUESTS[action]
        if isinstance(allowed, str):
            with self._lock:
                self._allowed_while_pending.setdefault(identity, set()).add(allowed)

    def refusal(self, identity: str, action: str) -> tuple[str, str] | None:
        """``("SecurityError", why)`` when the registration state forbids ``action``."""
        with self._lock:
            registration = self._registration.get(identity)
            allowed = self._allowed_while_pending.get(identity, set())
            if action != "BootNotification" and (
                    registration == "Rejected"                                  # B03.FR.07
                    or (registration == "Pending" and action not in allowed)):  # B02.FR.09
                return "SecurityError", f"{action} not allowed: registration status is {registration}"
        return None
