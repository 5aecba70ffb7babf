"""Reservation actor messages (messages/reservation.py) carry OCPP models and must pickle:
multiprocTCPBase pickles every message between actor processes."""
from __future__ import annotations

import pickle

import pytest

from messages.ocpp201 import ConnectorEnumType, IdTokenEnumType, IdTokenType
from messages.reservation import EvseHeldForReservations, ReservationCleared, ReservationMade

TOKEN = IdTokenType.model_validate({"idToken": "TOKEN-1", "type": "ISO14443",
                                    "additionalInfo": [{"additionalIdToken": "A", "type": "x"}]})
GROUP = IdTokenType(id_token="GROUP-A", type=IdTokenEnumType.central)


@pytest.mark.parametrize("msg", [
    ReservationMade(evse_id=1, reservation_id=7, id_token=TOKEN, group_id_token=GROUP,
                    connector_type=ConnectorEnumType.c_ccs2, expiry="2030-01-01T00:00:00.000Z"),
    ReservationMade(evse_id=2, reservation_id=8, id_token=GROUP,
                    expiry="2030-01-01T00:00:00.000Z"),
    ReservationCleared(evse_id=1, reservation_id=7, reason="Expired"),
    EvseHeldForReservations(evse_id=1, held=True),
])
def test_survives_a_pickle_round_trip(msg):
    again = pickle.loads(pickle.dumps(msg))
    assert again == msg and type(again) is type(msg)


def test_reservation_made_keeps_its_models():
    msg = ReservationMade(evse_id=1, reservation_id=7, id_token=TOKEN, group_id_token=GROUP,
                          connector_type=ConnectorEnumType.c_ccs2, expiry="2030-01-01T00:00:00Z")
    again = pickle.loads(pickle.dumps(msg))
    assert isinstance(again.id_token, IdTokenType) and again.group_id_token == GROUP
    assert again.connector_type is ConnectorEnumType.c_ccs2


def test_reservation_made_refuses_a_wire_dict_of_the_wrong_shape():
    with pytest.raises(ValueError):
        ReservationMade(evse_id=1, reservation_id=7, id_token={"idToken": "x"},
                        expiry="2030-01-01T00:00:00Z")
