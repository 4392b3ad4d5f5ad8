"""The command line: names, options anywhere, messages, exit codes (never
2), help and version, --wait. (tests/test_package.py runs the installed
commands themselves.)"""

from kit import ARABIC_ONE, Out, raises
from test_decide import held_loopback_port

from healthcheck import __version__
from healthcheck.cli import main, parse_args, tool_and_args
from healthcheck.envsubst import expand
from healthcheck.errors import UsageError
from healthcheck.tools import find_tool
from healthcheck.wait import parse_seconds, wait_for


def run(*argv, env=None):
    out, err = Out(), Out()
    code = main(list(argv), (env or {}).get, out, err)
    return code, out.text, err.text


def only_check(args, tool="TCP"):
    opts = parse_args(args, find_tool(tool))
    assert len(opts.checks) == 1 and opts.error is None, args
    return opts, opts.checks[0]


def test_options_anywhere():
    for args in (["--quiet", "80", "--debug"], ["80", "--quiet"], ["--debug", "--quiet", "80"], ["-q", "80"]):
        opts, check = only_check(args)
        assert check[1] == ["80"] and opts.quiet, args
    assert only_check(["--", "80"])[1][1] == ["80"]
    opts, check = only_check(["80", "--wait", "3", "--accepting", "--external"])
    assert opts.wait == "3" and check[2] == {"--accepting": True, "--external": True}
    opts, check = only_check(["--wait=0.5", "80"])
    assert opts.wait == "0.5" and check[1] == ["80"]


NAMES = [
    (["TCP", "80"], "TCP", ["80"]), (["/usr/bin/tcp6", "80"], "TCP6", ["80"]), (["Udp", "53"], "UDP", ["53"]),
    (["/healthcheck/healthcheck", "udp6", "53"], "UDP6", ["53"]),
    (["hc", "--debug", "UNIX", "/s"], "UNIX", ["/s"]),
    (["healthcheck", "--wait", "5", "tcp", "80"], "TCP", ["80"]),
    (["healthcheck", "--accepting", "http", "80"], "HTTP", ["80"]),
]


def test_names():
    for argv, tool, positionals in NAMES:
        first, args = tool_and_args(argv)
        opts = parse_args(args, first)
        assert [(c[0].name, c[1]) for c in opts.checks] == [(tool, positionals)], argv
    for argv in (["healthcheck", "80"], ["renamed"], []):
        first, args = tool_and_args(argv)
        assert first is None and parse_args(args, first).checks == [], argv


def test_several_checks_in_one_call():
    # A positional that names a tool, in any letter case, starts a check;
    # its options follow it; --quiet, --debug, --wait are the call's.
    first, args = tool_and_args(["/healthcheck/TCP", "80,443", "--accepting", "udp", "53", "--wait", "5",
                                 "Unix", "/run/a.sock", "-q", "tcp6", "--external", "8080", "::1"])
    opts = parse_args(args, first)
    assert opts.error is None and opts.wait == "5" and opts.quiet
    assert [(c[0].name, c[1], c[2]) for c in opts.checks] == [
        ("TCP", ["80,443"], {"--accepting": True}), ("UDP", ["53"], {}), ("UNIX", ["/run/a.sock"], {}),
        ("TCP6", ["8080", "::1"], {"--external": True})]
    # After --, nothing is a tool name: a unix socket named like a tool.
    opts = parse_args(["--", "tcp"], find_tool("UNIX"))
    assert [(c[0].name, c[1]) for c in opts.checks] == [("UNIX", ["tcp"])]
    # A check's options are its kind's; one given before any tool goes to the first.
    assert "unknown option '--status' for TCP" in str(parse_args(["80", "--status", "200"], find_tool("TCP")).error)
    opts = parse_args(["--external", "tcp", "80"])
    assert opts.error is None and opts.checks[0][2] == {"--external": True}
    assert "no tool named" in str(parse_args(["--external"]).error)


def test_several_checks_answer_together():
    held, port = held_loopback_port()
    held.listen(1)
    port = str(port)
    try:
        code, out, err = run("TCP", port, "tcp", port, env={"HEALTHCHECK_BACKEND": "proc"})
        assert code == 0 and err == "" and out.count(" is listening (127.0.0.1:") == 2 and "; TCP port" in out
        code, out, err = run("healthcheck", "tcp", port, "tcp", "1", "udp", "1",
                             env={"HEALTHCHECK_BACKEND": "proc"})
        assert code == 1 and out == "" and err == "TCP port 1 is not listening (no TCP socket listens on this " \
            "port)\n", err  # the first check that fails, and only its line
        code, out, err = run("TCP", port, "udp", "1", "--debug", env={"HEALTHCHECK_BACKEND": "proc"})
        assert code == 1 and "TCP debug: port %s: 1 socket" % port in err and "UDP debug: port 1: 0 sockets" in err
        # A usage error names the check it is about.
        code, out, err = run("TCP", port, "udp", "0")
        assert code == 1 and err.startswith("UDP: bad port '0'") and "usage: UDP PORTS" in err, err
    finally:
        held.close()


def test_values_from_the_environment():
    env = {"PORT": "8080", "EMPTY": "", "ADDR": "10.0.0.1"}.get
    for text, want in (("$PORT", "8080"), ("${PORT}", "8080"), ("${PORT:-1}", "8080"), ("${NOPE:-53}", "53"),
                       ("${EMPTY:-7}", "7"), ("$PORT,$PORT", "8080,8080"), ("a$$b", "a$b"), ("$$PORT", "$PORT"),
                       ("x$", "x$"), ("$5", "$5"), ("${PORT}0", "80800"), ("$PORT/healthz", "8080/healthz"),
                       ("${NOPE:-}", ""), ("no dollar", "no dollar")):
        assert expand(text, env) == want, text
    for text, said in (("$NOPE", "environment variable NOPE is not set"), ("${NOPE}", "NOPE is not set"),
                       ("${PORT", "without its closing }"), ("${}", "write ${NAME}"), ("${P-1}", "write ${NAME}"),
                       ("${1A}", "write ${NAME}")):
        assert said in str(raises(UsageError, expand, text, env)), text
    code, out, err = run("TCP", "${NOPE}", env={})
    assert code == 1 and err.startswith("TCP: environment variable NOPE is not set"), err
    code, out, err = run("TCP", "${P:-0}", env={})
    assert code == 1 and err.startswith("TCP: bad port '0'"), err  # the expanded value is judged


BAD = [
    (["TCP"], "missing PORTS"), (["UNIX"], "missing PATH"),
    (["TCP", "80abc"], "bad port '80abc'"),
    (["TCP", "+80"], "bad port"), (["TCP", "0x50"], "bad port"), (["TCP", "8 0"], "bad port"),
    (["TCP", ""], "no port given"), (["TCP", "0"], "bad port '0'"), (["TCP", "65536"], "bad port"),
    (["TCP", "1,,2"], "an empty entry"),
    (["TCP", "80", "::1"], "use TCP6"), (["TCP6", "80", "127.0.0.1"], "use TCP"),
    (["UDP", "80", "1.2.3"], "bad address"),
    (["TCP", "80", "1.2.3.4", "5"], "too many arguments"), (["UNIX", "/a", "/b"], "too many arguments"),
    (["TCP", "--port", "80"], "unknown option '--port'"),
    (["TCP", "80", "\xff\xfe"], "bad address '\\xff\\xfe'"),
    (["TCP", "x" * 5000], "bad port 'xxxxx"),
    (["TCP", "80", "--wait"], "--wait needs SECONDS"), (["TCP", "80", "--accepting=1"], "takes no value"),
    (["TCP", "80", "--wait", "abc"], "bad --wait value 'abc'"),
    (["TCP", "80", "--wait", "-3"], "bad --wait value '-3'"),
    (["TCP", "80", "--wait="], "bad --wait value ''"),
    (["healthcheck", "80"], "unknown tool '80'"), (["healthcheck"], "no tool named"),
]


def test_bad_input_is_one_clear_line_plus_usage():
    for argv, message in BAD:
        code, out, err = run(*argv)
        lines = err.splitlines()
        assert code == 1 and out == "" and len(lines) == 2, (argv, err)
        assert message in lines[0] and len(err) < 400, (argv, err)
        name = "healthcheck" if argv[0] == "healthcheck" else argv[0]
        assert lines[0].startswith(name + ": ") and lines[1].startswith("usage: " + name), err
        assert run(*([argv[0], "--quiet"] + argv[1:])) == (1, "", ""), argv
        code, out, err = run(*([argv[0], "--quiet", "--debug"] + argv[1:]))  # --debug wins over --quiet
        assert code == 1 and message in err, argv


def test_bad_backend_name():
    code, _, err = run("TCP", "80", env={"HEALTHCHECK_BACKEND": "ebpf"})
    assert code == 1 and "HEALTHCHECK_BACKEND=ebpf: use netlink or proc" in err


def test_help_and_version():
    for name in ("TCP", "UDP", "TCP6", "UDP6", "UNIX"):
        code, out, err = run("/x/y/" + name.lower(), "80", "--help", "junk")
        assert code == 0 and out.startswith("usage: %s P" % name) and err == "", out
        assert ("--external" in out) is (name != "UNIX") and "--accepting" in out and "--wait" in out
        assert "-q, --quiet" in out and "-h, --help" in out and "-V, --version" in out
        assert "loopback connect()" in out
        code, out, err = run(name, "-V")
        assert code == 0 and out.startswith("%s (healthcheck) %s (" % (name, __version__)) and err == ""
    code, out, err = run("healthcheck", "--help")
    assert code == 0 and "TCP, UDP, TCP6, UDP6, UNIX" in out
    code, out, err = run("healthcheck", "tcp", "--help")
    assert code == 0 and out.startswith("usage: TCP PORTS")
    assert run("healthcheck", "--version")[1].startswith("healthcheck (healthcheck) ")


class Broken(Out):
    def write(self, text):
        raise OSError(32, "Broken pipe")


def test_broken_output_does_not_change_the_exit_code():
    assert main(["TCP", "80abc"], {}.get, Broken(), Broken()) == 1
    assert main(["TCP", "--help"], {}.get, Broken(), Broken()) == 0


def test_wait_seconds():
    for text, ms in (("0", 0), ("30", 30000), ("0.5", 500), (".25", 250), ("1.", 1000), ("2.0005", 2000),
                     ("86400", 86400000)):
        assert parse_seconds(text) == ms, text
    for text in ("", ".", "-3", "abc", "1e3", "1,5", " 1", "0x10", "86401", "1.2.3", ARABIC_ONE):
        raises(UsageError, parse_seconds, text)


class Answers:
    """check() for wait_for: a verdict that is not ok `misses` times, then ok."""

    def __init__(self, misses):
        self.calls = 0
        self.misses = misses
        self.ok = False

    def __call__(self):
        self.calls += 1
        self.ok = self.calls > self.misses
        return self


def test_wait_polls_until_ok_or_time_is_up():
    answers = Answers(3)
    assert wait_for(answers, 5000).ok and answers.calls == 4  # 20 + 40 + 80 ms of sleep
    answers = Answers(1000)
    assert not wait_for(answers, 300).ok and 3 <= answers.calls <= 8  # sleeps, never spins
    answers = Answers(1000)
    assert not wait_for(answers, 0).ok and answers.calls == 1
