"""Sans-I/O OCPP-J RPC endpoint (OCPP 2.0.1 part 4 §4).

Theory of operation
-------------------
:class:`RpcEndpoint` is the RPC framework of one OCPP-J connection, for either side (the
station uses it towards the CSMS; a test CSMS can use it towards a station). It never touches a
socket, a clock or an actor: the shell feeds it text frames and the current time, and collects
what it decided.

Inputs (the shell calls these)::

    receive_text(text, now)   a text frame arrived from the peer
    send_call(action, payload, now) -> id     we want to send a request
    send_result(id, action, payload)          our answer to a CallReceived
    send_error(id, error)                     our CALLERROR answer to a CallReceived
    tick(now)                 the time returned by next_deadline() has come
    connection_lost()         the websocket closed

Outputs (the shell must collect these after every input)::

    data_to_send()     frames to write to the websocket, in order
    events_received()  CallReceived, CallResultReceived, CallErrorReceived, CallTimedOut,
                       ProtocolViolation, LocalProtocolError
    next_deadline()    when tick() must be called next (None: no timer needed)

Outgoing CALLs (§4.1.1 Synchronicity). At most one CALL of ours is *outstanding*. send_call()
validates the request, gives it a fresh message id and appends it to a FIFO queue; if nothing
is outstanding the head of the queue is written at once and becomes outstanding with
``sent_at = now``. It stays outstanding until a CALLRESULT or CALLERROR with its message id is
received (-> CallResultReceived / CallErrorReceived) or until ``tick(now)`` sees
``now >= sent_at + message_timeout`` (-> CallTimedOut). Then the next queued CALL is written,
with the time of that event as its ``sent_at``. The deadline is computed from the current
``message_timeout``, so changing OCPPCommCtrlr.MessageTimeout also moves the deadline of the
CALL already outstanding. A CALL is only considered timed out when tick() observes it; a
result that arrives late but before the shell's tick is still accepted.

Incoming CALLs are independent of our outstanding CALL: CALLs from both sides may cross
(§4.1.1 NOTE). Every valid incoming CALL becomes a CallReceived event and is remembered as
"awaiting our answer" until the shell calls send_result() or send_error() for its message id.
An invalid one is answered here with a CALLERROR and reported as ProtocolViolation.

Incoming frame checks, in order (first failure wins; "-1" is used as message id when the
id cannot be read, §4.2.3):

=========================================================  ==========================  =========
Condition                                                  Reply                       Msg id
=========================================================  ==========================  =========
not JSON (also NaN/Infinity), not an array, empty array    RpcFrameworkError           "-1"
MessageTypeId not an integer                               RpcFrameworkError           id / "-1"
MessageTypeId not 2, 3 or 4 (§4.1.3, §4.4)                 MessageTypeNotSupported     id / "-1"
CALL: MessageId missing, not a string, empty or > 36       RpcFrameworkError           "-1"
CALL: not exactly 4 elements, Action not a string          RpcFrameworkError           id
CALL: MessageId of a CALL we have not answered yet         RpcFrameworkError           id
CALL: Action not an OCPP 2.0.1 action                      NotImplemented              id
CALL: Action known but not in ``supported_actions``        NotSupported                id
CALL: payload not an object / fails the Request schema     see ocppj.schemas           id
=========================================================  ==========================  =========

RpcFrameworkError is "Content of the call is not a valid RPC Request" (Table 8), which covers
every framing fault; FormatViolation is reserved for the *payload* being syntactically wrong.

CALLRESULT and CALLERROR frames are never answered (answering a reply with a CALLERROR could
make two implementations ping-pong). One whose message id is not our outstanding CALL (late
after a timeout, duplicated, or garbage) is dropped with a ProtocolViolation event. One that
does answer the outstanding CALL always completes it: a malformed CALLRESULT or one whose
payload fails the Response schema becomes CallErrorReceived with the violation's code (plus a
ProtocolViolation event for the log); a malformed CALLERROR is read as far as possible.

Outgoing checks are about *our* bugs, so they never go unnoticed:

* send_call() raises ``ValueError`` for an unknown action, a payload that fails the Request
  schema, or a payload that cannot be serialized. Nothing is queued in that case.
* send_result() whose payload fails the Response schema (or cannot be serialized) sends an
  InternalError CALLERROR with an empty details object instead (mobilityhouse and websockets
  do the same: never leak internals) and emits a LocalProtocolError event for the log.
* send_result()/send_error() for a message id that is not awaiting an answer (already
  answered, or received before connection_lost()) sends nothing and emits LocalProtocolError.

connection_lost() forgets the outstanding CALL, the queue, the incoming CALLs awaiting an
answer and the frames not yet collected with data_to_send(); it returns the CALLs that were
outstanding or queued, oldest first, so the shell can decide what to resend (e.g. transaction
messages, E13) on the next connection. The endpoint is then ready for the next connection.

receive_text() never raises: a bug while handling peer input is caught, reported as
LocalProtocolError and, if a CALL was being handled, answered with InternalError.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Union

from ocppj import schemas
from ocppj.errors import (
    FormatViolation,
    InternalError,
    MessageTypeNotSupported,
    NotImplementedAction,
    NotSupported,
    OcppError,
    RpcFrameworkError,
)

__all__ = [
    "CALL",
    "CALLERROR",
    "CALLRESULT",
    "CallErrorReceived",
    "CallReceived",
    "CallResultReceived",
    "CallTimedOut",
    "Event",
    "LocalProtocolError",
    "MAX_MESSAGE_ID_LENGTH",
    "ProtocolViolation",
    "RpcEndpoint",
    "UNKNOWN_MESSAGE_ID",
]

# Part 4 §4.1.3 Table 3.
CALL = 2
CALLRESULT = 3
CALLERROR = 4

#: Part 4 §4.1.4 Table 4: messageId is string[36].
MAX_MESSAGE_ID_LENGTH = 36
#: Part 4 §4.2.3 Table 7: ErrorDescription is string[255].
MAX_ERROR_DESCRIPTION_LENGTH = 255
#: Part 4 §4.2.3: message id of a CALLERROR when the MessageId of the offending message
#: cannot be read.
UNKNOWN_MESSAGE_ID = "-1"

_INTERNAL_ERROR_DESCRIPTION = "An internal error occurred"


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class CallReceived:
    """The peer sent a valid CALL; answer it with send_result() or send_error()."""

    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class CallResultReceived:
    """Our outstanding CALL got a schema-valid CALLRESULT."""

    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class CallErrorReceived:
    """Our outstanding CALL got a CALLERROR, or a CALLRESULT we had to reject.

    ``code`` is the peer's ErrorCode as received (it may not be a 2.0.1 code, e.g. a 1.6
    peer's "FormationViolation"), or the code of the violation we found in its CALLRESULT.
    """

    message_id: str
    action: str
    code: str
    description: str
    details: dict[str, Any]


@dataclass(frozen=True)
class CallTimedOut:
    """Our outstanding CALL got no reply within message_timeout (§4.1.1)."""

    message_id: str
    action: str


@dataclass(frozen=True)
class ProtocolViolation:
    """The peer sent something we answered with a CALLERROR or had to drop (for logging).

    Attributes:
        text: The offending frame as received.
        description: What was wrong, and what we did about it.
    """

    text: str
    description: str


@dataclass(frozen=True)
class LocalProtocolError:
    """We (the local side) broke the protocol; the shell should log it loudly.

    Attributes:
        message_id: Message id concerned ("" if none).
        action: Action concerned ("" if unknown).
        description: What went wrong; may name internals, never sent to the peer.
    """

    message_id: str
    action: str
    description: str


Event = Union[
    CallReceived,
    CallResultReceived,
    CallErrorReceived,
    CallTimedOut,
    ProtocolViolation,
    LocalProtocolError,
]


# --------------------------------------------------------------------------- helpers


@dataclass
class _OutgoingCall:
    message_id: str
    action: str
    payload: dict[str, Any]
    frame: str
    sent_at: float | None = None


def _dumps(message: list[Any]) -> str:
    """Serialize a frame: compact, UTF-8 text (§4.1.2), no NaN/Infinity (not JSON)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN/Infinity/-Infinity, which are not JSON (RFC 8259, §4.1.2).
    raise ValueError(f"{name} is not valid JSON")


def _is_valid_message_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_MESSAGE_ID_LENGTH


def _short(value: Any, limit: int = 50) -> str:
    """repr() of a peer-supplied value, cut short so descriptions stay within 255 chars."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _call_error_frame(message_id: str, error: OcppError) -> str:
    description = str(error.description)[:MAX_ERROR_DESCRIPTION_LENGTH]
    details = error.details if isinstance(error.details, dict) else {}
    try:
        return _dumps([CALLERROR, message_id, error.code, description, details])
    except (TypeError, ValueError):
        # Details that cannot be serialized must not cost the peer its answer.
        return _dumps([CALLERROR, message_id, error.code, description, {}])


# --------------------------------------------------------------------------- endpoint


class RpcEndpoint:
    """One OCPP-J connection's RPC framework, without I/O (see module docstring).

    Args:
        supported_actions: Actions we accept in incoming CALLs. Each must be an OCPP 2.0.1
            action; a known action outside this set is answered with NotSupported.
        message_timeout: Seconds before the outstanding CALL times out
            (OCPPCommCtrlr.MessageTimeout / NetworkConnectionProfile.messageTimeout).
            Settable at any time.
        new_message_id: Generator of CALL message ids; must return unique non-empty strings
            of at most 36 characters (§4.1.4). Inject a deterministic one in tests.
        validate: Validate payloads against the JSON schemas. When False, only the framing,
            the action name of incoming CALLs and "payload is an object" are checked, and
            send_call() accepts any action (useful for a test CSMS that must send bad data).

    Raises:
        ValueError: ``supported_actions`` names something that is not an OCPP 2.0.1 action.
    """

    def __init__(
        self,
        *,
        supported_actions: Collection[str],
        message_timeout: float = 30.0,
        new_message_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        validate: bool = True,
    ) -> None:
        unknown = set(supported_actions) - schemas.ACTIONS
        if unknown:
            raise ValueError(f"supported_actions contains unknown actions: {sorted(unknown)}")
        self._supported = frozenset(supported_actions)
        self.message_timeout = message_timeout
        self._new_message_id = new_message_id
        self._validate = validate
        self._events: list[Event] = []
        self._to_send: list[str] = []
        self._outstanding: _OutgoingCall | None = None
        self._queue: deque[_OutgoingCall] = deque()
        # Incoming CALLs awaiting our answer: message id -> action.
        self._awaiting_answer: dict[str, str] = {}
        # Message id of the incoming CALL receive_text() is handling, for the safety net.
        self._handling_call_id: str | None = None

    # ------------------------------------------------------------------ state

    @property
    def outstanding(self) -> str | None:
        """Message id of our CALL awaiting a reply, or None."""
        return None if self._outstanding is None else self._outstanding.message_id

    @property
    def queued_count(self) -> int:
        """Number of our CALLs waiting for the outstanding one to complete."""
        return len(self._queue)

    @property
    def awaiting_answer(self) -> dict[str, str]:
        """Copy of the incoming CALLs not answered yet: message id -> action."""
        return dict(self._awaiting_answer)

    # ------------------------------------------------------------------ outputs

    def events_received(self) -> list[Event]:
        """Return and forget the events produced since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> list[str]:
        """Return and forget the frames to write to the websocket, in order.

        The shell must write them in this order before writing frames collected later.
        """
        frames, self._to_send = self._to_send, []
        return frames

    def next_deadline(self) -> float | None:
        """Time (same clock as ``now``) at which the shell must call tick(), or None."""
        if self._outstanding is None or self._outstanding.sent_at is None:
            return None
        return self._outstanding.sent_at + self.message_timeout

    # ------------------------------------------------------------------ outgoing

    def send_call(self, action: str, payload: dict[str, Any], now: float) -> str:
        """Queue a CALL; it is written at once if no other CALL is outstanding (§4.1.1).

        Then collect data_to_send() and next_deadline().

        Args:
            action: OCPP action name, e.g. ``"Heartbeat"``.
            payload: Request payload (wire form). It is serialized now; later changes to the
                dict do not affect the frame.
            now: Current time, used as the send time if the CALL goes out immediately.

        Returns:
            The message id of the CALL; replies and CallTimedOut carry it.

        Raises:
            ValueError: Programming error on our side: unknown action, payload that fails
                the ``<action>Request`` schema (the message names the OCPP error code and
                the JSON path), payload that cannot be serialized, or a message id generator
                that returned an invalid or in-flight id. Nothing is queued then.
        """
        if self._validate:
            try:
                schemas.validate_request(action, payload)
            except OcppError as exc:
                raise ValueError(
                    f"invalid {action}Request: {exc.code}: {exc.description}"
                ) from exc
        message_id = self._new_message_id()
        if not _is_valid_message_id(message_id):
            raise ValueError(f"message id generator returned an invalid id: {message_id!r}")
        if message_id in self._in_flight_ids():
            raise ValueError(f"message id generator returned an id in use: {message_id!r}")
        try:
            frame = _dumps([CALL, message_id, action, payload])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{action}Request payload is not serializable: {exc}") from exc
        self._queue.append(_OutgoingCall(message_id, action, payload, frame))
        self._start_next_call(now)
        return message_id

    def send_result(self, message_id: str, action: str, payload: dict[str, Any]) -> None:
        """Answer an incoming CALL with a CALLRESULT.

        If the payload fails the ``<action>Response`` schema, or ``action`` is not the
        action of that CALL, that is our bug: an InternalError CALLERROR (no details) is
        sent instead and a LocalProtocolError event is emitted. Then collect data_to_send()
        and events_received().

        Args:
            message_id: Message id of the CallReceived being answered.
            action: Action of that CALL.
            payload: Response payload (wire form).
        """
        expected_action = self._take_awaiting(message_id, action)
        if expected_action is None:
            return
        problem: str | None = None
        if action != expected_action:
            problem = f"answered {expected_action} CALL as {action}"
        elif self._validate:
            try:
                schemas.validate_response(action, payload)
            except OcppError as exc:
                problem = f"invalid {action}Response: {exc.code}: {exc.description}"
        if problem is None:
            try:
                self._to_send.append(_dumps([CALLRESULT, message_id, payload]))
                return
            except (TypeError, ValueError) as exc:
                problem = f"{action}Response payload is not serializable: {exc}"
        self._events.append(LocalProtocolError(message_id, expected_action, problem))
        self._to_send.append(
            _call_error_frame(message_id, InternalError(_INTERNAL_ERROR_DESCRIPTION))
        )

    def send_error(self, message_id: str, error: OcppError) -> None:
        """Answer an incoming CALL with a CALLERROR carrying ``error``'s code.

        The description is cut to 255 characters (§4.2.3 Table 7); details that are not a
        serializable JSON object are replaced by ``{}``. Then collect data_to_send().

        Args:
            message_id: Message id of the CallReceived being answered.
            error: The error to report, e.g. ``SecurityError("not accepted yet")``.

        Raises:
            TypeError: ``error`` is not an OcppError (programming error).
        """
        if not isinstance(error, OcppError):
            raise TypeError(f"send_error needs an OcppError, got {type(error).__name__}")
        if self._take_awaiting(message_id, "") is None:
            return
        self._to_send.append(_call_error_frame(message_id, error))

    # ------------------------------------------------------------------ time and link

    def tick(self, now: float) -> None:
        """Expire the outstanding CALL if its deadline has passed, then start the next one.

        Call it at next_deadline() (earlier or later is harmless), then collect
        events_received(), data_to_send() and next_deadline().
        """
        deadline = self.next_deadline()
        if deadline is None or now < deadline:
            return
        expired = self._outstanding
        assert expired is not None  # next_deadline() is None otherwise
        self._outstanding = None
        self._events.append(CallTimedOut(expired.message_id, expired.action))
        self._start_next_call(now)

    def connection_lost(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Forget all per-connection state (see module docstring).

        Returns:
            ``(message_id, action, payload)`` of the outstanding CALL and then the queued
            CALLs, oldest first: requests that got no reply and may never have arrived.
        """
        lost: list[tuple[str, str, dict[str, Any]]] = []
        if self._outstanding is not None:
            lost.append(
                (self._outstanding.message_id, self._outstanding.action, self._outstanding.payload)
            )
        lost.extend((call.message_id, call.action, call.payload) for call in self._queue)
        self._outstanding = None
        self._queue.clear()
        self._awaiting_answer.clear()
        # Frames not written yet belong to the dead connection; replies in them would answer
        # CALLs the peer no longer waits for, and our CALLs among them are returned above.
        self._to_send.clear()
        return lost

    # ------------------------------------------------------------------ incoming

    def receive_text(self, text: str, now: float) -> None:
        """Handle one text frame from the peer. Never raises.

        Then collect events_received(), data_to_send() and next_deadline().

        Args:
            text: The frame as received (a websocket text message).
            now: Current time; the send time of a queued CALL that goes out because this
                frame completed the outstanding one.
        """
        self._handling_call_id = None
        try:
            self._receive(text, now)
        except Exception as exc:  # noqa: BLE001 - peer input must never raise (STYLE §6)
            call_id = self._handling_call_id
            self._events.append(
                LocalProtocolError(
                    call_id or "",
                    "",
                    f"bug while handling a received frame: {type(exc).__name__}: {exc}",
                )
            )
            if call_id is not None:
                self._to_send.append(
                    _call_error_frame(call_id, InternalError(_INTERNAL_ERROR_DESCRIPTION))
                )
        finally:
            self._handling_call_id = None

    def _receive(self, text: str, now: float) -> None:
        try:
            message = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, TypeError, RecursionError):
            # §4.2.3: a corrupt message is answered with "-1" as MessageId.
            self._reject(text, UNKNOWN_MESSAGE_ID, RpcFrameworkError("Message is not valid JSON"))
            return
        if not isinstance(message, list) or not message:
            self._reject(
                text, UNKNOWN_MESSAGE_ID, RpcFrameworkError("Message is not a non-empty JSON array")
            )
            return
        type_id = message[0]
        raw_id = message[1] if len(message) > 1 else None
        echo_id = raw_id if _is_valid_message_id(raw_id) else UNKNOWN_MESSAGE_ID
        if type(type_id) is not int:  # bool is an int subclass; 2.0 is not an integer
            self._reject(text, echo_id, RpcFrameworkError("MessageTypeId is not an integer"))
            return
        if type_id == CALL:
            self._receive_call(text, message)
        elif type_id in (CALLRESULT, CALLERROR):
            self._receive_reply(text, message, type_id, now)
        else:
            # §4.1.3: ignore the payload; §4.4: answer MessageTypeNotSupported.
            self._reject(
                text,
                echo_id,
                MessageTypeNotSupported(f"Message type {type_id} is not supported"),
            )

    def _receive_call(self, text: str, message: list[Any]) -> None:
        raw_id = message[1] if len(message) > 1 else None
        if not _is_valid_message_id(raw_id):
            self._reject(
                text,
                UNKNOWN_MESSAGE_ID,
                RpcFrameworkError(
                    f"MessageId must be a string of 1 to {MAX_MESSAGE_ID_LENGTH} characters"
                ),
            )
            return
        message_id: str = raw_id
        # From here on a bug is answered with InternalError for this id (safety net).
        self._handling_call_id = message_id
        if len(message) != 4:  # §4.2.1: a CALL always consists of 4 elements
            self._reject(
                text,
                message_id,
                RpcFrameworkError(f"CALL must have 4 elements, got {len(message)}"),
            )
            return
        action = message[2]
        if not isinstance(action, str):
            self._reject(text, message_id, RpcFrameworkError("Action is not a string"))
            return
        if message_id in self._awaiting_answer:
            # §4.2.3: "an existing call with the same unique identifier is being handled".
            self._reject(
                text,
                message_id,
                RpcFrameworkError("MessageId is in use by a CALL that is still being handled"),
            )
            return
        if action not in schemas.ACTIONS:
            self._reject(
                text, message_id, NotImplementedAction(f"Action {_short(action)} is not known")
            )
            return
        if action not in self._supported:
            self._reject(text, message_id, NotSupported(f"{action}Request not supported"))
            return
        payload = message[3]
        try:
            if self._validate:
                schemas.validate_request(action, payload)
            elif not isinstance(payload, dict):
                raise FormatViolation("$: payload must be a JSON object")
        except OcppError as exc:
            self._reject(text, message_id, exc)
            return
        self._awaiting_answer[message_id] = action
        self._events.append(CallReceived(message_id, action, payload))
        self._handling_call_id = None  # delivered: the shell answers it now

    def _receive_reply(self, text: str, message: list[Any], type_id: int, now: float) -> None:
        kind = "CALLRESULT" if type_id == CALLRESULT else "CALLERROR"
        raw_id = message[1] if len(message) > 1 else None
        call = self._outstanding
        if call is None or not isinstance(raw_id, str) or raw_id != call.message_id:
            # Never answer a reply (would risk CALLERROR ping-pong); just report it.
            self._events.append(
                ProtocolViolation(
                    text, f"{kind} does not answer our outstanding CALL; dropped"
                )
            )
            return
        self._outstanding = None
        if type_id == CALLRESULT:
            self._complete_with_result(text, call, message)
        else:
            self._complete_with_error(text, call, message)
        self._start_next_call(now)

    def _complete_with_result(self, text: str, call: _OutgoingCall, message: list[Any]) -> None:
        error: OcppError | None = None
        if len(message) != 3:  # §4.2.2: a CALLRESULT always consists of 3 elements
            error = RpcFrameworkError(f"CALLRESULT must have 3 elements, got {len(message)}")
        else:
            payload = message[2]
            try:
                if self._validate:
                    schemas.validate_response(call.action, payload)
                elif not isinstance(payload, dict):
                    raise FormatViolation("$: payload must be a JSON object")
            except OcppError as exc:
                error = exc
        if error is None:
            self._events.append(CallResultReceived(call.message_id, call.action, message[2]))
            return
        self._events.append(
            ProtocolViolation(
                text, f"invalid {call.action} CALLRESULT: {error.code}: {error.description}"
            )
        )
        self._events.append(
            CallErrorReceived(call.message_id, call.action, error.code, error.description, {})
        )

    def _complete_with_error(self, text: str, call: _OutgoingCall, message: list[Any]) -> None:
        # §4.2.3: [4, id, errorCode, errorDescription, errorDetails]. Read what is there: the
        # CALL failed either way, and the block needs to hear about it.
        code = message[2] if len(message) > 2 else None
        description = message[3] if len(message) > 3 else ""
        details = message[4] if len(message) > 4 else {}
        well_formed = (
            len(message) == 5
            and isinstance(code, str)
            and isinstance(description, str)
            and isinstance(details, dict)
        )
        if not well_formed:
            self._events.append(ProtocolViolation(text, "malformed CALLERROR; read leniently"))
        self._events.append(
            CallErrorReceived(
                call.message_id,
                call.action,
                code if isinstance(code, str) else RpcFrameworkError.code,
                description if isinstance(description, str) else "",
                details if isinstance(details, dict) else {},
            )
        )

    # ------------------------------------------------------------------ internals

    def _reject(self, text: str, message_id: str, error: OcppError) -> None:
        """Answer bad peer input with a CALLERROR and report it."""
        self._handling_call_id = None  # answered
        self._to_send.append(_call_error_frame(message_id, error))
        self._events.append(
            ProtocolViolation(text, f"answered with {error.code}: {error.description}")
        )

    def _start_next_call(self, now: float) -> None:
        if self._outstanding is not None or not self._queue:
            return
        call = self._queue.popleft()
        call.sent_at = now
        self._outstanding = call
        self._to_send.append(call.frame)

    def _take_awaiting(self, message_id: str, action: str) -> str | None:
        """Forget an incoming CALL being answered; None (and an event) if it was not known."""
        expected = self._awaiting_answer.pop(message_id, None)
        if expected is None:
            self._events.append(
                LocalProtocolError(
                    message_id,
                    action,
                    "answer to a CALL that is not awaiting one (answered twice, unknown id, "
                    "or received before connection_lost()); not sent",
                )
            )
        return expected

    def _in_flight_ids(self) -> set[str]:
        ids = {call.message_id for call in self._queue}
        if self._outstanding is not None:
            ids.add(self._outstanding.message_id)
        return ids
