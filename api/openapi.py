"""The OpenAPI 3.1 document of the control API, generated from the route table.

The document is built from :data:`api.server.ROUTES` (the table the server dispatches with),
the pydantic request models and the gateway's ``*View`` TypedDicts, so it cannot list a route
the server does not have or miss one it has. OpenAPI 3.1 schemas are JSON Schema 2020-12,
which is what pydantic emits; nested types go to ``components/schemas``.

``GET /api/openapi.json`` serves it; ``python -m api.openapi`` prints it.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter

if TYPE_CHECKING:
    from api.server import Route

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"

_REF = "#/components/schemas/{model}"

_STATUS_TEXT = {
    400: "The request is malformed or names something the station does not have.",
    403: "The operation is disabled (EnableExternalWebsocketControl is false).",
    404: "No such EVSE.",
    405: "The path exists but not with this method (see the Allow header).",
    409: "The station refuses the input in its current state (e.g. a plug is already in).",
    411: "Chunked request bodies are not supported.",
    413: "The request body is too large.",
    415: "The request body is not application/json.",
    500: "An unexpected error in the station (details are in its log).",
    503: "The station did not answer in time.",
}


def build_document(routes: Iterable[Route]) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document for ``routes``.

    Args:
        routes: the server's route table (:data:`api.server.ROUTES`).

    Returns:
        The document as a JSON-ready dict.
    """
    from api.server import ErrorResponse  # not at import time: api.server imports this module

    components: dict[str, Any] = {}
    error_ref = _schema_ref(ErrorResponse, components)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "operationId": route.operation_id,
            "summary": route.summary,
            "responses": {"200": {
                "description": "OK",
                "content": {"application/json": {"schema": _schema_ref(route.response,
                                                                         components)}}}},
        }
        if "{id}" in route.path:
            operation["parameters"] = [{
                "name": "id", "in": "path", "required": True, "description": "The EVSE id.",
                "schema": {"type": "integer", "minimum": 1}}]
        if route.body is not None:
            operation["requestBody"] = {
                # A body whose fields all have defaults may be omitted.
                "required": any(field.is_required() for field in route.body.model_fields.values()),
                "content": {"application/json": {"schema": _schema_ref(route.body, components)}},
            }
        statuses = set(route.errors) | {405}
        if route.body is not None:
            statuses |= {400, 411, 413, 415}
        for status in sorted(statuses):
            operation["responses"][str(status)] = {
                "description": _STATUS_TEXT[status],
                "content": {"application/json": {"schema": error_ref}}}
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "OCPP 2.0.1 charging station control API",
            "version": API_VERSION,
            "description": (
                "Operate the station and its simulated EVSEs: read the station and EVSEs, plug "
                "cables in and out, present tokens, drive the EV, raise faults, and (with "
                "EnableExternalWebsocketControl) drop and restore the CSMS connection. Every "
                "error is {\"error\": reason}. No authentication: bind it to 127.0.0.1."),
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(components.items()))},
    }


def _schema_ref(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    """Put the JSON schema of ``tp`` (and its nested types) into ``components``; return a
    ``$ref`` to it, or the inline schema for an anonymous type such as ``dict``."""
    if tp is dict:
        return {"type": "object"}
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        schema = tp.model_json_schema(ref_template=_REF, mode="validation")
    else:
        schema = TypeAdapter(tp).json_schema(ref_template=_REF, mode="serialization")
    components.update(schema.pop("$defs", {}))
    name = tp.__name__
    components[name] = schema
    return {"$ref": _REF.format(model=name)}


def main() -> None:
    """Print the document (``python -m api.openapi > openapi.json``)."""
    from api.server import ROUTES
    json.dump(build_document(ROUTES), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
