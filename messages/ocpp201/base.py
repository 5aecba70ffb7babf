"""Hand-written base of the generated OCPP 2.0.1 wire models (``messages/ocpp201/``).

Every generated model derives from :class:`OcppModel`: frozen, built from the wire dict by
alias (``customData``, ``SoC``, ``responderURL`` are spelled in the generated ``Field(alias=...)``
exactly as in the schema, never derived by a rule) or from Python names
(``populate_by_name``), and unknown keys forbidden because every 2.0.1 object except
``CustomDataType`` has ``additionalProperties: false``.

Scalar types are strict so that a model rejects what the schema rejects (a ``"1"`` for an
integer, a ``1`` for a string, ``true`` for a number), with one exception taken from JSON
Schema draft 6: an integer may be written ``1.0`` (jsonschema accepts it, so the model must
too, and keeps it as sent). Date-times stay ``str`` (see :data:`DateTime`).

:class:`KeepsNulls` is for the only two places where JSON ``null`` is a valid value:
``CustomDataType``'s free extra keys and DataTransfer's untyped ``data``. ``to_wire`` drops
``None`` everywhere else (no 2.0.1 schema field has type null), and this base puts those
nulls back.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Union

from pydantic import (AfterValidator, BaseModel, ConfigDict, SerializationInfo, StrictFloat,
                      StrictInt, model_serializer)


def _integral(value: float) -> float:
    if not value.is_integer():
        raise ValueError("not an integer")
    return value


#: JSON Schema ``integer``: an int, or a float without fraction (draft 6 counts 1.0 as an
#: integer); kept as sent so that a payload round-trips unchanged.
Integer = Union[StrictInt, Annotated[StrictFloat, AfterValidator(_integral)]]

#: JSON Schema ``number``: int stays int and float stays float (``16`` must not come back as
#: ``16.0``), never bool or str.
Number = Union[StrictInt, StrictFloat]

#: OCPP ``date-time`` (RFC 3339). Kept as the exact string sent: re-serialising a datetime
#: would change offsets and fraction digits the CSMS chose (and values the station echoes or
#: stores must survive byte for byte); the format itself is checked at the edge by
#: ``ocppj.schemas`` as leniently as libocpp does. Build new values with ``station.session.iso``
#: (UTC, milliseconds, Z).
DateTime = str


class OcppModel(BaseModel):
    """Base of every generated OCPP 2.0.1 model."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    def __reduce__(self):
        # Actor messages carry these models across processes (multiprocTCPBase pickles them),
        # a TransactionEvent per EVSE and second at 128 EVSEs. pydantic's own pickling writes
        # every field, set or not, of every nested model: a TransactionEventReady with one
        # meter value of four sampled values took 1.8 kB and 2.5x the time to load. The wire
        # dict is about half that, and rebuilding with model_validate gives back an equal
        # model (the wire form round-trips: tests/unit/test_ocpp_models.py).
        return (_from_wire_dict, (type(self), self.model_dump(
            mode="json", by_alias=True, exclude_none=True)))


def _from_wire_dict(cls: type[OcppModel], data: dict[str, Any]) -> OcppModel:
    """Unpickle an :class:`OcppModel` (see ``OcppModel.__reduce__``)."""
    return cls.model_validate(data)


class KeepsNulls(OcppModel):
    """A model where ``null`` is a valid value: extra keys or untyped (``Any``) fields.

    ``to_wire`` dumps with ``exclude_none`` (right for every typed field); this serializer
    puts back the ``None`` of extra keys and of the fields named in :attr:`_any_fields` that
    were given explicitly, so that ``{"data": null}`` and ``{"vendorId": "x", "k": null}``
    round-trip unchanged.
    """

    #: Aliases of the fields typed ``Any`` (any JSON value, null included).
    _any_fields: ClassVar[tuple[tuple[str, str], ...]] = ()

    @model_serializer(mode="wrap")
    def _keep_nulls(self, handler, info: SerializationInfo) -> dict[str, Any]:
        out = handler(self)
        if not info.exclude_none:
            return out
        for name, alias in self._any_fields:
            if name in self.model_fields_set and getattr(self, name) is None:
                out[alias if info.by_alias else name] = None
        for key, value in (self.__pydantic_extra__ or {}).items():
            if value is None:
                out[key] = None
        return out
