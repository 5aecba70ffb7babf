"""Base class of every internal actor message.

Messages are frozen pydantic models defined at module level, so that they pickle across
multiprocTCPBase processes and cannot be mutated by a receiver under simpleSystemBase (which
passes them by reference). Class names are unique across ``messages/`` because Thespian's
``ActorTypeDispatcher`` routes on the bare class name.
"""
from pydantic import BaseModel, ConfigDict


class Msg(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
