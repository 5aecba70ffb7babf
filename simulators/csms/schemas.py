"""The test CSMS's own JSON-schema check of OCPP 2.0.1 payloads.

It reads the schemas shipped in ``ocpp/v201/schemas`` directly and does not use
``ocppj.schemas``, so the simulator stays an independent oracle for the station's
own framing code. A violation maps to the OCPP-J error code of part 4 §4.3.
"""

from __future__ import annotations

import datetime
import functools
import importlib.resources
import json
import re
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@_FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    # jsonschema only checks date-time when rfc3339-validator is installed; a
    # CSMS has to reject "yesterday" in a timestamp either way.
    if not isinstance(value, str):
        return True  # the "type" keyword reports this one
    m = _RFC3339.match(value)
    if m is None:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    datetime.datetime(year, month, day, hour, minute, min(second, 59))  # leap second ok
    return True


# Schema keyword -> OCPP-J error code (part 4 §4.3 table). Anything not listed
# is an out-of-range value: PropertyConstraintViolation.
_CODE_BY_KEYWORD = {
    "additionalProperties": "FormatViolation",
    "required": "OccurrenceConstraintViolation",
    "minItems": "OccurrenceConstraintViolation",
    "maxItems": "OccurrenceConstraintViolation",
    "type": "TypeConstraintViolation",
    "format": "TypeConstraintViolation",
    "maxLength": "TypeConstraintViolation",   # string[N] is the datatype
    "minLength": "TypeConstraintViolation",
}


@functools.cache
def _validator(schema_name: str) -> Any:
    path = importlib.resources.files("ocpp.v201") / "schemas" / f"{schema_name}.json"
    schema = json.loads(path.read_text(encoding="utf-8-sig"))  # the files carry a BOM
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=_FORMAT_CHECKER)


def schema_violation(action: str, payload: Any, *, response: bool) -> tuple[str, str] | None:
    """Check a payload against the OCPP 2.0.1 schema of ``action``.

    Args:
        action: an OCPP 2.0.1 action name (see `protocol.ALL_ACTIONS`).
        payload: the decoded JSON payload.
        response: check ``<Action>Response`` instead of ``<Action>Request``.

    Returns:
        None when valid, else ``(error_code, description)``.
    """
    if not isinstance(payload, dict):
        # part 4 §4.1.5: the payload is always a JSON object.
        return "FormatViolation", f"payload must be a JSON object, got {type(payload).__name__}"
    validator = _validator(action + ("Response" if response else "Request"))
    error = best_match(validator.iter_errors(payload))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(payload)"
    code = _CODE_BY_KEYWORD.get(str(error.validator), "PropertyConstraintViolation")
    return code, f"{where}: {error.message}"
