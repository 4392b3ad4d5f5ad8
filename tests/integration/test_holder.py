"""The holder's sockets for the UNIX, --accepting and --wait tests to come,
checked with ss (iproute2) until the tools can see them themselves."""

import time


def ss(ns, *args):
    return ns.run(["ss", "-H", *args]).out


def test_unix_sockets_on_paths_and_abstract_names(ns, tmp_path):
    h = ns.holder()
    h.unix("stream", str(tmp_path / "s.sock"))
    h.unix("seqpacket", "@hc-seq", backlog=2)
    h.unix("stream", "@hc-idle", nolisten=1)
    h.unix("dgram", "@hc-dgram")
    states = {line.split()[4]: line.split()[:2] for line in ss(ns, "-xa").splitlines()}
    assert states[str(tmp_path / "s.sock")] == ["u_str", "LISTEN"], states
    assert states["@hc-seq"] == ["u_seq", "LISTEN"] and states["@hc-idle"] == ["u_str", "UNCONN"], states
    assert states["@hc-dgram"] == ["u_dgr", "UNCONN"], states


def test_clients_fill_an_accept_queue_and_stay_unaccepted(ns):
    h = ns.holder()
    sid, port = h.open("tcp", 4, "127.0.0.1", backlog=1)
    assert h.clients(sid, 5) == 2  # the kernel queues backlog + 1; the third handshake waits
    assert ss(ns, "-ltn", "sport", "= :%d" % port).split()[:3] == ["LISTEN", "2", "1"]
    useq = h.unix("seqpacket", "@hc-queue", backlog=2)
    assert h.clients(useq, 10) == 3


def test_flooded_datagram_sockets_drop_or_refuse(ns):
    h = ns.holder()
    sid, port = h.open("udp", 4, "127.0.0.1", rcvbuf=2048)
    assert h.flood(sid, 100) == 100  # UDP never blocks the sender: the receiver drops
    stats = ss(ns, "-uanm", "sport", "= :%d" % port)
    assert int(stats.split()[1]) > 0 and ",d0)" not in stats, stats
    assert h.flood(h.unix("dgram", "@hc-full", rcvbuf=1024), 1000) < 1000  # AF_UNIX refuses


def test_a_listener_that_appears_later(ns, tools):
    h = ns.holder()
    sid, port = h.open("tcp", 4, "127.0.0.1", nolisten=1)
    h.later(0.5, "listen %d" % sid)
    tools.no("TCP", port)
    time.sleep(1.5)
    tools.ok("TCP", port)
