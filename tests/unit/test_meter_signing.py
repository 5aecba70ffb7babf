"""Tests for simulators.meter_signing: the simulated meter's signed readings and their check.

Spec: part 2 §2.45 SignedMeterValueType (signedMeterData and publicKey base64, at most 2500
characters), J01.FR.21 / J02.FR.21 (the meter signs, the station passes it on).
"""
from __future__ import annotations

import base64
import json

import pytest

from evse_hw.driver import SignRequest
from simulators.evse_hardware import SimulatedEvseHardware
from simulators.meter_signing import (ENCODING_METHOD, SIGNING_METHOD, MeterSigner,
                                      SignatureError, verify)

REQUEST = SignRequest("2025-01-01T12:00:00.000Z", "Transaction.Begin", "tx-1")


def _block(signed: dict) -> dict:
    return json.loads(base64.b64decode(signed["signedMeterData"]))


def _with_block(signed: dict, block: dict) -> dict:
    data = base64.b64encode(json.dumps(block).encode()).decode()
    return {**signed, "signedMeterData": data}


class TestSignAndVerify:
    def test_a_signed_reading_verifies_with_its_public_key_and_says_what_it_vouches_for(self):
        signer = MeterSigner("SIM-EVSE-1")
        signed = signer.sign(1234.56789, REQUEST).to_ocpp()
        payload = verify(signed, public_key=signer.public_key)
        assert payload == {"meterId": "SIM-EVSE-1", "counter": 1,
                           "timestamp": "2025-01-01T12:00:00.000Z",
                           "context": "Transaction.Begin", "transactionId": "tx-1",
                           "measurand": "Energy.Active.Import.Register", "value": 1234.568,
                           "unit": "Wh"}
        assert signed["signingMethod"] == SIGNING_METHOD == "ECDSA-secp256r1-SHA256"
        assert signed["encodingMethod"] == ENCODING_METHOD
        # SignedMeterValueType: string[0..2500] both.
        assert len(signed["signedMeterData"]) <= 2500 and len(signed["publicKey"]) <= 2500

    def test_the_counter_counts_every_signature(self):
        signer = MeterSigner("m")
        counters = [verify(signer.sign(float(i), REQUEST).to_ocpp())["counter"]
                    for i in range(3)]
        assert counters == [1, 2, 3]

    def test_a_changed_value_fails(self):
        signed = MeterSigner("m").sign(1000.0, REQUEST).to_ocpp()
        block = _block(signed)
        block["payload"] = block["payload"].replace('"value":1000.0', '"value":1.0')
        assert '"value":1.0' in block["payload"]
        with pytest.raises(SignatureError, match="does not match"):
            verify(_with_block(signed, block))

    def test_a_changed_transaction_or_context_fails(self):
        signed = MeterSigner("m").sign(1000.0, REQUEST).to_ocpp()
        for old, new in (('"tx-1"', '"tx-2"'), ("Transaction.Begin", "Transaction.End")):
            block = _block(signed)
            block["payload"] = block["payload"].replace(old, new)
            with pytest.raises(SignatureError):
                verify(_with_block(signed, block))

    def test_another_meters_key_fails(self):
        signed = MeterSigner("m").sign(1000.0, REQUEST).to_ocpp()
        with pytest.raises(SignatureError):
            verify(signed, public_key=MeterSigner("other").public_key)
        with pytest.raises(SignatureError):
            verify({**signed, "publicKey": MeterSigner("other").public_key})

    @pytest.mark.parametrize("field,value", [
        ("signingMethod", "RSA"), ("encodingMethod", "OCMF"), ("publicKey", ""),
        ("publicKey", "not base64!"), ("signedMeterData", "bm90IGpzb24="),
        ("signedMeterData", "@@")])
    def test_unreadable_values_are_refused_with_a_reason(self, field, value):
        signed = MeterSigner("m").sign(1000.0, REQUEST).to_ocpp()
        with pytest.raises(SignatureError):
            verify({**signed, field: value})

    def test_the_key_survives_to_dict_and_old_readings_still_verify(self):
        signer = MeterSigner("m")
        old = signer.sign(10.0, REQUEST).to_ocpp()
        again = MeterSigner.from_dict(json.loads(json.dumps(signer.to_dict())))
        assert again.public_key == signer.public_key
        assert verify(old, public_key=again.public_key)["value"] == 10.0
        assert verify(again.sign(11.0, REQUEST).to_ocpp())["counter"] == 2


class TestSimulatedMeter:
    """The simulated EVSE's meter signs its own register when asked (evse_hw.driver seam)."""

    def test_a_plain_read_is_not_signed(self):
        hw = SimulatedEvseHardware(1)
        assert hw.info.can_sign_readings
        assert hw.read_meter(0.0).signed is None

    def test_a_signed_read_signs_the_register_it_read(self):
        hw = SimulatedEvseHardware(1, energy_wh=500.25)
        reading = hw.read_meter(10.0, REQUEST)
        payload = verify(reading.signed.to_ocpp())
        assert payload["value"] == round(reading.energy_active_import_wh, 3) == 500.25
        assert payload["meterId"] == "SIM-EVSE-1" and payload["transactionId"] == "tx-1"

    def test_a_meter_that_cannot_sign_returns_none(self):
        hw = SimulatedEvseHardware(1, signing_meter=False)
        assert not hw.info.can_sign_readings
        assert hw.read_meter(0.0, REQUEST).signed is None

    def test_each_evse_meter_has_its_own_key(self):
        keys = {SimulatedEvseHardware(n).read_meter(0.0, REQUEST).signed.public_key
                for n in (1, 2)}
        assert len(keys) == 2

    def test_the_key_is_saved_with_the_state_and_kept_after_a_power_loss(self):
        hw = SimulatedEvseHardware(1)
        first = hw.read_meter(1.0, REQUEST).signed.to_ocpp()
        state = json.loads(json.dumps(hw.to_dict(2.0)))
        for power_lost in (False, True):
            again = SimulatedEvseHardware.from_dict(state, 3.0, power_lost=power_lost)
            later = again.read_meter(4.0, REQUEST).signed.to_ocpp()
            assert later["publicKey"] == first["publicKey"]
            verify(first, public_key=later["publicKey"])
            assert verify(later)["counter"] == 2

    def test_a_state_saved_before_signing_existed_still_loads(self):
        state = SimulatedEvseHardware(1).to_dict(0.0)
        del state["meter_signer"]
        del state["config"]["signing_meter"]
        again = SimulatedEvseHardware.from_dict(state, 1.0)
        assert again.read_meter(1.0, REQUEST).signed is not None
