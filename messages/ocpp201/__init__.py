"""OCPP 2.0.1 wire models, generated from the ``ocpp`` package's JSON schemas.

``enums``, ``datatypes``, ``calls`` (``<Action>Request``, ``REQUESTS``) and ``results``
(``<Action>Response``, ``RESPONSES``) are written by ``python -m tools.generate_ocpp_models``;
never edit them by hand. ``base`` and ``wire`` are hand-written. Everything is re-exported
here::

    from messages.ocpp201 import ResetRequest, ResetResponse, ResetStatusEnumType, to_wire

These are wire models, not actor messages: actor messages derive from ``messages.base.Msg``
and may carry these models as fields.
"""
from messages.ocpp201.base import DateTime, Integer, Number, OcppModel  # noqa: F401
from messages.ocpp201.enums import *  # noqa: F401,F403
from messages.ocpp201.datatypes import *  # noqa: F401,F403
from messages.ocpp201.calls import *  # noqa: F401,F403
from messages.ocpp201.results import *  # noqa: F401,F403
from messages.ocpp201.wire import from_wire, model_class, to_wire  # noqa: F401
