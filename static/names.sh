#!/bin/sh
# static/names.sh [SRC_DIR]: the tool names, TCP first, from the package's one
# list (healthcheck.tools.NAMES), read without importing the package.
set -eu
SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
python3 - "$SRC/healthcheck/tools.py" <<'PYEOF'
import ast
import sys

for node in ast.parse(open(sys.argv[1]).read()).body:
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "NAMES":
        names = ast.literal_eval(node.value)
        assert names[0] == "TCP", names
        print(" ".join(names))
        break
else:
    sys.exit("names.sh: no NAMES in " + sys.argv[1])
PYEOF
