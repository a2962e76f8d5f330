"""`python -m netemu.flowlogs STATE_DIR SCENARIO_COPY`: run a scenario's flow-log collector."""

import sys

from netemu.flowlogs.collector import main

sys.exit(main(sys.argv))
