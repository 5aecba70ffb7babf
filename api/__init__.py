"""The HTTP/JSON control API (issue 3, item 9): :class:`ControlApi` over a :class:`StationGateway`.

``api.gateway`` is the seam (a Protocol and its errors), ``api.server`` the HTTP layer,
``api.openapi`` the generated OpenAPI 3.1 document.
"""
from api.gateway import (Conflict, Forbidden, GatewayError, InvalidRequest, StationGateway,
                         Unavailable, UnknownEvse)
from api.server import ControlApi

__all__ = ["ControlApi", "StationGateway", "GatewayError", "InvalidRequest", "Forbidden",
           "UnknownEvse", "Conflict", "Unavailable"]
