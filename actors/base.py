"""What every child of the Root shares: Configure, Directory, and logging what nobody handles."""
from __future__ import annotations

import logging
import os

from thespian.actors import ActorExitRequest, ActorSystemMessage, ActorTypeDispatcher

from messages.supervision import ChildReady, Configure, Directory, StationFailed

log = logging.getLogger(__name__)


class ChildActor(ActorTypeDispatcher):
    """Base of the Root's children.

    Subclasses implement :meth:`configure` (load durable state; runs on the first Configure,
    also after a restart) and may implement :meth:`directory_changed`. Children are created
    without arguments, so Thespian can re-create them the same way after a crash; everything
    they need arrives in Configure.
    """

    role = "child"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = None
        self.index = 0
        self.directory: Directory | None = None
        self.root = None
        self._early: list[tuple[object, object]] = []

    def receiveMessage(self, message, sender):
        # Configure is the first thing the Root sends, but after a restart another actor may
        # reach the new address first (an Evse answering the new Directory, say). Such messages
        # wait until the actor is configured instead of meeting an actor without state.
        if self.config is None and not isinstance(message, (Configure, Directory,
                                                             ActorSystemMessage)):
            self._early.append((message, sender))
            return None
        return super().receiveMessage(message, sender)

    def receiveMsg_Configure(self, msg: Configure, sender):
        self.config = msg.config
        self.index = msg.index
        self.root = sender
        try:
            self.configure(msg)
        except Exception as exc:  # noqa: BLE001 - reported to the Root, which stops the station
            log.exception("%s %s cannot start", self.role, self.index)
            self.send(sender, StationFailed(role=self.role, index=self.index,
                                            reason=f"{type(exc).__name__}: {exc}"))
            return
        self.send(sender, ChildReady(role=self.role, index=self.index, pid=os.getpid()))
        if self.directory is not None:
            self.directory_changed()
        early, self._early = self._early, []
        for message, early_sender in early:
            self.receiveMessage(message, early_sender)

    def receiveMsg_Directory(self, msg: Directory, sender):
        self.directory = msg
        if self.config is not None:
            self.directory_changed()

    def configure(self, msg: Configure) -> None:
        """Load state; raise to report that this child cannot work."""

    def directory_changed(self) -> None:
        """The addresses of the other actors changed (start, or a restart somewhere)."""

    def receiveUnrecognizedMessage(self, message, sender):
        log_unrecognized(log, f"{self.role} {self.index}", message, sender)


def log_unrecognized(logger: logging.Logger, who: str, message, sender) -> None:
    """Log a message no ``receiveMsg_`` handled, at WARNING.

    ``ActorTypeDispatcher`` finds handlers by name, so a misspelled ``receiveMsg_`` (or a
    message class renamed on one side only) drops every such message without an error: the
    warning is the only trace. ActorExitRequest is the exception: an actor without a handler
    for it still exits, as asked, which is nothing to warn about.
    """
    if isinstance(message, ActorExitRequest):
        logger.debug("%s: exit requested by %s", who, sender)
        return
    logger.warning("%s: no handler for %s from %s; message dropped", who,
                   type(message).__name__, sender)
