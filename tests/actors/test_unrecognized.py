"""A message no ``receiveMsg_`` handles is logged at WARNING, not dropped in silence.

``ActorTypeDispatcher`` finds handlers by name: a misspelled ``receiveMsg_`` compiles, runs and
drops every such message. The warning is the only trace of it (issue #9).
"""
from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict
from thespian.actors import ActorExitRequest

from actors.base import ChildActor
from actors.root import Root
from messages.supervision import ChildReady, Configure


class UnrecognizedProbe(BaseModel):
    model_config = ConfigDict(frozen=True)
    text: str = "hello"


class MisspelledHandler(ChildActor):
    role = "misspelled"

    def receiveMsg_UnrecognisedProbe(self, msg, sender):   # sic: "s", the bug under test
        self.send(sender, "handled")


def warnings_about(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.levelno >= logging.WARNING and name in r.getMessage()]


class TestFuncUnrecognizedMessages:
    def test_a_child_warns_about_a_message_it_has_no_handler_for(self, asys, station_config,
                                                                  caplog):
        caplog.set_level(logging.DEBUG)
        actor = asys.createActor(MisspelledHandler)
        ready = asys.ask(actor, Configure(role="misspelled", config=station_config(1)), 5)
        assert isinstance(ready, ChildReady)
        asys.tell(actor, UnrecognizedProbe())
        asys.ask(actor, Configure(role="misspelled", config=station_config(1)), 5)  # a barrier
        [record] = warnings_about(caplog, "UnrecognizedProbe")
        assert "misspelled 0" in record.getMessage()

    def test_the_root_warns_too(self, asys, caplog):
        caplog.set_level(logging.DEBUG)
        root = asys.createActor(Root)
        asys.tell(root, UnrecognizedProbe())
        asys.tell(root, ActorExitRequest())
        assert warnings_about(caplog, "UnrecognizedProbe")

    def test_an_exit_request_without_a_handler_is_no_warning(self, asys, station_config, caplog):
        caplog.set_level(logging.DEBUG)
        actor = asys.createActor(MisspelledHandler)
        asys.ask(actor, Configure(role="misspelled", config=station_config(1)), 5)
        asys.tell(actor, ActorExitRequest())
        assert not warnings_about(caplog, "ActorExitRequest")
