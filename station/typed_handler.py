"""Moved to :mod:`ports.typed_handler` (below the blocks); this name stays for branches written
before the move. New code imports ``ports.typed_handler``."""
from ports.typed_handler import TypedHandler, typed_handler, wire_outcome  # noqa: F401
