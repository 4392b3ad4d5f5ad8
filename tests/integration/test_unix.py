"""UNIX (docs/rules.md): path and abstract listeners, datagram servers, and
every way a socket file can look alive and not be. unix_diag lists only the
caller's network namespace, so each test has its own; the socket files live
in a directory of the test's own."""

import os
import tempfile

import pytest

from tests.harness import Tools


@pytest.fixture
def where():
    path = tempfile.mkdtemp(prefix="hc-unix-")
    os.chmod(path, 0o755)
    yield path
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    os.rmdir(path)


def test_listeners_by_path_and_abstract_name(ns, tools, where):
    h = ns.holder()
    h.unix("stream", where + "/app.sock")
    h.unix("seqpacket", where + "/seq.sock")
    h.unix("dgram", where + "/log.sock")
    h.unix("stream", "@hc-abstract")
    res = tools.ok("UNIX", where + "/app.sock")
    assert res.out == "UNIX socket %s/app.sock is listening (stream)\n" % where, res
    assert "(seqpacket)" in tools.ok("UNIX", where + "/seq.sock").out
    assert "(dgram)" in tools.ok("UNIX", where + "/log.sock").out
    tools.ok("UNIX", "@hc-abstract")
    tools.no("UNIX", "@hc-abstract2")
    tools.ok("UNIX", where + "/app.sock", "--accepting")


def test_found_by_file_identity_through_symlinks(ns, tools, where):
    h = ns.holder()
    h.unix("stream", where + "/real.sock")
    os.symlink(where, where + "/link")  # a symlinked directory, as /var/run -> /run
    if tools.on_proc("UNIX"):  # names only there, and it says so
        res = tools.no("UNIX", where + "/link/real.sock")
        assert "shows names, not files" in res.err, res
    else:
        res = tools.ok("UNIX", where + "/link/real.sock")
        assert "is listening (stream)" in res.out


def test_not_listening_each_with_its_reason(ns, tools, where):
    h = ns.holder()
    stale = h.unix("stream", where + "/stale.sock")
    h.close(stale)  # the process is gone; the file stays behind
    h.unix("stream", where + "/bound.sock", nolisten=1)
    with open(where + "/regular", "w") as f:
        f.write("x")
    res = tools.no("UNIX", where + "/stale.sock")
    assert ("no socket in this network namespace is bound to this file: a stale socket file" in res.err
            or "no socket is bound to this name in /proc/net/unix" in res.err), res
    res = tools.no("UNIX", where + "/bound.sock")
    assert "listen() was never called" in res.err, res
    res = tools.no("UNIX", where + "/missing.sock")
    assert "(no such file)" in res.err, res
    res = tools.no("UNIX", where + "/regular")
    assert "it is a regular file, not a socket" in res.err, res
    res = tools.no("UNIX", where)
    assert "it is a directory, not a socket" in res.err, res


def test_a_client_and_an_accepted_connection_are_not_listeners(ns, tools, where):
    h = ns.holder()
    sid = h.unix("stream", where + "/srv.sock")
    h.clients(sid, 1)
    h.close(sid)  # the queued connection keeps the name; the listener is gone
    res = tools("UNIX", where + "/srv.sock", "--debug")
    assert res.rc == 1, res


def test_socket_in_another_namespace_is_not_here(ns, tools, where):
    ns.peer.holder().unix("stream", where + "/peer.sock")
    in_peer = Tools(ns.peer, tools.build, tools.backend)
    in_peer.ok("UNIX", where + "/peer.sock")
    tools.no("UNIX", where + "/peer.sock")  # the file is shared, the socket is not


def test_full_accept_queue(ns, tools, where):
    h = ns.holder()
    sid = h.unix("stream", where + "/busy.sock", backlog=1)
    assert h.clients(sid, 5) >= 2
    tools.ok("UNIX", where + "/busy.sock")
    res = tools("UNIX", where + "/busy.sock", "--accepting")
    if tools.on_proc("UNIX"):  # /proc/net/unix shows no queue at all
        assert res.rc == 0 and "queue limit not visible" in res.out, res
    else:
        assert res.rc == 1 and "accept queue full (2/1)" in res.err, res
    tools.ok("UNIX", where + "/busy.sock", "--wait", "0")


def test_proc_matches_by_name(ns, tested_build, where):
    tools = Tools(ns, tested_build, "proc")
    h = ns.holder()
    h.unix("stream", where + "/p.sock")
    h.unix("dgram", "@hc-proc")
    res = tools("UNIX", where + "/p.sock", "--debug")
    assert res.rc == 0 and "matched by name" in res.err, res
    tools.ok("UNIX", "@hc-proc")
    h.unix("stream", where + "/q.sock", nolisten=1)
    res = tools.no("UNIX", where + "/q.sock")
    assert "listen() was never called" in res.err, res


def test_names_that_are_not_utf8(ns, tools, where):
    # A path is bytes to the kernel: a name that is not UTF-8 is asked for as
    # it is, shown escaped, and a process holding such an abstract name does
    # not break the questions about other names (the /proc table is bytes).
    h = ns.holder()
    h.unix("stream", "hex:" + (where + "/\xff.sock").encode("latin-1").hex())
    h.unix("stream", "hex:" + b"@\xff\xfe".hex())
    h.unix("stream", where + "/plain.sock")
    path = (where + "/").encode() + b"\xff.sock"
    res = tools.ok("UNIX", path)
    assert res.out == "UNIX socket %s/\\xff.sock is listening (stream)\n" % where, res
    res = tools.ok("UNIX", b"@\xff\xfe")
    assert res.out == "UNIX socket @\\xff\\xfe is listening (stream)\n", res
    tools.ok("UNIX", where + "/plain.sock")
    res = tools.no("UNIX", (where + "/").encode() + b"\xfe.sock")
    assert res.err == "UNIX socket %s/\\xfe.sock is not listening (no such file)\n" % where, res
