"""What a handler of a CSMS -> CS CALL returns.

A handler is ``handler(message_id, request) -> response | Reply | Deferred``: it gets the
action's request model (``<Action>Request``, parsed by the session after the edge's schema
check) and returns the response model (``<Action>Response``), a :class:`Reply` (the response
plus work to do once it is on its way, e.g. the NotifyReport pages of B07.FR.03 or the
triggered message of F06.FR.04), or :class:`Deferred` when another actor must answer first
(``defer`` on the session's reply port makes one; its finisher returns a response or a
:class:`Reply` too). It raises an :class:`~ocppj.errors.OcppError` to answer with a CALLERROR.
The session turns the response into the wire payload (``station.session``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from messages.ocpp201 import OcppModel

# How long a CALL waits for another actor's answer before the session answers InternalError.
DEFERRED_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Reply:
    """A response model plus work to do right after the response is queued."""

    response: OcppModel
    then: Callable[[], None] | None = None


@dataclass(frozen=True)
class Deferred:
    """The answer comes later, from the session's ``resolve_deferred``."""

    correlation_id: str
    timeout: float = DEFERRED_TIMEOUT_S


# The request is the action's ``<Action>Request``; typed as Any so that a block's
# ``on_<action>(message_id, request: ResetRequest)`` fits without a cast.
Handler = Callable[[str, Any], "OcppModel | Reply | Deferred"]
