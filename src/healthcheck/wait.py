"""--wait SECONDS: repeat a check until it holds or the time is up.

What is tried again: a check that answers "no", and one that fails with a
KernelError (the kernel did not answer in time, ENOBUFS, a table that could
not be read): both may pass a moment later. A UsageError ends the wait at
once: a command line does not become right by waiting. When time is up the
last answer stands: the last verdict, or the last error.

The static build has no floats: SECONDS is parsed as decimal text into
milliseconds, and the clock is MicroPython's ticks_ms/sleep_ms (CPython:
monotonic/sleep).
"""

import time

from .addr import DIGITS, only
from .errors import KernelError, UsageError, shown

FIRST_MS = 20  # the first pause; doubled after every miss up to
MAX_INTERVAL_MS = 500
MAX_MS = 86400 * 1000  # a day: a longer wait is a typo


def parse_seconds(text, option="--wait"):
    """"1.5" -> 1500 (ms). A non-negative decimal number; anything else
    is a UsageError naming `option`."""
    whole, dot, frac = text.partition(".")
    if (not (whole or frac) or not only(whole, DIGITS) or not only(frac, DIGITS)
            or (dot and not frac and not whole) or len(whole) > 6):
        raise UsageError("bad %s value '%s': a number of seconds such as 30 or 0.5" % (option, shown(text)))
    ms = int(whole or "0") * 1000 + int((frac + "000")[:3])
    if ms > MAX_MS:
        raise UsageError("%s %s: at most %d seconds" % (option, shown(text), MAX_MS // 1000))
    return ms


def _clock():
    if hasattr(time, "ticks_ms"):
        return time.ticks_ms, time.ticks_diff, time.sleep_ms
    return (lambda: int(time.monotonic() * 1000), lambda a, b: a - b,
            lambda ms: time.sleep(ms / 1000))


def holds(answer):
    """A Verdict's .ok; for the CLI's [(tool, answer)] of several checks,
    the last one's (they stop at the first that fails)."""
    if isinstance(answer, list):
        return answer[-1][1].ok
    return answer.ok


def wait_for(check, ms):
    """Call check() (-> Verdict) until it holds or `ms` milliseconds have
    passed; returns the last Verdict, or raises the last KernelError when
    the last try failed with one. Sleeps between checks, never spins."""
    now, diff, sleep = _clock()
    start = now()
    interval = FIRST_MS
    while True:
        error = None
        try:
            verdict = check()
        except KernelError as err:
            verdict, error = None, err
        left = ms - diff(now(), start)
        if left <= 0 or (verdict is not None and holds(verdict)):
            if error is not None:
                raise error
            return verdict
        sleep(min(interval, left))
        interval = min(interval * 2, MAX_INTERVAL_MS)
