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

// Modules. Built-in: sys, os, errno, struct, socket (Makefile), io, time. No
// collections, array, math/cmath, json, re, select: ppc64le, the largest code,
// must stay small (f-strings, memoryview, frozenset and next(it, default) are
// off for the same reason; the package uses none).
#define MICROPY_PY_MATH (0)
#define MICROPY_PY_COLLECTIONS (0)
#define MICROPY_PY_ARRAY (0)
#define MICROPY_PY_CMATH (0)
#define MICROPY_PY_SYS_STDFILES (1)
#define MICROPY_PY_ERRNO (1)
#define MICROPY_PY_OS (1)
#define MICROPY_PY_OS_INCLUDEFILE "ports/unix/modos.c"
#define MICROPY_PY_OS_GETENV_PUTENV_UNSETENV (1)
#define MICROPY_PY_TIME (1)  // ticks_ms, sleep_ms: --wait (a few hundred bytes)

// Left out for size (#20, #21: every binary <= 340 KiB, amd64 <= 300 KiB),
// healthcheck-tls too (static/tls/variant includes this file): features that
// neither the package, static/bundle.py's generated code nor tests/unit/ use,
// found by grepping them and checked by running the unit suite on this
// binary. With MPY_CROSS_FLAGS = -O3 (mpconfigvariant.mk) about 17 KB on
// amd64 and 19 KB on ppc64le (static/README.md, "The variant"). A frozen
// module that uses one of these fails only when that line runs (its bytecode
// comes from mpy-cross, which has them all); a test script fails to compile.
// Kept because used: property (httpmsg.py), a module's __getattr__
// (bundle.py's stubs), MICROPY_CPYTHON_COMPAT (bytes.decode, str.encode).
#define MICROPY_PY_BUILTINS_SET (0)          // no set, {a, b}, set comprehension: 4.7 KB
#define MICROPY_PY_ASYNC_AWAIT (0)           // async def/for/with, await: 2.8 KB
#define MICROPY_PY_ASSIGN_EXPR (0)           // :=
#define MICROPY_PY_GENERATOR_PEND_THROW (0)
#define MICROPY_PY_BUILTINS_EVAL_EXEC (0)    // eval(), exec()
#define MICROPY_PY_BUILTINS_DICT_FROMKEYS (0)
#define MICROPY_PY_BUILTINS_REVERSED (0)
#define MICROPY_PY_BUILTINS_FILTER (0)
#define MICROPY_PY_BUILTINS_RANGE_ATTRS (0)  // range(...).start/.stop/.step
#define MICROPY_PY_GC (0)                    // the gc module (collection still runs)
#define MICROPY_GC_ALLOC_THRESHOLD (0)       // gc.threshold(): a test in every allocation
#define MICROPY_PY_MICROPYTHON (0)           // the micropython module (const, opt_level)
#define MICROPY_PY_IO_BYTESIO (0)            // io.StringIO stays (tests/unit)
#define MICROPY_PY_VFS (0)                   // the vfs module; open() and os.* stay
#define MICROPY_VFS_WRITABLE (0)             // os.mkdir/remove/rename/rmdir/unlink
#define MICROPY_PY_OS_STATVFS (0)
// errno.errorcode: str(OSError) still says "[Errno 2] ENOENT" (a search of
// the errno module's table instead of a dict)
#define MICROPY_PY_ERRNO_ERRORCODE (0)
// Only what the compiler makes of scripts run by hc-micropython: the frozen
// bytecode comes from mpy-cross. (COMP_CONST_TUPLE stays: with it and
// COMP_CONST both off, py/parse.c does not compile with clang -Werror.)
#define MICROPY_COMP_CONST (0)
#define MICROPY_COMP_DOUBLE_TUPLE_ASSIGN (0)

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
