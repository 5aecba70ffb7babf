"""The application layer, above the actors and the control API: starting the actor system
and the Root (:mod:`app.runner`) and the ``--demo`` traffic (:mod:`app.demo`). Only ``run.py``
and the tests import it.
"""
