// MicroPython unix-port variant "healthcheck": the minimal variant plus what the
// frozen healthcheck package needs (sockets incl. netlink via raw sockaddr,
// struct, os.getenv, errno, long ints, bytes/str helpers).
// See static/README.md. Everything not listed here is off.

// Start from the core-features level (the minimal variant uses MINIMUM and
// enables nearly all of core-features by hand anyway).
#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_CORE_FEATURES)

// No native code emitters: bytecode only.
#define MICROPY_EMIT_X86 (0)
#define MICROPY_EMIT_X64 (0)
#define MICROPY_EMIT_THUMB (0)
#define MICROPY_EMIT_ARM (0)

// Tune the parser to use less RAM by default (as in the minimal variant).
#define MICROPY_ALLOC_QSTR_CHUNK_INIT (64)
#define MICROPY_ALLOC_PARSE_RULE_INIT (8)
#define MICROPY_ALLOC_PARSE_RULE_INC  (8)
#define MICROPY_ALLOC_PARSE_RESULT_INIT (8)
#define MICROPY_ALLOC_PARSE_RESULT_INC (8)
#define MICROPY_ALLOC_PARSE_CHUNK_INIT (64)

// Interpreter features.
#define MICROPY_HELPER_REPL (1)
#define MICROPY_KBD_EXCEPTION (1)
#define MICROPY_ENABLE_SOURCE_LINE (0)  // no line tables: tool mode prints no traceback
#define MICROPY_LONGINT_IMPL (MICROPY_LONGINT_IMPL_MPZ)
// No floats: about 40 KB less (formatting, parsing, libm). Float literals in
// the package fail the build; `/` on ints raises TypeError.
#ifndef MICROPY_FLOAT_IMPL
#define MICROPY_FLOAT_IMPL (MICROPY_FLOAT_IMPL_NONE)
#endif
#define MICROPY_PY_BUILTINS_BYTES_HEX (1)
#define MICROPY_PY_BUILTINS_STR_PARTITION (1)
#define MICROPY_PY_BUILTINS_STR_SPLITLINES (1)
#define MICROPY_CAN_OVERRIDE_BUILTINS (0)
#define MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF (1)
#define MICROPY_EMERGENCY_EXCEPTION_BUF_SIZE (256)

// Modules. Built-in: sys, os, errno, struct, socket (Makefile), io, micropython,
// gc, time. No collections, array, math/cmath, json, re, select: ppc64le, the
// largest code, must stay under 300 KB (f-strings, memoryview, frozenset and
// next(it, default) are off for the same reason; the package uses none).
#define MICROPY_PY_MATH (0)
#define MICROPY_PY_COLLECTIONS (0)
#define MICROPY_PY_ARRAY (0)
#define MICROPY_PY_CMATH (0)
#define MICROPY_PY_SYS_STDFILES (1)
#define MICROPY_PY_SYS_MAXSIZE (1)
#define MICROPY_PY_ERRNO (1)
#define MICROPY_PY_OS (1)
#define MICROPY_PY_OS_INCLUDEFILE "ports/unix/modos.c"
#define MICROPY_PY_OS_GETENV_PUTENV_UNSETENV (1)
#define MICROPY_PY_TIME (1)  // ticks_ms, sleep_ms: --wait (a few hundred bytes)

// Tool mode (static/micropython-tool-mode.patch): when started as TCP, UDP,
// TCP6 or UDP6, run healthcheck.cli.run() from the frozen modules with
// sys.path == ['.frozen'], on a GC heap that starts with a first area of
// TOOL_FIRST_HEAP bytes in .bss and grows by areas from malloc() up to
// TOOL_HEAP bytes in all (a plain check stays in the first area).
#define MICROPY_HEALTHCHECK_TOOLS (1)
#ifndef MICROPY_HEALTHCHECK_TOOL_HEAP
#define MICROPY_HEALTHCHECK_TOOL_HEAP (2 * 1024 * 1024)
#endif
#ifndef MICROPY_HEALTHCHECK_TOOL_FIRST_HEAP
#define MICROPY_HEALTHCHECK_TOOL_FIRST_HEAP (64 * 1024)
#endif
#define MICROPY_GC_SPLIT_HEAP (1)
#define MICROPY_GC_SPLIT_HEAP_AUTO (1)
#define MICROPY_GC_SPLIT_HEAP_N_HEAPS (1)

// Speed: a check is mostly start-up and the import of the frozen modules,
// which is mostly dict and attribute lookups.
#define MICROPY_OPT_MAP_LOOKUP_CACHE (1)
#define MICROPY_OPT_LOAD_ATTR_FAST_PATH (1)
#define MICROPY_OPT_COMPUTED_GOTO (1)
// The bundle of a check's modules (static/bundle.py) defines about 170 names:
// start module dicts big enough to hold them with no rehash on the way (at 32,
// rehashing and probing a full table cost 300k instructions a check).
#define MICROPY_MODULE_DICT_SIZE (256)

// RISC-V: gchelper_generic.c reads the callee-saved registers through
// register variables, which clang (zig cc) rejects as uninitialized; take
// them with setjmp, as the port already does for aarch64, ppc64le and s390x.
#if defined(__riscv)
#define MICROPY_GCREGS_SETJMP (1)
#endif

// ppc64le and 386: MicroPython's NLR for them (py/nlrpowerpc.c, py/nlrx86.c:
// inline asm written for gcc) crashes at start-up when clang builds it (386:
// with LTO); setjmp/longjmp is portable.
#if defined(__powerpc__) || defined(__powerpc64__) || defined(__i386__)
#define MICROPY_NLR_SETJMP (1)
#endif
