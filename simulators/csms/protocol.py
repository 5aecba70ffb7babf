"""OCPP-J (part 4) as the test CSMS sees it, without I/O.

Everything here works on text and decoded JSON: which actions go which way,
what a frame from the station is (`decode_frame`), whether a CALL from the
station breaks part 4 or the schema (`check_call`), the frames the CSMS sends,
and what a CSMS->CS CALL's answer means for its caller (`call_outcome`). The
websocket side (`connection.py`) records and sends what these functions decide.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

from ocpp.v201.enums import Action

from simulators.csms.schemas import schema_violation

CALL, CALLRESULT, CALLERROR = 2, 3, 4
MAX_MESSAGE_ID = 36          # part 4 §4.1.4: string[36]
MAX_DESCRIPTION = 255        # part 4 §4.2.3: ErrorDescription string[255]

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


# ---------------------------------------------------------------------- frames from the station

@dataclasses.dataclass(frozen=True)
class InboundCall:
    """A well-formed CALL frame; its content is not checked yet (see `check_call`)."""

    message_id: str
    action: str
    payload: Any


@dataclasses.dataclass(frozen=True)
class InboundAnswer:
    """A well-formed CALLRESULT (kind ``"result"``) or CALLERROR (kind ``"error"``).

    For kind ``"error"`` the payload is a dict with ``errorCode``,
    ``errorDescription`` and ``errorDetails``.
    """

    kind: str
    message_id: str
    payload: Any


@dataclasses.dataclass(frozen=True)
class MalformedFrame:
    """A frame that is no valid OCPP-J message.

    Attributes:
        message_id: the frame's id, ``"-1"`` when unreadable (part 4 §4.2.3).
        code: the OCPP-J error code it maps to.
        why: the description, also sent in the CALLERROR.
        answer: part 4 asks for a CALLERROR (never for a broken answer frame).
    """

    message_id: str
    code: str
    why: str
    answer: bool

    @property
    def violation(self) -> str:
        """``"<ErrorCode>: <why>"``, as recorded in `Received.violation`."""
        return f"{self.code}: {self.why}"


def decode_frame(message: str | bytes) -> InboundCall | InboundAnswer | MalformedFrame:
    """Tell what one websocket message from the station is. Never raises."""
    if isinstance(message, bytes):
        # part 4 §4.1.2: OCPP-J is UTF-8 JSON in text frames.
        return MalformedFrame("-1", "RpcFrameworkError", "binary frame", answer=False)
    try:
        frame = json.loads(message)
    except ValueError as exc:
        # part 4 §4.2.3: id unreadable -> "-1"; the bad JSON is not echoed.
        return MalformedFrame("-1", "RpcFrameworkError", f"not valid JSON ({exc.msg})",
                              answer=True)
    if not isinstance(frame, list) or not frame or not isinstance(frame[0], int) \
            or isinstance(frame[0], bool):
        return MalformedFrame(
            "-1", "RpcFrameworkError",
            "not an OCPP-J frame: expected [MessageTypeId, MessageId, ...]", answer=True)
    type_id = frame[0]
    message_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else None
    if type_id == CALL:
        if message_id is None or len(frame) != 4 or not isinstance(frame[2], str):
            return MalformedFrame(message_id or "-1", "RpcFrameworkError",
                                  "CALL must be [2, MessageId, Action, Payload]", answer=True)
        return InboundCall(message_id, frame[2], frame[3])
    if type_id in (CALLRESULT, CALLERROR):
        kind = "result" if type_id == CALLRESULT else "error"
        expected_len = 3 if type_id == CALLRESULT else 5
        if message_id is None or len(frame) != expected_len:
            # Never answer an answer; just note it.
            return MalformedFrame(message_id or "-1", "RpcFrameworkError",
                                  f"{kind} frame must have {expected_len} elements",
                                  answer=False)
        if kind == "result":
            return InboundAnswer(kind, message_id, frame[2])
        return InboundAnswer(kind, message_id, {"errorCode": frame[2],
                                                "errorDescription": frame[3],
                                                "errorDetails": frame[4]})
    # part 4 §4.4: unknown message type -> MessageTypeNotSupported.
    return MalformedFrame(message_id or "-1", "MessageTypeNotSupported",
                          f"message type {type_id} not supported", answer=True)


def check_call(message_id: str, action: str, payload: Any) -> tuple[str, str] | None:
    """Check a station's CALL against part 4 and the ``<Action>Request`` schema.

    The registration rules (B02.FR.09, B03.FR.07) are checked separately, by
    `answers.Answers.refusal`, after this one passed.

    Returns:
        None when the CALL is fine, else ``(error_code, description)``.
    """
    if len(message_id) > MAX_MESSAGE_ID:
        return "RpcFrameworkError", f"MessageId longer than {MAX_MESSAGE_ID} characters"
    if action not in ALL_ACTIONS:
        return "NotImplemented", f"{action} is not an OCPP 2.0.1 action"
    if action not in CS_TO_CSMS_ACTIONS:
        return "NotSupported", f"{action} is sent by a CSMS, not to it"
    return schema_violation(action, payload, response=False)


def result_violation(action: str, payload: Any) -> str | None:
    """``"<ErrorCode>: <why>"`` when a CALLRESULT breaks ``<Action>Response``."""
    bad = schema_violation(action, payload, response=True)
    return f"{bad[0]}: {bad[1]}" if bad else None


def raw_call(text: str | bytes) -> tuple[str, Any, Any] | None:
    """``(message_id, action, payload)`` of a text that looks like a CALL, else None.

    For frames a test sends raw on purpose: no check beyond the CALL's shape,
    and ``action``/``payload`` may be any JSON value (payload None when absent).
    """
    try:
        frame = json.loads(text)
    except ValueError:
        return None  # malformed on purpose
    if isinstance(frame, list) and len(frame) >= 3 and frame[0] == CALL \
            and isinstance(frame[1], str):
        return frame[1], frame[2], frame[3] if len(frame) > 3 else None
    return None


# ---------------------------------------------------------------------- frames to the station

def encode(frame: list) -> str:
    """The compact JSON text of a frame."""
    return json.dumps(frame, separators=(",", ":"))


def call_error_frame(message_id: str, code: str, description: str,
                     details: dict | None = None) -> list:
    """A CALLERROR; the description is cut to ErrorDescription's 255 characters."""
    return [CALLERROR, message_id, code, description[:MAX_DESCRIPTION], details or {}]


# ---------------------------------------------------------------------- answers to CSMS CALLs

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


def call_outcome(action: str, kind: str, answer: Any, violation: str | None, *,
                 validate: bool) -> Any:
    """What `CsmsServer.call` returns for the station's answer to its CALL.

    Args:
        kind, answer: as in `InboundAnswer`.
        violation: `result_violation` of a CALLRESULT.
        validate: raise on a schema violation.

    Returns:
        A copy of the CALLRESULT payload.

    Raises:
        CallErrorResult: the answer is a CALLERROR.
        PayloadViolation: the CALLRESULT broke the schema (with ``validate``).
    """
    if kind == "error":
        raise CallErrorResult(answer["errorCode"], answer["errorDescription"],
                              answer["errorDetails"])
    if validate and violation is not None:
        code, _, description = violation.partition(": ")
        raise PayloadViolation(code, f"{action}Response {description}", answer)
    return copy.deepcopy(answer)
