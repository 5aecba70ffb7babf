"""Functional block P, DataTransfer from the CSMS: a registry of vendor extensions.

A DataTransferRequest is always answered with a DataTransferResponse, never a CALLERROR
(TC_P_01_CS): ``UnknownVendorId`` when no extension knows the ``vendorId`` (P01.FR.05),
``UnknownMessageId`` when the vendor's extension does not know the ``messageId`` (P01.FR.06).
What Accepted/Rejected and ``data`` mean is the vendor's agreement (P01.FR.07), so an extension
registers one handler per messageId and returns the whole response payload.

The station ships no extension today, so every request is answered UnknownVendorId.
"""
from __future__ import annotations

from typing import Any, Callable

# data (any JSON, or None) -> DataTransferResponse payload
VendorHandler = Callable[[Any], dict]

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

    def on_data_transfer(self, message_id: str, payload: dict) -> dict:
        handlers = self._vendors.get(payload["vendorId"])
        if handlers is None:
            return {"status": "UnknownVendorId"}                            # P01.FR.05
        handler = handlers.get(payload.get("messageId"))
        if handler is None:
            return {"status": "UnknownMessageId"}                           # P01.FR.06
        return handler(payload.get("data"))                                 # P01.FR.07
