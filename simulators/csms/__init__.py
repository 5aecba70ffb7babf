"""Embedded / test CSMS: a small but real OCPP 2.0.1 CSMS over OCPP-J.

Tests, benchmarks and ``python -m simulators.csms`` use what this package
exports; `server` explains how the modules share the work:

- ``server``: `CsmsServer`, the websocket server and its blocking API.
- ``connection``: one station's websocket on the server's loop.
- ``protocol``: OCPP-J framing and checks, without I/O.
- ``schemas``: the simulator's own JSON-schema check (an independent oracle
  for the station's framing code; ``ocppj.schemas`` is not used).
- ``answers``: scripted and default answers, registration state (B02, B03).
- ``record``: what was received and sent, and the waits tests use.
- ``handshake``: who may connect (part 4 §3, security profile 1).
- ``cli``: the command line.
"""

from simulators.csms.answers import NO_REPLY, CallErrorReply
from simulators.csms.cli import main
from simulators.csms.protocol import (
    ALL_ACTIONS,
    CS_TO_CSMS_ACTIONS,
    CSMS_TO_CS_ACTIONS,
    CallErrorResult,
    PayloadViolation,
)
from simulators.csms.record import Frame, Received
from simulators.csms.schemas import schema_violation
from simulators.csms.server import CsmsServer

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
    "schema_violation",
]
