// MicroPython unix-port variant "healthcheck-tls" (static/tls/README.md): the
// variant of the main binary (static/variant/) plus MicroPython's tls module on
// mbedTLS (static/tls/mbedtls_config.h). The module itself is switched on by
// mpconfigvariant.mk (MICROPY_PY_SSL, MICROPY_SSL_MBEDTLS).
#include "../../variant/mpconfigvariant.h"

// modtls_mbedtls.c hands a verify callback the certificate as a memoryview
// (healthcheck sets no callback, but the code must compile).
#define MICROPY_PY_BUILTINS_MEMORYVIEW (1)
