"""What a functional block may depend on besides the models: the layer below the blocks.

The blocks (``blocks/``), the smart-charging computation and the session shell all import
these; nothing here imports a block, a store or ``station``. Each block's constructor names
the ports it uses (STYLE §2), as Protocols from this package, and the composition root
(``station.core.build_core``) hands in the objects that implement them:

* :mod:`ports.outcome`: what a CALL handler returns (its response model, a
  :class:`~ports.outcome.Reply` or a :class:`~ports.outcome.Deferred`) and the handler type.
* :mod:`ports.sending`: the sending port (``send``/``may_send``), implemented by
  ``station.sender.Sender``.
* :mod:`ports.session`: the registration states and the small session-facing ports (time,
  timers, replies, actor outbox, connection events), implemented by
  ``station.session.StationSession``.
* :mod:`ports.time`: OCPP date-times (``iso``, ``parse_ocpp_time``, ``utc_now``).

``tests/unit/test_layers.py`` keeps the dependencies pointing one way.
"""
