"""``python -m gradgen``: the command line."""

import sys

from gradgen.cli import main

sys.exit(main())
