"""What a block may do with the device model: read it, or report the station's own state.

``device_model.model.DeviceModel`` implements both. A block that only reads configuration
takes a :class:`DeviceModelView`; one that keeps read-only variables current (an
AvailabilityState, a Storage count) takes a :class:`DeviceModelReporter`. Only the
provisioning block, whose subject is the device model, takes the model itself.
"""
from __future__ import annotations

from typing import Any, Protocol


class DeviceModelView(Protocol):
    def get(self, component_name: str, variable_name: str, **address: Any) -> str | None: ...

    def get_int(self, component_name: str, variable_name: str, *, default: int | None = None,
                **address: Any) -> int | None: ...

    def get_float(self, component_name: str, variable_name: str, *,
                  default: float | None = None, **address: Any) -> float | None: ...

    def get_bool(self, component_name: str, variable_name: str, *,
                 default: bool | None = None, **address: Any) -> bool | None: ...

    def characteristic(self, component_name: str, variable_name: str, name: str) -> Any: ...


class DeviceModelReporter(DeviceModelView, Protocol):
    def set_internal(self, component_name: str, variable_name: str,
                     value: str | bool | int | float | None, **address: Any) -> bool:
        """Set a value the station owns (not the CSMS); False if the variable is missing."""
