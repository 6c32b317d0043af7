"""``python -m vis4d``: the vis4d console script."""

import sys

from vis4d.cli import main

sys.exit(main())
