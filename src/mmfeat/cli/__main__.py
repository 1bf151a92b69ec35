"""``python -m mmfeat.cli``: the ``mmfeat`` command."""

import sys

from . import main

sys.exit(main())
