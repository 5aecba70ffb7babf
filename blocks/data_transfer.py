"""Functional block P, DataTransfer from the CSMS: a registry of vendor extensions.

A DataTransferRequest is always answered with a DataTransferResponse, never a CALLERROR
(TC_P_01_CS): ``UnknownVendorId`` when no extension knows the ``vendorId`` (P01.FR.05),
``UnknownMessageId`` when the vendor's extension does not know the ``messageId`` (P01.FR.06).
What Accepted/Rejected and ``data`` mean is the vendor's agreement (P01.FR.07), so an extension
registers one handler per messageId: it gets the whole DataTransferRequest and returns the whole
DataTransferResponse::

    data_transfer.register("com.example", "Echo", lambda request: DataTransferResponse(
        status=DataTransferStatusEnumType.accepted, data=request.data))

The station ships no extension today, so every request is answered UnknownVendorId.
"""
from __future__ import annotations

from typing import Callable

from messages.ocpp201 import DataTransferRequest, DataTransferResponse, DataTransferStatusEnumType

VendorHandler = Callable[[DataTransferRequest], DataTransferResponse]

# A vendor extension that does not use messageId registers its handler under this key.
NO_MESSAGE_ID: str | None = None


class DataTransfer:
    def __init__(self) -> None:
        self._vendors: dict[str, dict[str | None, VendorHandler]] = {}

    def register(self, vendor_id: str, message_id: str | None, handler: VendorHandler) -> None:
        """Let ``handler`` answer DataTransfer for ``vendor_id`` / ``message_id``."""
        handlers = self._vendors.setdefault(vendor_id, {})
        if message_id in handlers:
            raise ValueError(f"{vendor_id}/{message_id} already has a handler")
        handlers[message_id] = handler

    def on_data_transfer(self, message_id: str,
                         request: DataTransferRequest) -> DataTransferResponse:
        handlers = self._vendors.get(request.vendor_id)
        if handlers is None:
            return DataTransferResponse(
                status=DataTransferStatusEnumType.unknown_vendor_id)          # P01.FR.05
        handler = handlers.get(request.message_id)
        if handler is None:
            return DataTransferResponse(
                status=DataTransferStatusEnumType.unknown_message_id)         # P01.FR.06
        return handler(request)                                               # P01.FR.07
