"""``python -m fade_rl.cli``: the ``fade-rl`` command."""

import sys

from fade_rl.cli.main import main

sys.exit(main())
