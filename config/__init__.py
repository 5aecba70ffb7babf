"""The station's configuration file (``config.yaml``): its schema and loader.

Lowest layer (with ``ocppj``): it imports nothing of the project, so the internal messages
that carry a :class:`config.station.StationConfig` (``messages.supervision``) need not reach
up into ``station``.
"""
