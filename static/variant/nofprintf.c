// Part of the "healthcheck" MicroPython variant (static/README.md).
// main.c's two fprintf() calls (a usage line and "FATAL: uncaught NLR") were
// the only users of musl's vfprintf, which brings its float formatting and
// long-double helpers along: 10 to 14 KB, enough to put ppc64le over the
// 300 KB budget. MicroPython's own vsnprintf (shared/libc/printf.c, already
// in the binary) formats those lines as well.
#include <stdarg.h>
#include <stdio.h>

int fprintf(FILE *stream, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return n;
    }
    if ((size_t)n >= sizeof(buf)) {
        n = sizeof(buf) - 1;
    }
    return (int)fwrite(buf, 1, (size_t)n, stream);
}
