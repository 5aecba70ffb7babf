"""Between wire dicts and the OCPP 2.0.1 models: :func:`from_wire` and :func:`to_wire`.

The edge (``ocppj.schemas``) still validates every frame against the JSON schemas and picks
the CALLERROR code; these functions come after it. A payload that passed the schema always
parses (the models accept exactly what the schemas accept, tested per schema in
``tests/unit/test_ocpp_models.py``), so a failure here is a bug of ours, not the CSMS's.
"""
from __future__ import annotations

from typing import Any, Literal

from messages.ocpp201.base import OcppModel
from messages.ocpp201.calls import REQUESTS
from messages.ocpp201.results import RESPONSES

_TABLES = {"request": REQUESTS, "response": RESPONSES}


def model_class(action: str, kind: Literal["request", "response"]) -> type[OcppModel]:
    """The model of ``action``'s request or response; KeyError for an unknown action."""
    return _TABLES[kind][action]


def from_wire(action: str, payload: dict[str, Any],
              kind: Literal["request", "response"]) -> OcppModel:
    """Parse a wire payload (keys as on the wire) into the action's model.

    Raises:
        KeyError: unknown action or kind.
        pydantic.ValidationError: the payload does not fit the schema.
    """
    return _TABLES[kind][action].model_validate(payload)


def to_wire(model: OcppModel) -> dict[str, Any]:
    """The wire dict of a model: wire names, enums as their values, tuples as lists.

    Absent optional fields (None) are left out: no 2.0.1 schema allows null for a typed field.
    The two places where null is a valid value (CustomDataType's extra keys, DataTransfer's
    ``data``) keep it (``KeepsNulls``).
    """
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)
