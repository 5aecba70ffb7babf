"""Let a block handler speak OCPP models while the session still speaks dicts.

A handler registered with the session takes ``(message_id, payload: dict)`` and returns a
dict, a :class:`~ports.outcome.Reply` or a :class:`~ports.outcome.Deferred`. A typed
handler takes ``(message_id, request: <Action>Request)`` and returns ``<Action>Response``,
``Reply(<Action>Response, then=...)`` or ``Deferred``::

    session.route("Reset", typed_handler("Reset", self.on_reset))

    def on_reset(self, message_id: str, request: ResetRequest) -> ResetResponse | Reply: ...

:func:`typed_handler` only wraps a function; it does not care how the wrapped handler is
registered, so it works with ``session.route`` today and with a routing table tomorrow.
Once every block is typed, the session itself can parse and serialise, and this module goes.

The payload reaching a handler has already passed the JSON schema at the edge (with its
CALLERROR codes), and the models accept exactly what the schemas accept, so parsing here
does not fail on anything a CSMS can send; if it does, it is our bug and the session answers
InternalError as for any handler exception.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from messages.ocpp201 import OcppModel, model_class, to_wire
from ports.outcome import Deferred, Reply

TypedHandler = Callable[[str, Any], "OcppModel | Reply | Deferred"]


def typed_handler(action: str, fn: TypedHandler) -> Callable[[str, dict], dict | Reply | Deferred]:
    """Wrap ``fn`` (request model in, response model out) as a dict handler for ``action``."""
    request_class = model_class(action, "request")

    @functools.wraps(fn)
    def handler(message_id: str, payload: dict) -> dict | Reply | Deferred:
        return wire_outcome(action, fn(message_id, request_class.model_validate(payload)))

    return handler


def wire_outcome(action: str, outcome: OcppModel | Reply | Deferred) -> dict | Reply | Deferred:
    """A typed handler's answer as the session takes it (also for ``Deferred`` finishers).

    Raises:
        TypeError: the response is not ``<action>Response`` (a bug in the handler).
    """
    if isinstance(outcome, Deferred):
        return outcome
    if isinstance(outcome, Reply):
        return Reply(_response_payload(action, outcome.payload), outcome.then)
    return _response_payload(action, outcome)


def _response_payload(action: str, response: OcppModel) -> dict:
    expected = model_class(action, "response")
    if not isinstance(response, expected):
        raise TypeError(f"{action} handler returned {type(response).__name__}, "
                        f"not {expected.__name__}")
    return to_wire(response)
