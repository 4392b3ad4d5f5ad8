# MicroPython unix-port variant "healthcheck" (see static/README.md).
# Static, small, no external libraries (the Debian +ds source lacks libffi,
# mbedtls and berkeley-db anyway).

FROZEN_MANIFEST ?= $(VARIANT_DIR)/manifest.py

MICROPY_PY_BTREE = 0
MICROPY_PY_FFI = 0
MICROPY_PY_SOCKET = 1
MICROPY_PY_THREAD = 0
MICROPY_PY_TERMIOS = 0
MICROPY_PY_SSL = 0
MICROPY_USE_READLINE = 0
MICROPY_PY_JNI = 0

MICROPY_VFS_FAT = 0
MICROPY_VFS_LFS1 = 0
MICROPY_VFS_LFS2 = 0

MICROPY_ROM_TEXT_COMPRESSION = 1

# The frozen package compiled with -O3: no line-number tables in its bytecode
# (tool mode prints no traceback, and the runtime keeps none either:
# MICROPY_ENABLE_SOURCE_LINE) and no assert statements (the package has
# none): 3 KB. Test scripts are compiled by the binary itself, asserts kept.
MPY_CROSS_FLAGS = -O3
