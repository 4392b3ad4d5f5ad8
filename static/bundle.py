#!/usr/bin/env python3
"""Stage the package for freezing: the modules every check runs merged into
one frozen unit, the package's __init__.py.

    static/bundle.py SRC_DIR STAGE_DIR [REVISION] [PLATFORM]

SRC_DIR holds healthcheck/ (one module per step, as written); STAGE_DIR gets a
healthcheck/ whose __init__.py is the HOT modules concatenated in dependency
order, with the relative imports between them removed, and the other (cold)
modules copied as they are. build_info.py's values are filled in.

Why: in the static binary most of a check's time was MicroPython importing
13 small modules — about 140 import operations, each interning a dotted name
through the qstr pools (static/README.md has the measurements). One module
does the same work with no import machinery. The source layout stays as it
is; this runs only at build time, and the whole test suite runs against the
result.

How the merged modules stay modules: the bundle registers itself in
sys.modules under every hot module's name (so `from .addr import only` in a
cold module, and `import healthcheck.cli` in the binary's entry point, find
it) and binds each hot module's name to itself (so `netlink.fetch` works).
That needs every module-level name of the hot modules to be unique, which
this script checks: a clash fails the build.

Cold units (UNITS): the modules that only one kind of check runs (the HTTP
kind's four) are merged the same way into one more frozen module, named
after the kind's module (the one cli imports) and loaded only by a check of
that kind. Their relative imports of each other are removed; their imports
from the hot modules become one `from . import a, b, ...` of the package's
names at the unit's head (a name lookup each, where an import operation of
`healthcheck.addr` interned a dotted name); it registers itself in
sys.modules under each member's name. Every other member gets a stub file
that loads the unit and hands out its names (module __getattr__), for an
import of that member made first (the unit tests, another kind).
"""

import ast
import shutil
import sys
from pathlib import Path

PACKAGE = "healthcheck"
# MicroPython's built-in modules that a file may extend ("extensible"): `import
# struct` first searches sys.path (the frozen modules) for a struct.py, about
# 4,000 instructions of path building and name lookups; `import ustruct` is
# the built-in at once. Every staged module imports them by the u-name.
EXTENSIBLE = ("errno", "io", "os", "socket", "struct", "time")
# The modules a plain check runs, in dependency order; __init__ comes first.
HOT = ["__init__", "kernel_abi", "errors", "addr", "tools", "build_info", "record", "query", "verdict",
       "match", "netlink", "decide", "cli"]
# Cold units: (the unit's module, its members in dependency order). The unit's
# module is the kind's (tools.KINDS), so the kind's one import loads it all.
UNITS = (("httpcheck", ["httpmsg", "kernelfirst", "httpprobe", "httpcheck"]),)
# The hot modules' integer constants (module-level NAME = int expression)
# become `NAME = const(...)`: mpy-cross then writes the number wherever the
# bundle uses the name, where each use was a lookup in the module's dict
# (10,000 instructions of a plain check). The name stays a module attribute
# for the others. Except the settings a test may change at run time
# (CONST_SETTINGS): a folded use would not see the change.
CONST_SETTINGS = ("RECV_SIZE", "TIMEOUT", "MAX_RECORDS")


def fail(message):
    sys.exit("bundle.py: " + message)


def defined_names(tree):
    """Module-level names a module defines (assignments, defs, classes, imports)."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and hot_source(node):
                continue  # removed from the bundle
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.If):  # e.g. the choice of socket module
            names |= defined_names(ast.Module(body=node.body + node.orelse, type_ignores=[]))
    return names


def hot_source(node):
    """True when an ImportFrom (level 1) takes from the bundle: `from .hot
    import x`, `from . import hot` or `from . import __version__`."""
    if node.module:
        return node.module in HOT
    return all(alias.name in HOT or alias.name == "__version__" for alias in node.names)


def int_expression(node, consts):
    """Whether `node` is an integer made of literals and `consts` names."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return node.id in consts
    if isinstance(node, ast.UnaryOp):
        return int_expression(node.operand, consts)
    if isinstance(node, ast.BinOp):
        return int_expression(node.left, consts) and int_expression(node.right, consts)
    return False


def fold_constants(text, tree, consts):
    """The module's text with each module-level `NAME = <int expression>`
    (one line, NAME in capitals, not a CONST_SETTINGS one) written as
    `NAME = const(<int expression>)`, on the same line, so that the tree's
    line numbers still hold; `consts` collects the names."""
    lines = text.splitlines(keepends=True)
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        target, value = node.targets[0].id, node.value
        if target in consts:  # a second binding would be folded to the first value
            fail("%s is bound twice at module level: a constant is bound once" % target)
        if (target.upper() != target or target in CONST_SETTINGS or value.lineno != value.end_lineno
                or not int_expression(value, consts)):
            continue
        line, start, end = lines[value.lineno - 1], value.col_offset, value.end_col_offset
        lines[value.lineno - 1] = "%sconst(%s)%s" % (line[:start], line[start:end], line[end:])
        consts.add(target)
    return "".join(lines)


def strip_imports(text, tree, name, imported):
    """The module's text without its classes' __repr__ methods, without its
    relative imports of hot modules (at any depth), and without a
    module-level `import x` that an earlier hot module
    (or the bundle's head: `sys`) already made (each costs an import
    operation, 2,000 instructions); each becomes `pass`, so a block that held
    only imports stays valid. `imported` collects the module-level imports."""
    lines = text.splitlines(keepends=True)
    drop = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            made = tuple((a.name, a.asname) for a in node.names)
            if made in imported:
                drop.append((node.lineno, node.end_lineno, node.col_offset))
            imported.add(made)
    for node in tree.body:
        # __repr__ is for reading objects in tests and tracebacks on CPython;
        # the binary shows none, and each method is ~600 instructions of a
        # plain check's start-up (defining it at import).
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__repr__":
                    drop.append((item.lineno, item.end_lineno, item.col_offset))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if not hot_source(node):
                if node.module is None and any(a.name in HOT for a in node.names):
                    fail("%s.py: `from . import` mixes hot and cold modules: split it" % name)
                continue
            for alias in node.names:
                if alias.asname and alias.asname != alias.name:
                    fail("%s.py: `import ... as` from a hot module cannot be bundled" % name)
            drop.append((node.lineno, node.end_lineno, node.col_offset))
    for start, end, col in sorted(drop, reverse=True):
        # keep the statement's place (a function may have nothing else): `pass` at its indent
        lines[start - 1:end] = [" " * col + "pass\n"]
    return "".join(lines)


def builtin_imports(text):
    """`import struct` -> `import ustruct as struct` (also with `as`, and
    `from struct import x`) for the EXTENSIBLE modules, at any depth."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name in EXTENSIBLE for a in node.names):
            names = ["u%s as %s" % (a.name, a.asname or a.name) if a.name in EXTENSIBLE
                     else a.name + (" as " + a.asname if a.asname else "") for a in node.names]
            new = "import " + ", ".join(names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in EXTENSIBLE:
            new = "from u%s import %s" % (node.module, ", ".join(
                a.name + (" as " + a.asname if a.asname else "") for a in node.names))
        else:
            continue
        if node.lineno != node.end_lineno:
            fail("a multi-line import of %s cannot be rewritten: put it on one line" % new.split()[1])
        edits.append((node.lineno, node.col_offset, node.end_col_offset, new))
    for lineno, start, end, new in sorted(edits, reverse=True):
        line = lines[lineno - 1]
        lines[lineno - 1] = line[:start] + new + line[end:]
    return "".join(lines)


def main(argv):
    if len(argv) < 3:
        fail("usage: bundle.py SRC_DIR STAGE_DIR [REVISION] [PLATFORM]")
    src, stage = Path(argv[1]) / PACKAGE, Path(argv[2]) / PACKAGE
    revision = argv[3] if len(argv) > 3 and argv[3] else None
    platform = argv[4] if len(argv) > 4 and argv[4] else None
    modules = sorted(p.stem for p in src.glob("*.py"))
    missing = [m for m in HOT if m not in modules]
    if missing:
        fail("hot modules not in %s: %s" % (src, ", ".join(missing)))
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)

    owner = {}
    consts = set()
    imported = {(("sys", None),)}  # the head's
    parts = ['"""healthcheck, bundled for the static build by static/bundle.py from %s."""\n\n'
             "import sys\n\n_bundle = sys.modules[__name__]\n" % ", ".join(HOT)]
    aliases = len(parts)
    for name in HOT:
        text = (src / (name + ".py")).read_text()
        if name == "build_info":
            text = "REVISION = %r\nPLATFORM = %r\n" % (revision, platform)
        tree = ast.parse(text)
        for defined in sorted(defined_names(tree)):
            if defined in owner and defined not in ("struct", "sys"):
                fail("%r is defined by both %s.py and %s.py: rename one" % (defined, owner[defined], name))
            owner[defined] = name
        text = fold_constants(text, tree, consts)
        parts.append("\n# ---- %s.py\n%s" % (name, strip_imports(text, tree, name, imported)))
    # Every hot module is this module, before any of their code runs; a name
    # that a module also defines (match.match) is that definition, as in
    # `from .match import match`.
    parts[aliases:aliases] = ['sys.modules["%s.%s"] = _bundle\n' % (PACKAGE, name) for name in HOT[1:]] + \
        ["%s = _bundle\n" % name for name in HOT[1:] if name not in owner]
    (stage / "__init__.py").write_text(builtin_imports("".join(parts)))
    units = []
    in_units = set()
    for entry, members in UNITS:
        present = [m for m in members if m in modules]
        if not present:
            continue  # a source without that kind
        if len(present) != len(members):
            fail("unit %s: members not in %s: %s" % (entry, src, ", ".join(sorted(set(members) - set(present)))))
        (stage / (entry + ".py")).write_text(builtin_imports(make_unit(src, entry, members, imported)))
        for name in members:
            if name != entry:
                (stage / (name + ".py")).write_text(STUB % (name, entry, entry))
        units.append(entry)
        in_units |= set(members)
    for name in modules:
        if name not in HOT and name not in in_units:
            (stage / (name + ".py")).write_text(builtin_imports((src / (name + ".py")).read_text()))
    print("bundle.py: %d hot modules into %s/__init__.py, %d cold ones beside it%s"
          % (len(HOT), stage, len(modules) - len(HOT) - len(in_units),
             "".join(["; unit %s: %s" % (entry, ", ".join(members)) for entry, members in UNITS
                      if entry in units])))


STUB = '''"""healthcheck.%s is in the frozen unit healthcheck.%s (static/bundle.py),
which registers itself under this name: this stub only serves an import of
it made before the unit's own, and hands out the unit's names."""

from .%s import _unit_attr as __getattr__
'''


def unit_imports(text, tree, name, members, package_made, seen):
    """A member's text for its unit: its relative imports of other members
    removed (they share the unit's globals), its imports from hot modules
    removed and returned ({local name: name in the package}) for the unit's
    head, and a module-level `import x` that the package already made
    (`sys`, `struct`) or an earlier member made (`seen`) removed; each
    becomes `pass`, so a block that held only imports stays valid. Imports
    of other cold modules stay as they are."""
    lines = text.splitlines(keepends=True)
    edits = []
    taken = {}

    def take(alias):
        local = alias.asname or alias.name
        if taken.get(local, alias.name) != alias.name:
            fail("%s.py: %r is imported as two names" % (name, local))
        taken[local] = alias.name

    for node in tree.body:
        if isinstance(node, ast.Import):
            made = tuple((a.name, a.asname) for a in node.names)
            if made in package_made:
                for alias in node.names:
                    take(alias)
                edits.append((node, None))
            elif made in seen:
                edits.append((node, None))
            seen.add(made)
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0:
            if (node.module or "").split(".")[0] == PACKAGE:
                fail("%s.py: import %s relatively (from .x import y) to be bundled" % (name, node.module))
            continue
        if node.level != 1:
            fail("%s.py: only `from .` imports can be bundled" % name)
        if node.module in HOT:
            for alias in node.names:
                take(alias)
            edits.append((node, None))
        elif node.module in members:
            for alias in node.names:
                if alias.asname and alias.asname != alias.name:
                    fail("%s.py: `import ... as` from a member of its unit cannot be bundled" % name)
            edits.append((node, None))
        elif node.module is None:
            kept = []
            for alias in node.names:
                if alias.name in HOT or alias.name == "__version__":
                    take(alias)
                elif alias.name in members:
                    if alias.asname and alias.asname != alias.name:
                        fail("%s.py: `from . import %s as` cannot be bundled" % (name, alias.name))
                else:
                    kept.append(alias.name + (" as " + alias.asname if alias.asname else ""))
            if kept and node.lineno != node.end_lineno:
                fail("%s.py: a multi-line `from . import` of other modules: put it on one line" % name)
            edits.append((node, "from . import " + ", ".join(kept) if kept else None))
    for node, new in sorted(edits, key=lambda e: e[0].lineno, reverse=True):
        lines[node.lineno - 1:node.end_lineno] = [" " * node.col_offset + (new or "pass") + "\n"]
    return "".join(lines), taken


def make_unit(src, entry, members, package_made):
    """The text of the unit `entry`: its members concatenated in order,
    after a head that imports the package's names they use and registers
    the unit under every member's name."""
    owner = {}
    head = {"sys": "sys"}
    seen = set()
    parts = []
    for name in members:
        text = (src / (name + ".py")).read_text()
        text, taken = unit_imports(text, ast.parse(text), name, members, package_made, seen)
        # What is left defines the member's own names (its imports of other cold modules too).
        for defined in sorted(defined_names(ast.parse(text))):
            if defined in owner:
                fail("%r is defined by both %s.py and %s.py: rename one" % (defined, owner[defined], name))
            owner[defined] = name
        for local, real in taken.items():
            if head.get(local, real) != real:
                fail("%s.py: %r is imported from the package as two names" % (name, local))
            head[local] = real
        parts.append("\n# ---- %s.py\n%s" % (name, text))
    for local in head:
        if local in owner:
            fail("%r is imported from the package and defined by %s.py: rename one" % (local, owner[local]))
    for own in ("_unit", "_unit_attr"):
        if own in owner or own in head:
            fail("the name %s is the bundle's own" % own)
    names = ["    %s,\n" % (real if real == local else "%s as %s" % (real, local))
             for local, real in sorted(head.items())]
    text = ['"""healthcheck.%s, bundled for the static build by static/bundle.py from %s."""\n\n'
            % (entry, ", ".join(members)),
            "from . import (\n%s)\n\n_unit = sys.modules[__name__]\n" % "".join(names)]
    text += ['sys.modules["%s.%s"] = _unit\n' % (PACKAGE, name) for name in members if name != entry]
    text += ["%s = _unit\n" % name for name in members if name != entry and name not in owner]
    # The stubs' module __getattr__ (one function for them all).
    text.append("\n\ndef _unit_attr(name):\n    return getattr(_unit, name)\n")
    return "".join(text + parts)


if __name__ == "__main__":
    main(sys.argv)
