# MicroPython unix-port variant "healthcheck-tls" (static/tls/README.md): the main
# binary's variant, its manifest included, plus the tls module on mbedTLS.
# static/static.sh (HEALTHCHECK_FLAVOR=tls) passes MBEDTLS_BUILD: the dir that
# static/tls/mbedtls.sh made, with include/ and the three archives that
# MicroPython's extmod.mk links as Debian builds it (-lmbedx509 -lmbedtls
# -lmbedcrypto).

FROZEN_MANIFEST ?= $(VARIANT_DIR)/../../variant/manifest.py
include $(VARIANT_DIR)/../../variant/mpconfigvariant.mk

MICROPY_PY_SSL = 1
MICROPY_SSL_MBEDTLS = 1
MICROPY_SSL_AXTLS = 0

ifeq ($(MBEDTLS_BUILD),)
$(error MBEDTLS_BUILD is not set: build with HEALTHCHECK_FLAVOR=tls static/static.sh)
endif
CFLAGS_EXTMOD += -I$(MBEDTLS_BUILD)/include -DMBEDTLS_CONFIG_FILE='"healthcheck_mbedtls_config.h"'
LDFLAGS_EXTMOD += -L$(MBEDTLS_BUILD)
