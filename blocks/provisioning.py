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

from device_model.reports import paginate_report
from ocppj.errors import FormatViolation, OccurrenceConstraintViolation
from station.sender import Sender
from station.session import Reply, StationSession, iso

log = logging.getLogger(__name__)

BASE_REPORTS = ("ConfigurationInventory", "FullInventory", "SummaryInventory")
COMPONENT_CRITERIA = ("Active", "Available", "Enabled", "Problem")


def _status_info(status: str, reason: str) -> dict:
    """attributeStatusInfo for a SetVariableResult that is not Accepted (reason codes of the
    appendix; TC_B_11 accepts InvalidValue for a badly formatted value)."""
    if status == "Rejected":
        code = "ReadOnly" if reason == "read-only" else "InvalidValue"
    elif status == "NotSupportedAttributeType":
        code = "UnsupportedParam"
    else:
        code = "NotFound"
    return {"reasonCode": code, "additionalInfo": reason[:512]}


class Provisioning:
    """Handlers for SetVariables, GetVariables, GetBaseReport and GetReport."""

    def __init__(self, session: StationSession, sender: Sender, device_model) -> None:
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

    def _check_limits(self, instance: str, message_id: str, action: str, payload: dict,
                      items: list) -> None:
        items_max = self._limit("ItemsPerMessage", instance)
        if items_max is not None and len(items) > items_max:
            # B06.FR.16, B08.FR.17 (and B05.FR.11 seen from the station's side)
            raise OccurrenceConstraintViolation(
                f"{len(items)} items in one {action}; ItemsPerMessage[{instance}] is {items_max}")
        bytes_max = self._limit("BytesPerMessage", instance)
        if bytes_max is not None:
            size = StationSession.frame_size(message_id, action, payload)
            if size > bytes_max:
                # B06.FR.17, B08.FR.18
                raise FormatViolation(
                    f"{action} is {size} bytes; BytesPerMessage[{instance}] is {bytes_max}")

    # -- B06 ------------------------------------------------------------------------------------

    def on_get_variables(self, message_id: str, payload: dict) -> dict:
        items = payload["getVariableData"]
        self._check_limits("GetVariables", message_id, "GetVariables", payload, items)
        results = []
        for item in items:
            attribute_type = item.get("attributeType", "Actual")            # B06.FR.11
            status, value = self._dm.get_variable(item["component"], item["variable"],
                                                  attribute_type)
            result = {"attributeStatus": status, "attributeType": attribute_type,
                      "component": item["component"], "variable": item["variable"]}
            if status == "Accepted":
                result["attributeValue"] = "" if value is None else value  # B06.FR.13
            elif status == "Rejected":
                result["attributeStatusInfo"] = {"reasonCode": "WriteOnly"}       # B06.FR.09
            results.append(result)
        return {"getVariableResult": results}

    # -- B05 ------------------------------------------------------------------------------------

    def on_set_variables(self, message_id: str, payload: dict) -> dict:
        items = payload["setVariableData"]
        self._check_limits("SetVariables", message_id, "SetVariables", payload, items)
        results = []
        changed = []
        for item in items:
            attribute_type = item.get("attributeType", "Actual")            # B05.FR.12
            status, reason = self._dm.set_variable_with_reason(
                item["component"], item["variable"], attribute_type, item["attributeValue"],
                source="csms")
            result = {"attributeStatus": status, "attributeType": attribute_type,
                      "component": item["component"], "variable": item["variable"]}
            if reason is not None:
                result["attributeStatusInfo"] = _status_info(status, reason)
            results.append(result)
            if status in ("Accepted", "RebootRequired") and attribute_type == "Actual":
                changed.append(item)
        for item in changed:
            self._announce(item)
        return {"setVariableResult": results}

    def _announce(self, item: dict) -> None:
        component, variable = item["component"]["name"], item["variable"]["name"]
        instance = item["variable"].get("instance")
        value = item["attributeValue"]
        log.info("CSMS set %s.%s%s = %s", component, variable,
                 f"[{instance}]" if instance else "",
                 "***" if "Password" in variable else value)
        evse_id = item["component"].get("evse", {}).get("id")
        if evse_id is None:
            for listener in self._variable_listeners:
                listener(component, variable, instance, value)
        else:
            # Not station-wide: e.g. AlignedDataCtrlr.SendDuringIdle of one EVSE (J01.FR.19).
            for evse_listener in self._evse_variable_listeners:
                evse_listener(component, variable, instance, evse_id, value)

    # -- B07 / B08 ------------------------------------------------------------------------------

    def on_get_base_report(self, message_id: str, payload: dict) -> dict | Reply:
        base = payload["reportBase"]
        if base not in BASE_REPORTS:
            return {"status": "NotSupported"}                               # B07.FR.02
        data = self._dm.report_data(base=base)
        if not data:
            return {"status": "EmptyResultSet"}
        return Reply({"status": "Accepted"},                                # B07.FR.01
                     then=lambda: self._send_report(payload["requestId"], data))

    def on_get_report(self, message_id: str, payload: dict) -> dict | Reply:
        criteria = payload.get("componentCriteria")
        variables = payload.get("componentVariable")
        if variables:
            self._check_limits("GetReport", message_id, "GetReport", payload, variables)
        if criteria and any(c not in COMPONENT_CRITERIA for c in criteria):
            return {"status": "NotSupported"}                               # B08.FR.02
        data = self._dm.report_data(component_criteria=criteria, component_variables=variables)
        if not data:
            return {"status": "EmptyResultSet"}                             # B08.FR.15
        return Reply({"status": "Accepted"},                                # B08.FR.01
                     then=lambda: self._send_report(payload["requestId"], data))

    def _send_report(self, request_id: int, data: list[dict]) -> None:
        pages = paginate_report(data, self._limit("ItemsPerMessage", "GetReport"),
                                self._limit("BytesPerMessage", "GetReport"))
        generated_at = iso(self._session.wall_clock())
        for seq_no, page in enumerate(pages):                               # B07.FR.10
            self._sender.send("NotifyReport", {
                "requestId": request_id,                                    # B07.FR.04
                "generatedAt": generated_at,
                "tbc": seq_no < len(pages) - 1,
                "seqNo": seq_no,
                "reportData": page,
            }, triggered=True)                                              # B02.FR.02
