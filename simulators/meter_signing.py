"""Signed meter readings of the simulated meter: the data block, the signature, the check.

Theory of operation
-------------------
A meter that signs (German Eichrecht-style) owns a key pair; every reading it signs is a small
document that a CSMS, or the EV driver's display software, can check with the public key
alone. This module is the simulated meter's side (:class:`MeterSigner`) and the checker's side
(:func:`verify`); it is the project's own format, named :data:`ENCODING_METHOD`:

* the **payload** is compact JSON with sorted keys: ``meterId``, ``counter`` (the meter's
  signature counter, so a replayed or dropped reading shows), ``timestamp``, ``context``
  (ReadingContextEnumType), ``transactionId`` (null outside a transaction), ``measurand``
  (Energy.Active.Import.Register), ``value`` (Wh, 3 decimals) and ``unit`` (Wh);
* the **signature** is ECDSA over the payload's UTF-8 bytes with curve secp256r1 and SHA-256
  (:data:`SIGNING_METHOD`), DER-encoded, then base64;
* the **data block** is the JSON object ``{"payload": <the payload text>, "signature": ...}``:
  the payload stays a string, so the checker verifies exactly the bytes that were signed and
  never re-serialises JSON;
* ``signedMeterData`` is base64 of the data block's UTF-8 and ``publicKey`` base64 of the DER
  SubjectPublicKeyInfo (SignedMeterValueType, part 2 §2.45).

A reading is about 300 bytes, about 550 characters of ``signedMeterData``: well within the
2500 the schema allows.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from evse_hw.driver import SignedMeterValue, SignRequest

SIGNING_METHOD = "ECDSA-secp256r1-SHA256"
ENCODING_METHOD = "PyStation-SMD-1"
REGISTER = "Energy.Active.Import.Register"


class SignatureError(ValueError):
    """A signed meter value that does not check out; the message says why."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(f"{what} is not base64") from exc


class MeterSigner:
    """The signing half of one simulated meter: its key and its signature counter.

    Args:
        meter_id: the meter's serial number, part of every signed reading.
        private_key_der: the key saved by :meth:`to_dict` (PKCS#8 DER); None creates a new one.
        counter: signatures made so far.
    """

    def __init__(self, meter_id: str, private_key_der: bytes | None = None,
                 counter: int = 0) -> None:
        self.meter_id = meter_id
        if private_key_der is None:
            self._key = ec.generate_private_key(ec.SECP256R1())
        else:
            key = serialization.load_der_private_key(private_key_der, password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise ValueError("a meter key must be an EC key on secp256r1")
            self._key = key
        self.counter = counter
        self.public_key = _b64(self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))

    def sign(self, register_wh: float, request: SignRequest) -> SignedMeterValue:
        """Sign one reading of the energy register (see the module docstring)."""
        self.counter += 1
        payload = json.dumps({
            "meterId": self.meter_id, "counter": self.counter, "timestamp": request.timestamp,
            "context": request.context, "transactionId": request.transaction_id,
            "measurand": REGISTER, "value": round(float(register_wh), 3), "unit": "Wh",
        }, sort_keys=True, separators=(",", ":"))
        signature = self._key.sign(payload.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        block = json.dumps({"payload": payload, "signature": _b64(signature)},
                           separators=(",", ":"))
        return SignedMeterValue(signed_meter_data=_b64(block.encode("utf-8")),
                                signing_method=SIGNING_METHOD, encoding_method=ENCODING_METHOD,
                                public_key=self.public_key)

    def to_dict(self) -> dict[str, Any]:
        """The key and counter, JSON-serialisable, for :meth:`from_dict`."""
        der = self._key.private_bytes(serialization.Encoding.DER,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        return {"meter_id": self.meter_id, "key": _b64(der), "counter": self.counter}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MeterSigner":
        """Rebuild the signer saved by :meth:`to_dict` (same key: old readings still verify)."""
        return cls(data["meter_id"], base64.b64decode(data["key"]), int(data["counter"]))


def verify(signed_meter_value: dict[str, str], public_key: str | None = None) -> dict[str, Any]:
    """Check a SignedMeterValueType and return the reading it vouches for.

    Args:
        signed_meter_value: the dict from a SampledValue's ``signedMeterValue``.
        public_key: the meter's key (base64 DER) known from elsewhere; default the one in the
            value (then the check proves integrity, not which meter signed).

    Returns:
        The payload: ``meterId``, ``counter``, ``timestamp``, ``context``, ``transactionId``,
        ``measurand``, ``value``, ``unit``.

    Raises:
        SignatureError: unknown method or format, unreadable data, or a wrong signature.
    """
    if signed_meter_value.get("signingMethod") != SIGNING_METHOD:
        raise SignatureError(f"unknown signingMethod {signed_meter_value.get('signingMethod')!r}")
    if signed_meter_value.get("encodingMethod") != ENCODING_METHOD:
        raise SignatureError(
            f"unknown encodingMethod {signed_meter_value.get('encodingMethod')!r}")
    key_text = public_key if public_key is not None else signed_meter_value.get("publicKey", "")
    if not key_text:
        raise SignatureError("no public key to check the signature with")
    try:
        key = serialization.load_der_public_key(_unb64(key_text, "publicKey"))
    except ValueError as exc:
        raise SignatureError("publicKey is not a DER SubjectPublicKeyInfo") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise SignatureError("publicKey is not a secp256r1 key")
    block_bytes = _unb64(signed_meter_value.get("signedMeterData", ""), "signedMeterData")
    try:
        block = json.loads(block_bytes.decode("utf-8"))
        payload_text, signature_text = block["payload"], block["signature"]
        payload = json.loads(payload_text)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise SignatureError("signedMeterData is not a signed data block") from exc
    if not isinstance(payload_text, str) or not isinstance(payload, dict):
        raise SignatureError("signedMeterData is not a signed data block")
    try:
        key.verify(_unb64(signature_text, "signature"), payload_text.encode("utf-8"),
                   ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise SignatureError("the signature does not match the data") from exc
    return payload
