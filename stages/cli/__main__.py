"""``python -m stages.cli``: the ``geneb`` command."""

import sys

from stages.cli import main

sys.exit(main())
