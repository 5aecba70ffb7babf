"""What a handler of a CSMS -> CS CALL returns.

A handler is ``handler(message_id, payload) -> payload | Reply | Deferred``: the response
payload, a :class:`Reply` (payload plus work to do once the response is on its way, e.g. the
NotifyReport pages of B07.FR.03 or the triggered message of F06.FR.04), or :class:`Deferred`
when another actor must answer first (``defer`` on the session's reply port makes one). It
raises an :class:`~ocppj.errors.OcppError` to answer with a CALLERROR.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# How long a CALL waits for another actor's answer before the session answers InternalError.
DEFERRED_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Reply:
    """A response payload plus work to do right after the response is queued."""

    payload: dict
    then: Callable[[], None] | None = None


@dataclass(frozen=True)
class Deferred:
    """The answer comes later, from the session's ``resolve_deferred``."""

    correlation_id: str
    timeout: float = DEFERRED_TIMEOUT_S


Handler = Callable[[str, dict], "dict | Reply | Deferred"]
