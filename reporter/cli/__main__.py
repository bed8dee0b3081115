"""`python -m reporter.cli`: the same as the `reporter` command."""

import sys

from reporter.cli import main

sys.exit(main())
