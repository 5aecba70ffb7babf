"""The one table in: which block answers each CALL the CSMS sends.

:func:`build_routes` is called once, by ``station.core.build_core``, with the finished blocks;
the session gets the table before its first connection (``StationSession.install_routes``).
Every CSMS -> CS action of OCPP 2.0.1 is either in that table or in :data:`NOT_SUPPORTED`,
never both (``tests/unit/test_routes.py``). The RPC core answers an action outside the table
with CALLERROR NotSupported (part 4 §4.2.3: "Requested Action is recognized but not
supported"), and one that is no OCPP 2.0.1 action with NotImplemented.

Handlers are the blocks' ``on_<action>`` methods (STYLE §4): ``handler(message_id, payload)``
returning the response payload, a ``Reply`` or a ``Deferred`` (see ``station.session``); a block
already on the typed OCPP models is wrapped here with ``ports.typed_handler``.
"""
from __future__ import annotations

from blocks.auth_routing import AuthRouting
from blocks.availability import Availability
from blocks.data_transfer import DataTransfer
from blocks.provisioning import Provisioning
from blocks.remote_control import RemoteControl
from blocks.reservation import Reservations
from blocks.reset import Reset
from blocks.smart_charging import SmartCharging
from blocks.transactions import Transactions
from station.session import Handler
from ports.typed_handler import typed_handler

#: CSMS -> CS actions of blocks the station does not have: answered CALLERROR NotSupported.
NOT_SUPPORTED: frozenset[str] = frozenset({
    # A: certificates and security profiles 2/3 (TLS) are not implemented.
    "CertificateSigned", "DeleteCertificate", "GetInstalledCertificateIds", "InstallCertificate",
    # B09: network profiles (with TLS profiles).
    "SetNetworkProfile",
    # I: tariff and cost.
    "CostUpdated",
    # L: firmware.
    "PublishFirmware", "UnpublishFirmware", "UpdateFirmware",
    # N: diagnostics, monitoring, customer information.
    "ClearVariableMonitoring", "CustomerInformation", "GetLog", "GetMonitoringReport",
    "SetMonitoringBase", "SetMonitoringLevel", "SetVariableMonitoring",
    # O: display messages.
    "ClearDisplayMessage", "GetDisplayMessages", "SetDisplayMessage",
})

#: Answered when ``build_core(with_reservations=False)`` leaves block H out.
RESERVATION_ACTIONS: frozenset[str] = frozenset({"ReserveNow", "CancelReservation"})


def build_routes(*, provisioning: Provisioning, availability: Availability,
                 remote_control: RemoteControl, transactions: Transactions,
                 auth: AuthRouting, smart_charging: SmartCharging, reset: Reset,
                 data_transfer: DataTransfer,
                 reservations: Reservations | None = None) -> dict[str, Handler]:
    """Action -> handler for every action the station implements."""
    routes: dict[str, Handler] = {
        # B: provisioning, reset
        "GetVariables": typed_handler("GetVariables", provisioning.on_get_variables),
        "SetVariables": typed_handler("SetVariables", provisioning.on_set_variables),
        "GetBaseReport": typed_handler("GetBaseReport", provisioning.on_get_base_report),
        "GetReport": typed_handler("GetReport", provisioning.on_get_report),
        "Reset": typed_handler("Reset", reset.on_reset),
        # C, D: authorization, local list
        "ClearCache": typed_handler("ClearCache", auth.on_clear_cache),
        "SendLocalList": typed_handler("SendLocalList", auth.on_send_local_list),
        "GetLocalListVersion": typed_handler(
            "GetLocalListVersion", auth.on_get_local_list_version),
        # E, F: transactions, remote control
        "GetTransactionStatus": typed_handler(
            "GetTransactionStatus", transactions.on_get_transaction_status),
        "RequestStartTransaction": typed_handler(
            "RequestStartTransaction", transactions.on_request_start_transaction),
        "RequestStopTransaction": typed_handler(
            "RequestStopTransaction", transactions.on_request_stop_transaction),
        "UnlockConnector": typed_handler("UnlockConnector", transactions.on_unlock_connector),
        "TriggerMessage": typed_handler("TriggerMessage", remote_control.on_trigger_message),
        # G: availability
        "ChangeAvailability": typed_handler(
            "ChangeAvailability", availability.on_change_availability),
        # K: smart charging
        "SetChargingProfile": typed_handler(
            "SetChargingProfile", smart_charging.on_set_charging_profile),
        "GetChargingProfiles": typed_handler(
            "GetChargingProfiles", smart_charging.on_get_charging_profiles),
        "ClearChargingProfile": typed_handler(
            "ClearChargingProfile", smart_charging.on_clear_charging_profile),
        "GetCompositeSchedule": typed_handler(
            "GetCompositeSchedule", smart_charging.on_get_composite_schedule),
        # P: data transfer
        "DataTransfer": typed_handler("DataTransfer", data_transfer.on_data_transfer),
    }
    if reservations is not None:
        # H: reservations
        routes["ReserveNow"] = typed_handler("ReserveNow", reservations.on_reserve_now)
        routes["CancelReservation"] = typed_handler("CancelReservation",
                                                    reservations.on_cancel_reservation)
    return routes
