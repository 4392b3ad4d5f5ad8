"""--wait SECONDS: repeat a check until it holds or the time is up.

The static build has no floats: SECONDS is parsed as decimal text into
milliseconds, and the clock is MicroPython's ticks_ms/sleep_ms (CPython:
monotonic/sleep).
"""

import time

from .addr import DIGITS, only
from .errors import UsageError, shown

FIRST_MS = 20  # the first pause; doubled after every miss up to
MAX_INTERVAL_MS = 500
MAX_MS = 86400 * 1000  # a day: a longer wait is a typo


def parse_seconds(text):
    """"1.5" -> 1500 (ms). A non-negative decimal number; anything else
    is a UsageError."""
    whole, dot, frac = text.partition(".")
    if (not (whole or frac) or not only(whole, DIGITS) or not only(frac, DIGITS)
            or (dot and not frac and not whole) or len(whole) > 6):
        raise UsageError("bad --wait value '%s': a number of seconds such as 30 or 0.5" % shown(text))
    ms = int(whole or "0") * 1000 + int((frac + "000")[:3])
    if ms > MAX_MS:
        raise UsageError("--wait %s: at most %d seconds" % (shown(text), MAX_MS // 1000))
    return ms


def _clock():
    if hasattr(time, "ticks_ms"):
        return time.ticks_ms, time.ticks_diff, time.sleep_ms
    return (lambda: int(time.monotonic() * 1000), lambda a, b: a - b,
            lambda ms: time.sleep(ms / 1000))


def wait_for(check, ms):
    """Call check() (-> Verdict) until its .ok or `ms` milliseconds have
    passed; returns the last Verdict. Sleeps between checks, never spins."""
    now, diff, sleep = _clock()
    start = now()
    interval = FIRST_MS
    while True:
        verdict = check()
        left = ms - diff(now(), start)
        if verdict.ok or left <= 0:
            return verdict
        sleep(min(interval, left))
        interval = min(interval * 2, MAX_INTERVAL_MS)
