"""python -m healthcheck TOOL PORTS [ADDRESS] [--quiet] [--debug]"""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
