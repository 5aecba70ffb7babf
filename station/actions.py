"""Which way each OCPP 2.0.1 action goes, as part 2 says it.

Part 2 §Messages opens the definition of every request with who sends it: "This contains the
field definition of the BootNotificationRequest PDU sent by the Charging Station to the CSMS",
"... CancelReservationRequest PDU sent by the CSMS to the Charging Station", and so on. The sets
below are those sentences, sorted; the few definitions that do not use that sentence say it in
other words (GetTransactionStatus: "the CSMS can ask the Charging Station", NotifyEVChargingNeeds:
"The Charging Station uses this message", RequestStart/StopTransaction: "sent to Charging Station
by CSMS", ...). DataTransfer is the one action of both directions (part 2 1.13.1: "sent either by
the CSMS to the Charging Station or vice versa").

``tests/unit/test_actions.py`` checks that together they are exactly the actions of the ``ocpp``
package (``ocpp.v201.enums.Action``, one per ``*Request.json`` schema of OCPP 2.0.1).
"""
from __future__ import annotations

#: Requests the Charging Station sends (CS -> CSMS).
CS_TO_CSMS_ACTIONS: frozenset[str] = frozenset({
    "Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer",
    "FirmwareStatusNotification", "Get15118EVCertificate", "GetCertificateStatus", "Heartbeat",
    "LogStatusNotification", "MeterValues", "NotifyChargingLimit", "NotifyCustomerInformation",
    "NotifyDisplayMessages", "NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "NotifyEvent",
    "NotifyMonitoringReport", "NotifyReport", "PublishFirmwareStatusNotification",
    "ReportChargingProfiles", "ReservationStatusUpdate", "SecurityEventNotification",
    "SignCertificate", "StatusNotification", "TransactionEvent",
})

#: Requests the CSMS sends (CSMS -> CS).
CSMS_TO_CS_ACTIONS: frozenset[str] = frozenset({
    "CancelReservation", "CertificateSigned", "ChangeAvailability", "ClearCache",
    "ClearChargingProfile", "ClearDisplayMessage", "ClearVariableMonitoring", "CostUpdated",
    "CustomerInformation", "DataTransfer", "DeleteCertificate", "GetBaseReport",
    "GetChargingProfiles", "GetCompositeSchedule", "GetDisplayMessages",
    "GetInstalledCertificateIds", "GetLocalListVersion", "GetLog", "GetMonitoringReport",
    "GetReport", "GetTransactionStatus", "GetVariables", "InstallCertificate", "PublishFirmware",
    "RequestStartTransaction", "RequestStopTransaction", "ReserveNow", "Reset", "SendLocalList",
    "SetChargingProfile", "SetDisplayMessage", "SetMonitoringBase", "SetMonitoringLevel",
    "SetNetworkProfile", "SetVariableMonitoring", "SetVariables", "TriggerMessage",
    "UnlockConnector", "UnpublishFirmware", "UpdateFirmware",
})
