"""JSON-schema validation of OCPP 2.0.1 payloads, mapped to OCPP-J error codes.

Theory of operation
-------------------
The official OCPP 2.0.1 JSON schemas (draft-06) ship with the ``ocpp`` package under
``ocpp/v201/schemas/<Action>Request.json`` and ``<Action>Response.json``. They are read with
:mod:`importlib.resources`, so nothing here needs the source tree or ``/work/shared`` at run
time. :data:`ACTIONS` is the set of actions that have a Request schema there (64 for 2.0.1).

Each schema is compiled into a :class:`jsonschema.Draft6Validator` the first time its action
is validated and the validator is cached for the life of the process; :func:`preload` compiles
all of them up front (e.g. at start-up, so the first message is not slower than the rest).

Validation is a fast ``is_valid`` pass; only a failing payload pays for collecting every
error. When a payload has several errors, :func:`jsonschema.exceptions.best_match` picks one
(deterministically: same payload, same error; it prefers the error nearest the payload root).
That error is mapped to an OCPP-J error code (part 4 §4.3 Table 8):

=====================================================  ===============================
jsonschema keyword that failed                         OCPP-J error code
=====================================================  ===============================
payload is not a JSON object (root ``type``)           FormatViolation
``additionalProperties`` (unknown field)               FormatViolation
``required`` (field missing)                           OccurrenceConstraintViolation
``minItems`` / ``maxItems`` (list cardinality)         OccurrenceConstraintViolation
``type`` below the root (``"somestring": 12``)         TypeConstraintViolation
``enum``, ``const``, ``maxLength``, ``minLength``,     PropertyConstraintViolation
``maximum``, ``minimum``, ``exclusiveMaximum``,
``exclusiveMinimum``, ``multipleOf``, ``pattern``,
``format``, ``uniqueItems``
anything else                                          FormatViolation
=====================================================  ===============================

Why: Table 8 defines OccurrenceConstraintViolation as "violates occurrence constraints", i.e.
cardinality (a required field is 1..1, a list is 1..* or 0..N), and part 2 uses it for "more
elements than allowed" (B06.FR.16, B08.FR.17, N06.FR.06). TypeConstraintViolation's own example
is ``"somestring": 12``. PropertyConstraintViolation is "a field contains an invalid value".
An unknown field or a payload that is not an object is not "syntactically correct", so it is a
FormatViolation ("Payload for Action is syntactically incorrect"). Neither part 4 nor the part 6
test cases prescribe a code per schema keyword (OCTT only checks CALLERROR for SecurityError and
NotSupported), so this table is our reading of Table 8.

The error description is ``"<JSON path>: <reason>"``, e.g.
``"$.chargingStation.model: required property missing"``. It never contains the offending
value: descriptions end up in CALLERRORs and log files, and the value might be a secret.

``date-time`` is the only ``format`` the 2.0.1 schemas use. jsonschema only checks it when the
optional ``rfc3339-validator`` package is installed, so we check it ourselves, as leniently as
libocpp does: ``YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]``, offset optional (some CSMSs omit
it), any number of fraction digits, and the fields must form a real date and time.
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.resources
import json
import re
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from ocppj.errors import (
    FormatViolation,
    NotImplementedAction,
    OccurrenceConstraintViolation,
    OcppError,
    PropertyConstraintViolation,
    TypeConstraintViolation,
)

__all__ = ["ACTIONS", "preload", "validate_request", "validate_response"]

_SCHEMA_DIR = importlib.resources.files("ocpp.v201").joinpath("schemas")
_REQUEST_SUFFIX = "Request.json"
_RESPONSE_SUFFIX = "Response.json"

#: Every OCPP 2.0.1 action name (CALL "Action" field, part 4 §4.1.6: message name without the
#: "Request" suffix), in both directions.
ACTIONS: frozenset[str] = frozenset(
    entry.name[: -len(_REQUEST_SUFFIX)]
    for entry in _SCHEMA_DIR.iterdir()
    if entry.name.endswith(_REQUEST_SUFFIX)
)

_OCCURRENCE_KEYWORDS = frozenset({"required", "minItems", "maxItems"})
_PROPERTY_KEYWORDS = frozenset(
    {
        "enum",
        "const",
        "maxLength",
        "minLength",
        "maximum",
        "minimum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "multipleOf",
        "pattern",
        "format",
        "uniqueItems",
    }
)

# Lenient RFC 3339 / ISO 8601 date-time as libocpp accepts it (offset optional).
_DATE_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:[Zz]|([+-])(\d{2}):(\d{2}))?$"
)

_FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@_FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """Return whether ``value`` is an OCPP dateTime; non-strings are the ``type`` check's job."""
    if not isinstance(value, str):
        return True
    match = _DATE_TIME_RE.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    # Leap second 23:59:60 is legal in RFC 3339; datetime cannot represent it.
    _dt.datetime(year, month, day, hour, minute, min(second, 59))  # raises ValueError if bogus
    if second > 60 or (second == 60 and (hour, minute) != (23, 59)):
        return False
    if match.group(8) is not None and (int(match.group(9)) > 23 or int(match.group(10)) > 59):
        return False
    return True


def _load_schema(file_name: str) -> dict[str, Any]:
    return json.loads(_SCHEMA_DIR.joinpath(file_name).read_text(encoding="utf-8"))


@functools.cache
def _validator(action: str, suffix: str) -> jsonschema.Draft6Validator:
    """Compile (once) the validator for ``<action><suffix>``; ``action`` must be in ACTIONS."""
    schema = _load_schema(action + suffix)
    return jsonschema.Draft6Validator(schema, format_checker=_FORMAT_CHECKER)


def preload() -> None:
    """Compile every request and response validator now instead of on first use."""
    for action in ACTIONS:
        _validator(action, _REQUEST_SUFFIX)
        _validator(action, _RESPONSE_SUFFIX)


def validate_request(action: str, payload: Any) -> None:
    """Validate the payload of a CALL against ``<action>Request.json``.

    Args:
        action: OCPP action name, e.g. ``"BootNotification"``.
        payload: The decoded JSON payload.

    Raises:
        NotImplementedAction: ``action`` is not an OCPP 2.0.1 action.
        OcppError: The subclass matching the first (best-matching) schema violation; see the
            module docstring for the mapping.
    """
    _validate(action, payload, _REQUEST_SUFFIX)


def validate_response(action: str, payload: Any) -> None:
    """Validate the payload of a CALLRESULT against ``<action>Response.json``.

    Args:
        action: Action of the CALL this result answers.
        payload: The decoded JSON payload.

    Raises:
        NotImplementedAction: ``action`` is not an OCPP 2.0.1 action.
        OcppError: The subclass matching the best-matching schema violation.
    """
    _validate(action, payload, _RESPONSE_SUFFIX)


def _validate(action: str, payload: Any, suffix: str) -> None:
    if action not in ACTIONS:
        raise NotImplementedAction(f"Unknown action {str(action)[:60]!r}")
    # Part 4 §4.1.5: the payload is a JSON object. Checked before the schema so that a
    # list/null/number payload is a FormatViolation rather than a root "type" error.
    if not isinstance(payload, dict):
        raise FormatViolation(f"$: payload must be a JSON object, got {_json_type(payload)}")
    validator = _validator(action, suffix)
    if validator.is_valid(payload):
        return
    error = best_match(validator.iter_errors(payload))
    raise _to_ocpp_error(error)


def _to_ocpp_error(error: ValidationError) -> OcppError:
    """Map one jsonschema error to the OCPP-J error that describes it (see module table)."""
    keyword = error.validator
    path = list(error.absolute_path)
    value = error.validator_value
    instance = error.instance
    if keyword == "required":
        missing = [name for name in value if isinstance(instance, dict) and name not in instance]
        name = missing[0] if missing else "?"
        return OccurrenceConstraintViolation(
            f"{_json_path(path + [name])}: required property missing"
        )
    if keyword == "additionalProperties":
        allowed = error.schema.get("properties", {})
        extra = [k for k in instance if k not in allowed] if isinstance(instance, dict) else []
        where = _json_path(path + [extra[0]]) if extra else _json_path(path)
        return FormatViolation(f"{where}: property not allowed by the schema")
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        return OccurrenceConstraintViolation(f"{_json_path(path)}: expected {bound} {value} items")
    if keyword == "type":
        if not path:
            return FormatViolation(f"$: payload must be a JSON object, got {_json_type(instance)}")
        return TypeConstraintViolation(
            f"{_json_path(path)}: expected {_type_name(value)}, got {_json_type(instance)}"
        )
    if keyword in _PROPERTY_KEYWORDS:
        reason = _property_reason(keyword, value)
        return PropertyConstraintViolation(f"{_json_path(path)}: {reason}")
    return FormatViolation(f"{_json_path(path)}: violates schema keyword {keyword!r}")


def _property_reason(keyword: str, value: Any) -> str:
    reasons = {
        "enum": "not one of the allowed values",
        "const": "not the required constant",
        "maxLength": f"longer than {value} characters",
        "minLength": f"shorter than {value} characters",
        "maximum": f"greater than {value}",
        "minimum": f"less than {value}",
        "exclusiveMaximum": f"not less than {value}",
        "exclusiveMinimum": f"not greater than {value}",
        "multipleOf": f"not a multiple of {value}",
        "pattern": "does not match the required pattern",
        "format": f"not a valid {value}",
        "uniqueItems": "items are not unique",
    }
    return reasons[keyword]


_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _json_path(path: list[Any]) -> str:
    """Render a jsonschema path deque as a JSONPath such as ``$.evse[0].id``."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER_RE.match(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part)[:60]}]")
    return "".join(out)


def _type_name(value: Any) -> str:
    if isinstance(value, list):
        return " or ".join(str(v) for v in value)
    return str(value)


def _json_type(instance: Any) -> str:
    """Name the JSON type of a decoded value (never the value itself)."""
    if instance is None:
        return "null"
    if isinstance(instance, bool):
        return "boolean"
    if isinstance(instance, int):
        return "integer"
    if isinstance(instance, float):
        return "number"
    if isinstance(instance, str):
        return "string"
    if isinstance(instance, list):
        return "array"
    if isinstance(instance, dict):
        return "object"
    return type(instance).__name__
