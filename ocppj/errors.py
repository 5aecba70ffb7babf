"""OCPP-J RPC framework errors (OCPP 2.0.1 part 4, §4.3 Table 8).

Class hierarchy::

    Exception
     └── OcppError                        code = "GenericError"
          ├── FormatViolation                "FormatViolation"
          ├── GenericError                   "GenericError"
          ├── InternalError                  "InternalError"
          ├── MessageTypeNotSupported        "MessageTypeNotSupported"
          ├── NotImplementedAction           "NotImplemented"
          ├── NotSupported                   "NotSupported"
          ├── OccurrenceConstraintViolation  "OccurrenceConstraintViolation"
          ├── PropertyConstraintViolation    "PropertyConstraintViolation"
          ├── ProtocolError                  "ProtocolError"
          ├── RpcFrameworkError              "RpcFrameworkError"
          ├── SecurityError                  "SecurityError"
          └── TypeConstraintViolation        "TypeConstraintViolation"

One class per error code, so a handler can ``raise SecurityError("...")`` and the shell turns
it into a CALLERROR with :meth:`ocppj.rpc.RpcEndpoint.send_error` without a lookup table.
``NotImplementedAction`` is not called ``NotImplemented`` because that name is a Python
builtin constant; its wire code is still ``"NotImplemented"``.

:data:`ERRORS_BY_CODE` maps a wire code back to its class, e.g. to turn a received CALLERROR
into an exception.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ERRORS_BY_CODE",
    "FormatViolation",
    "GenericError",
    "InternalError",
    "MessageTypeNotSupported",
    "NotImplementedAction",
    "NotSupported",
    "OccurrenceConstraintViolation",
    "OcppError",
    "PropertyConstraintViolation",
    "ProtocolError",
    "RpcFrameworkError",
    "SecurityError",
    "TypeConstraintViolation",
]


class OcppError(Exception):
    """Base class of every OCPP-J RPC framework error.

    Attributes:
        code: The ErrorCode string sent in a CALLERROR (part 4 Table 8).
        description: Human-readable ErrorDescription (part 4 Table 7: string[255]; the
            RPC layer truncates longer texts when it frames the CALLERROR).
        details: ErrorDetails JSON object; ``{}`` when there are none (part 4 Table 7:
            "If there are no error details you MUST fill in an empty object {}").
    """

    code: str = "GenericError"

    def __init__(self, description: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.details: dict[str, Any] = {} if details is None else details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r}, details={self.details!r})"


class FormatViolation(OcppError):
    """Payload for Action is syntactically incorrect."""

    code = "FormatViolation"


class GenericError(OcppError):
    """Any other error not covered by the more specific error codes."""

    code = "GenericError"


class InternalError(OcppError):
    """An internal error occurred and the receiver could not process the Action."""

    code = "InternalError"


class MessageTypeNotSupported(OcppError):
    """A message with a Message Type Number this implementation does not support (§4.4)."""

    code = "MessageTypeNotSupported"


class NotImplementedAction(OcppError):
    """Requested Action is not known by the receiver (wire code ``NotImplemented``)."""

    code = "NotImplemented"


class NotSupported(OcppError):
    """Requested Action is recognized but not supported by the receiver."""

    code = "NotSupported"


class OccurrenceConstraintViolation(OcppError):
    """Payload is syntactically correct but a field violates occurrence constraints."""

    code = "OccurrenceConstraintViolation"


class PropertyConstraintViolation(OcppError):
    """Payload is syntactically correct but a field contains an invalid value."""

    code = "PropertyConstraintViolation"


class ProtocolError(OcppError):
    """Payload for Action does not conform to the PDU structure."""

    code = "ProtocolError"


class RpcFrameworkError(OcppError):
    """Content of the message is not a valid RPC request (e.g. MessageId unreadable)."""

    code = "RpcFrameworkError"


class SecurityError(OcppError):
    """A security issue prevented the receiver from completing the Action."""

    code = "SecurityError"


class TypeConstraintViolation(OcppError):
    """Payload is syntactically correct but a field violates data type constraints."""

    code = "TypeConstraintViolation"


ERRORS_BY_CODE: dict[str, type[OcppError]] = {
    cls.code: cls
    for cls in (
        FormatViolation,
        GenericError,
        InternalError,
        MessageTypeNotSupported,
        NotImplementedAction,
        NotSupported,
        OccurrenceConstraintViolation,
        PropertyConstraintViolation,
        ProtocolError,
        RpcFrameworkError,
        SecurityError,
        TypeConstraintViolation,
    )
}
