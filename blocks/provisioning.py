"""Functional block B, provisioning: boot data, Get/SetVariables, base and custom reports.

Registration itself (BootNotification, Heartbeat, the gating of B01-B03) belongs to
:class:`station.session.StationSession`, because every block depends on it. This block owns what
the CSMS reads and writes in the device model:

* B05 SetVariables and B06 GetVariables, one result per requested item (B05.FR.01, B06.FR.01),
  with the DeviceDataCtrlr ItemsPerMessage / BytesPerMessage limits (B06.FR.16/17);
* B07 GetBaseReport and B08 GetReport: the response first, then the NotifyReport pages
  (B07.FR.03, seqNo from 0, B07.FR.10) with ``tbc`` on every page but the last;
* the effects of a changed variable on the running session (HeartbeatInterval,
  MessageTimeout), so a value set by the CSMS takes effect without a restart.
"""
from __future__ import annotations

import logging
from typing import Callable

from device_model.model import BASE_REPORTS, COMPONENT_CRITERIA, DeviceModel
from device_model.reports import notify_report_requests
from messages.ocpp201 import (AttributeEnumType, GenericDeviceModelStatusEnumType,
                              GetBaseReportRequest, GetBaseReportResponse, GetReportRequest,
                              GetReportResponse, GetVariableResultType, GetVariablesRequest,
                              GetVariablesResponse, GetVariableStatusEnumType, OcppModel,
                              ReportDataType, SetVariableDataType, SetVariableResultType,
                              SetVariablesRequest, SetVariablesResponse, SetVariableStatusEnumType,
                              StatusInfoType, to_wire)
from ocppj.errors import FormatViolation, OccurrenceConstraintViolation
from ports.outcome import Reply
from ports.sending import SendPort, call_frame_size
from ports.session import SessionClock
from ports.time import iso

log = logging.getLogger(__name__)

# SetVariables results after which the new value is announced to the running station.
_CHANGED = (SetVariableStatusEnumType.accepted, SetVariableStatusEnumType.reboot_required)


def _status_info(status: SetVariableStatusEnumType, reason: str) -> StatusInfoType:
    """attributeStatusInfo for a SetVariableResult that is not Accepted (reason codes of the
    appendix; TC_B_11 accepts InvalidValue for a badly formatted value)."""
    if status == SetVariableStatusEnumType.rejected:
        code = "ReadOnly" if reason == "read-only" else "InvalidValue"
    elif status == SetVariableStatusEnumType.not_supported_attribute_type:
        code = "UnsupportedParam"
    else:
        code = "NotFound"
    return StatusInfoType(reason_code=code, additional_info=reason[:512])


class Provisioning:
    """Handlers for SetVariables, GetVariables, GetBaseReport and GetReport."""

    def __init__(self, session: SessionClock, sender: SendPort, device_model: DeviceModel) -> None:
        self._session = session
        self._sender = sender
        self._dm = device_model
        self._variable_listeners: list[Callable[[str, str, str | None, str], None]] = []
        self._evse_variable_listeners: list[Callable[[str, str, str | None, int, str],
                                                     None]] = []

    def on_variable_set(self, listener: Callable[[str, str, str | None, str], None]) -> None:
        """listener(component_name, variable_name, variable_instance, new_value), for
        variables of station-tier components (no evse in the ComponentType)."""
        self._variable_listeners.append(listener)

    def on_evse_variable_set(self, listener: Callable[[str, str, str | None, int, str],
                                                      None]) -> None:
        """listener(component_name, variable_name, variable_instance, evse_id, new_value), for
        variables of EVSE-tier components (and their connectors)."""
        self._evse_variable_listeners.append(listener)

    # -- limits ---------------------------------------------------------------------------------

    def _limit(self, variable: str, instance: str) -> int | None:
        value = self._dm.get_int("DeviceDataCtrlr", variable, instance=instance, default=None)
        return value if value and value > 0 else None

    def _check_limits(self, instance: str, message_id: str, action: str, request: OcppModel,
                      items: tuple) -> None:
        items_max = self._limit("ItemsPerMessage", instance)
        if items_max is not None and len(items) > items_max:
            # B06.FR.16, B08.FR.17 (and B05.FR.11 seen from the station's side)
            raise OccurrenceConstraintViolation(
                f"{len(items)} items in one {action}; ItemsPerMessage[{instance}] is {items_max}")
        bytes_max = self._limit("BytesPerMessage", instance)
        if bytes_max is not None:
            # to_wire gives back the payload as received (values as sent, customData kept);
            # only the key order may differ, which does not change the size.
            size = call_frame_size(message_id, action, to_wire(request))
            if size > bytes_max:
                # B06.FR.17, B08.FR.18
                raise FormatViolation(
                    f"{action} is {size} bytes; BytesPerMessage[{instance}] is {bytes_max}")

    # -- B06 ------------------------------------------------------------------------------------

    def on_get_variables(self, message_id: str, request: GetVariablesRequest) -> GetVariablesResponse:
        items = request.get_variable_data
        self._check_limits("GetVariables", message_id, "GetVariables", request, items)
        results = []
        for item in items:
            attribute_type = item.attribute_type or AttributeEnumType.actual  # B06.FR.11
            status, value = self._dm.get_variable(item.component, item.variable, attribute_type)
            results.append(GetVariableResultType(
                attribute_status=status, attribute_type=attribute_type,
                component=item.component, variable=item.variable,
                attribute_value=(("" if value is None else value)                # B06.FR.13
                                 if status == GetVariableStatusEnumType.accepted else None),
                attribute_status_info=(StatusInfoType(reason_code="WriteOnly")   # B06.FR.09
                                       if status == GetVariableStatusEnumType.rejected else None)))
        return GetVariablesResponse(get_variable_result=tuple(results))

    # -- B05 ------------------------------------------------------------------------------------

    def on_set_variables(self, message_id: str, request: SetVariablesRequest) -> SetVariablesResponse:
        items = request.set_variable_data
        self._check_limits("SetVariables", message_id, "SetVariables", request, items)
        results = []
        changed = []
        for item in items:
            attribute_type = item.attribute_type or AttributeEnumType.actual  # B05.FR.12
            status, reason = self._dm.set_variable_with_reason(
                item.component, item.variable, attribute_type, item.attribute_value,
                source="csms")
            results.append(SetVariableResultType(
                attribute_status=status, attribute_type=attribute_type,
                component=item.component, variable=item.variable,
                attribute_status_info=None if reason is None else _status_info(status, reason)))
            if status in _CHANGED and attribute_type == AttributeEnumType.actual:
                changed.append(item)
        for item in changed:
            self._announce(item)
        return SetVariablesResponse(set_variable_result=tuple(results))

    def _announce(self, item: SetVariableDataType) -> None:
        component, variable = item.component.name, item.variable.name
        instance = item.variable.instance
        value = item.attribute_value
        log.info("CSMS set %s.%s%s = %s", component, variable,
                 f"[{instance}]" if instance else "",
                 "***" if "Password" in variable else value)
        if item.component.evse is None:
            for listener in self._variable_listeners:
                listener(component, variable, instance, value)
        else:
            # Not station-wide: e.g. AlignedDataCtrlr.SendDuringIdle of one EVSE (J01.FR.19).
            for evse_listener in self._evse_variable_listeners:
                evse_listener(component, variable, instance, item.component.evse.id, value)

    # -- B07 / B08 ------------------------------------------------------------------------------

    def on_get_base_report(self, message_id: str,
                           request: GetBaseReportRequest) -> GetBaseReportResponse | Reply:
        if request.report_base not in BASE_REPORTS:
            return GetBaseReportResponse(                                       # B07.FR.02
                status=GenericDeviceModelStatusEnumType.not_supported)
        data = self._dm.report_data(base=request.report_base)
        if not data:
            return GetBaseReportResponse(status=GenericDeviceModelStatusEnumType.empty_result_set)
        return Reply(GetBaseReportResponse(status=GenericDeviceModelStatusEnumType.accepted),
                     then=lambda: self._send_report(request.request_id, data))  # B07.FR.01

    def on_get_report(self, message_id: str, request: GetReportRequest) -> GetReportResponse | Reply:
        criteria = request.component_criteria
        variables = request.component_variable
        if variables:
            self._check_limits("GetReport", message_id, "GetReport", request, variables)
        if criteria and any(c not in COMPONENT_CRITERIA for c in criteria):
            return GetReportResponse(status=GenericDeviceModelStatusEnumType.not_supported)  # B08.FR.02
        data = self._dm.report_data(component_criteria=criteria, component_variables=variables)
        if not data:
            return GetReportResponse(                                           # B08.FR.15
                status=GenericDeviceModelStatusEnumType.empty_result_set)
        return Reply(GetReportResponse(status=GenericDeviceModelStatusEnumType.accepted),
                     then=lambda: self._send_report(request.request_id, data))  # B08.FR.01

    def _send_report(self, request_id: int, data: list[ReportDataType]) -> None:
        requests = notify_report_requests(                                  # B07.FR.04, B07.FR.10
            data, request_id, iso(self._session.wall_clock()),
            self._limit("ItemsPerMessage", "GetReport"), self._limit("BytesPerMessage", "GetReport"))
        for request in requests:
            self._sender.send("NotifyReport", request, triggered=True)  # B02.FR.02
