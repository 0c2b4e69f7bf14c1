"""``python -m roomcast``: the same as the ``roomcast`` command."""

import sys

from roomcast.cli import main

sys.exit(main())
