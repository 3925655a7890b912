"""Allow ``python -m ionhomeo``."""

import sys

from ionhomeo.cli import main

sys.exit(main())
