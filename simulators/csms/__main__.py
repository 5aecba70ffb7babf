"""``python -m simulators.csms``: see `simulators.csms.cli`."""

import sys

from simulators.csms.cli import main

sys.exit(main())
