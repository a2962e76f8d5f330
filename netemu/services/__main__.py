"""`python -m netemu.services CONFIG_JSON`: run a scenario's service daemon."""

import sys

from netemu.services.daemon import main

sys.exit(main(sys.argv))
