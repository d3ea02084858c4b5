"""The `zoo` command line (installed as `zoo.cli`)."""

import time

# When the command started: the time to a --target counts from here, imports included.
STARTED = time.time()
