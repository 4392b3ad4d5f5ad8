"""Runs every test_* function of every test_*.py file beside it, the way
pytest collects them, so the frozen MicroPython runs the same unit suite as
CPython (the static binary started under its plain-interpreter name):

    hc-micropython tests/unit/run.py      (or: python3 tests/unit/run.py)

Prints one line per failure and then "N passed, M failed"; exit 1 if any
failed. A test added to any of these files runs here with no other edit.
"""

import os
import sys


def main():
    here = sys.path[0]  # the script's directory, on both interpreters
    passed = failed = 0
    for filename in sorted(os.listdir(here)):
        if not (filename.startswith("test_") and filename.endswith(".py")):
            continue
        module = __import__(filename[:-3])
        for name in sorted(dir(module)):
            if not name.startswith("test_"):
                continue
            try:
                getattr(module, name)()
                passed += 1
            except Exception as err:  # report every failing test, not just the first
                failed += 1
                print("FAIL %s.%s: %s: %s" % (filename[:-3], name, type(err).__name__, err))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


sys.exit(main())
