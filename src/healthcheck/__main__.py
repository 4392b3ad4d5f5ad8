"""python -m healthcheck TOOL ARGS... (the same as the `healthcheck` command)"""

import sys

from .cli import main

sys.exit(main(["healthcheck"] + sys.argv[1:]))
