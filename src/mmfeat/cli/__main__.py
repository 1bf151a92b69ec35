"""``python -m mmfeat.cli``: the ``mmfeat`` command."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
