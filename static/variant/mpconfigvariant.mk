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
