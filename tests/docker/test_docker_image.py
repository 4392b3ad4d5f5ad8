"""The shipped image (healthcheck:latest, FROM scratch) and how users consume it.

Run:  CI=true python -m pytest tests/docker -v
(see conftest.py for what the fixtures do when Docker or the image is missing)
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import socket
import ssl
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

import healthcheck
from tests.harness import LINKS, ROOT, TLS_TOOLS, TOOLS, missing
from tests.release.pki import make_pki

from .conftest import is_static_elf

# The two binaries: TCP (every tool's link but HTTPS) and healthcheck-tls
# (HTTPS's), static/tls/README.md; what each may weigh, and both together:
# /healthcheck in the image, everything included.
BINARIES = {"TCP": 300 * 1024, "healthcheck-tls": 700 * 1024}
MAX_PAYLOAD = 1024 * 1024
TLS_LINKS = {t: "healthcheck-tls" for t in TLS_TOOLS}
ALL_LINKS = dict({t: "TCP" for t in LINKS}, **TLS_LINKS)
TCP_PORT = 8080                   # the listener fixture: busybox httpd on [::]:8080 (dual-stack)
UDP_PORT = 67                     # the listener fixture: busybox udhcpd on 0.0.0.0:67
CLOSED_PORT = 8081


def _lines(b: bytes) -> list[str]:
    return [ln for ln in b.decode(errors="replace").splitlines() if ln.strip()]


# --------------------------------------------------------------- image content

def test_image_holds_only_the_binaries_and_their_links(image_files: dict[str, tarfile.TarInfo]):
    paths = set(image_files)
    want = {"healthcheck"} | {f"healthcheck/{n}" for n in list(BINARIES) + list(ALL_LINKS)}
    assert paths == want, f"unexpected image content: extra {sorted(paths - want)}, missing {sorted(want - paths)}"
    assert image_files["healthcheck"].isdir()
    for binary in BINARIES:
        m = image_files[f"healthcheck/{binary}"]
        assert m.isfile(), f"healthcheck/{binary} must be a regular file (a static binary)"
        assert m.mode & 0o111 == 0o111, f"healthcheck/{binary} not executable by everyone: {oct(m.mode)}"
    for t, binary in ALL_LINKS.items():
        m = image_files[f"healthcheck/{t}"]
        assert m.issym(), f"healthcheck/{t} should be a symlink to {binary}"
        target = posixpath.normpath(posixpath.join("/healthcheck", m.linkname))
        assert target == f"/healthcheck/{binary}", f"healthcheck/{t} -> {m.linkname}, want {binary}"


def test_payload_size(image_files: dict[str, tarfile.TarInfo], docker, image):
    """Both binaries, and /healthcheck whole under 1 MB (static/tls/README.md)."""
    for binary, limit in BINARIES.items():
        size = image_files[f"healthcheck/{binary}"].size
        assert size <= limit, f"/healthcheck/{binary} is {size} bytes > {limit}"
    total = sum(m.size for m in image_files.values() if m.isfile())
    assert total <= MAX_PAYLOAD, f"/healthcheck holds {total} bytes > {MAX_PAYLOAD}"
    size = int(docker.out("image", "inspect", "--format", "{{.Size}}", image))
    assert size <= MAX_PAYLOAD + 4096, f"image size {size} bytes"


@pytest.mark.parametrize("binary", BINARIES)
def test_binary_is_static_elf(docker, image, tmp_path, binary):
    """Export the binary and check it has no ELF interpreter (runs without libc)."""
    cid = docker.out("create", "--entrypoint", "/healthcheck/TCP", image, "--help")
    try:
        docker.run("cp", f"{cid}:/healthcheck/{binary}", str(tmp_path / binary), check=True)
    finally:
        docker.rm(cid)
    data = (tmp_path / binary).read_bytes()
    assert data[:4] == b"\x7fELF"
    assert is_static_elf(tmp_path / binary), f"{binary} has a PT_INTERP: not static"


# ------------------------------------------------------------ plain invocation

HARDENED = ("--rm", "--read-only", "--user", "65534", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges")


@pytest.mark.parametrize("tool", TOOLS)
def test_nothing_listening_exits_1_with_one_line(docker, image, tool):
    cp = docker.run("run", *HARDENED, "--network", "none", "--entrypoint", f"/healthcheck/{tool}",
                    image, "1")
    assert cp.returncode == 1, (cp.returncode, cp.stdout, cp.stderr)
    err = _lines(cp.stderr)
    assert len(err) == 1, f"want one line on stderr, got {cp.stderr!r}"
    assert len(cp.stderr) < 200
    assert cp.stdout.strip() == b"", cp.stdout


def test_help_exits_0_on_stdout(docker, image):
    """--help is asked-for output, not a failure: stdout, exit 0 (README, Usage)."""
    cp = docker.run("run", *HARDENED, "--network", "none", "--entrypoint", "/healthcheck/TCP",
                    image, "--help")
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    assert b"TCP" in cp.stdout and cp.stderr == b"", (cp.stdout, cp.stderr)


def test_bad_argument_exits_1_not_2(docker, image):
    cp = docker.run("run", *HARDENED, "--network", "none", "--entrypoint", "/healthcheck/TCP",
                    image, "80abc")
    assert cp.returncode == 1, (cp.stdout, cp.stderr)
    assert cp.stderr.strip()


# ------------------------------------------- inside a listener's net namespace

@pytest.mark.parametrize("tool,port,want", [
    ("TCP", TCP_PORT, 0),        # httpd listens on [::]:8080 with v6only off: counts for IPv4
    ("TCP6", TCP_PORT, 1),       # but IPv6 is off in the container (Docker's default): no IPv6 client can come
    ("TCP", CLOSED_PORT, 1),
    ("TCP", UDP_PORT, 1),        # a UDP socket is no TCP listener
    ("UDP", UDP_PORT, 0),
    ("UDP", 68, 1),
    ("UDP", TCP_PORT, 1),        # a TCP listener is no UDP listener
    ("UDP6", UDP_PORT, 1),       # IPv6 questions never count IPv4 sockets
])
def test_in_listener_namespace(docker, image, listener, tool, port, want):
    cp = docker.run("run", *HARDENED, "--network", f"container:{listener}",
                    "--entrypoint", f"/healthcheck/{tool}", image, str(port))
    assert cp.returncode == want, (tool, port, cp.stdout, cp.stderr)
    if want == 0:
        assert len(_lines(cp.stdout)) <= 1 and cp.stderr.strip() == b"", (cp.stdout, cp.stderr)
    else:
        assert len(_lines(cp.stderr)) == 1 and cp.stdout.strip() == b"", (cp.stdout, cp.stderr)


def test_labels_name_the_revision_and_version(docker, image):
    """make image fills the OCI labels from git and the package (README, In a Docker image)."""
    labels = json.loads(docker.out("image", "inspect", "--format", "{{json .Config.Labels}}", image))
    revision = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    assert labels["org.opencontainers.image.revision"] == revision, labels
    assert labels["org.opencontainers.image.version"] == healthcheck.__version__, labels


def test_a_version_not_the_packages_stops_the_build(docker, base_image, tmp_path):
    """The label's VERSION must be __version__: the Dockerfile's first stage,
    which needs only src/healthcheck/__init__.py, refuses another one in
    seconds and lets a build without VERSION (`docker build .`) through."""
    (tmp_path / "src" / "healthcheck").mkdir(parents=True)
    shutil.copy(ROOT / "Dockerfile", tmp_path)
    shutil.copy(ROOT / "src" / "healthcheck" / "__init__.py", tmp_path / "src" / "healthcheck")
    args = ("build", "--force-rm", "--target", "version", "--build-arg", "BASE_IMAGE=" + base_image)
    cp = docker.run(*args, "--build-arg", "VERSION=0.0.0-not-it", tmp_path, timeout=300)
    out = (cp.stdout + cp.stderr).decode(errors="replace")
    assert cp.returncode != 0, out
    assert "VERSION=0.0.0-not-it, but src/healthcheck/__init__.py is %s" % healthcheck.__version__ in out, out
    image_id = docker.out(*args, "-q", tmp_path, timeout=300)
    docker.rm(image_id, what="rmi")


def test_entrypoint_takes_the_tool_first(docker, image, listener):
    """`docker run IMAGE UDP 67`, `--network container:APP IMAGE TCP 8080`
    (README, In a Docker image): the entrypoint is /healthcheck/healthcheck."""
    for args, want in ((["UDP", str(UDP_PORT)], 0), (["tcp", str(TCP_PORT)], 0), (["TCP", str(CLOSED_PORT)], 1)):
        cp = docker.run("run", *HARDENED, "--network", f"container:{listener}", image, *args)
        assert cp.returncode == want, (args, cp.stdout, cp.stderr)
        assert args[0].upper().encode() in (cp.stdout if want == 0 else cp.stderr)
    cp = docker.run("run", *HARDENED, "--network", "none", image)
    assert cp.returncode == 0 and ", ".join(TOOLS).encode() in cp.stdout, (cp.stdout, cp.stderr)
    cp = docker.run("run", *HARDENED, "--network", "none", image, "--version")
    assert cp.returncode == 0 and b"MicroPython" in cp.stdout, (cp.stdout, cp.stderr)


# ------------------------------------------------- HTTPS: healthcheck-tls

def test_https_is_healthcheck_tls(docker, image):
    """`--entrypoint /healthcheck/HTTPS IMAGE 1`: healthcheck-tls answers a
    port nobody listens on in one line, exit 1. The image's entrypoint stays
    the main binary, which has no TLS: `docker run IMAGE HTTPS 1` says, in
    one line, to use /healthcheck/HTTPS."""
    cp = docker.run("run", *HARDENED, "--network", "none", "--entrypoint", "/healthcheck/HTTPS", image, "1")
    assert cp.returncode == 1 and len(_lines(cp.stderr)) == 1 and cp.stdout.strip() == b"", (cp.stdout, cp.stderr)
    assert b"not in this binary" not in cp.stderr and b"Traceback" not in cp.stderr, cp.stderr
    cp = docker.run("run", *HARDENED, "--network", "none", image, "HTTPS", "1")
    assert cp.returncode == 1 and len(_lines(cp.stderr)) == 1 and cp.stdout.strip() == b"", (cp.stdout, cp.stderr)
    assert b"TLS is not in this binary" in cp.stderr and b"/healthcheck/HTTPS" in cp.stderr, cp.stderr
    cp = docker.run("run", *HARDENED, "--network", "none", "--entrypoint", "/healthcheck/healthcheck-tls",
                    image, "--version")
    assert cp.returncode == 0 and b"MicroPython" in cp.stdout, (cp.stdout, cp.stderr)


OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """Python's ssl server on this machine's 127.0.0.1 (an EC certificate of
    tests/release/pki.py): a handshake and one 200 OK per connection.
    -> (pki dir, port)."""
    if shutil.which("openssl") is None:
        missing("openssl is not installed (Debian package openssl; scripts/deps.sh installs it)")
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "ec.pem", pki / "ec.key")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return                      # shut down: the test is over
            try:
                conn.settimeout(10)
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    head = b""
                    while b"\r\n\r\n" not in head and len(head) < 65536:
                        chunk = tls.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    tls.sendall(OK_RESPONSE)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield pki, listener.getsockname()[1]
    listener.shutdown(socket.SHUT_RDWR)     # wakes accept()
    listener.close()
    thread.join(10)


@pytest.mark.parametrize("ca,want", [("ca.pem", 0), ("other-ca.pem", 1)])
def test_https_handshake_from_the_image(docker, image, tls_server, ca, want):
    """healthcheck-tls in the FROM-scratch image, as nobody, read-only, no
    capabilities: a TLS handshake with a real server, verified against a CA
    file mounted in (randomness from getrandom(2): no /dev/urandom, no CA
    store in the image), and refused against another CA."""
    pki, port = tls_server
    cp = docker.run("run", *HARDENED, "--network", "host", "-v", f"{pki / ca}:/ca.pem:ro",
                    "--entrypoint", "/healthcheck/HTTPS", image, str(port), "--cacert", "/ca.pem")
    assert cp.returncode == want, (cp.stdout, cp.stderr)
    if want == 0:
        assert _lines(cp.stdout) == [f"HTTPS {port}: 200 OK from 127.0.0.1:{port}"] and cp.stderr == b"", (
            cp.stdout, cp.stderr)
    else:
        assert len(_lines(cp.stderr)) == 1 and b"not signed by the CA of --cacert" in cp.stderr, cp.stderr


def test_port_list_in_listener_namespace(docker, image, listener):
    def run(ports):
        return docker.run("run", *HARDENED, "--network", f"container:{listener}",
                          "--entrypoint", "/healthcheck/TCP", image, ports).returncode

    assert run(f"{TCP_PORT}") == 0
    assert run(f"{TCP_PORT},{CLOSED_PORT}") == 1


def test_quiet_prints_nothing(docker, image, listener):
    for port, want in ((TCP_PORT, 0), (CLOSED_PORT, 1)):
        cp = docker.run("run", *HARDENED, "--network", f"container:{listener}",
                        "--entrypoint", "/healthcheck/TCP", image, str(port), "--quiet")
        assert cp.returncode == want
        assert cp.stdout == b"" and cp.stderr == b"", (cp.stdout, cp.stderr)


def test_writes_nothing(docker, image, listener):
    """Without --read-only and as root, `docker diff` still shows no change."""
    for tool, port in (("TCP", TCP_PORT), ("UDP", UDP_PORT), ("TCP", CLOSED_PORT), ("HTTPS", CLOSED_PORT)):
        name = docker.name("diff")
        try:
            cp = docker.run("run", "--name", name, "--network", f"container:{listener}",
                            "--entrypoint", f"/healthcheck/{tool}", image, str(port), "--debug")
            assert cp.returncode in (0, 1), (cp.stdout, cp.stderr)
            diff = docker.out("diff", name)
            assert diff == "", f"{tool} {port} wrote to the filesystem:\n{diff}"
        finally:
            docker.rm(name)


# ------------------------------------------------ a user's image (HEALTHCHECK)

CONSUMER = """\
FROM scratch
COPY busybox /bin/busybox
COPY udhcpd.conf /etc/udhcpd.conf
COPY --from=@IMAGE@ /healthcheck /healthcheck
ENTRYPOINT ["/bin/busybox"]
HEALTHCHECK --interval=1s --timeout=3s --start-period=1s --retries=2 CMD {check}
"""


def _consumer(consumer_build, what: str, check: list[str]) -> str:
    return consumer_build(what, CONSUMER.format(check=json.dumps(check)))


@pytest.fixture(scope="module")
def consumer_images(consumer_build):
    return {
        "tcp": _consumer(consumer_build, "consumer-tcp", ["/healthcheck/TCP", str(TCP_PORT)]),
        "tcp-closed": _consumer(consumer_build, "consumer-closed", ["/healthcheck/TCP", str(CLOSED_PORT)]),
        "udp": _consumer(consumer_build, "consumer-udp", ["/healthcheck/UDP", str(UDP_PORT)]),
    }


def _start(docker, tag: str, *cmd: str, user: str | None = None) -> str:
    name = docker.name("consumer")
    args = ["run", "-d", "--init", "--name", name, "--network", "none", "--read-only"]
    if user:
        args += ["--user", user]
    docker.run(*args, tag, *cmd, check=True)
    return name


def test_consumer_tcp_becomes_healthy(docker, consumer_images):
    name = _start(docker, consumer_images["tcp"], "httpd", "-f", "-p", str(TCP_PORT), "-h", "/",
                  user="65534")
    try:
        h = docker.wait_health(name, "healthy", limit=40)
        last = h["Log"][-1]
        assert last["ExitCode"] == 0
        assert len(last["Output"]) < 200
    finally:
        docker.rm(name)


def test_consumer_udp_becomes_healthy(docker, consumer_images):
    name = _start(docker, consumer_images["udp"], "udhcpd", "-f", "/etc/udhcpd.conf")
    try:
        h = docker.wait_health(name, "healthy", limit=40)
        assert h["Log"][-1]["ExitCode"] == 0
    finally:
        docker.rm(name)


def test_consumer_closed_port_unhealthy_with_message(docker, image, consumer_images):
    name = _start(docker, consumer_images["tcp-closed"], "httpd", "-f", "-p", str(TCP_PORT), "-h", "/",
                  user="65534")
    try:
        h = docker.wait_health(name, "unhealthy", limit=40)
        assert h["FailingStreak"] >= 2
        last = h["Log"][-1]
        assert last["ExitCode"] == 1, last
        out = last["Output"].strip()
        assert out and "\n" not in out and len(out) < 200, last
        # the very line the tool prints when asked directly in that namespace
        direct = docker.run("run", "--rm", "--network", f"container:{name}",
                            "--entrypoint", "/healthcheck/TCP", image, str(CLOSED_PORT))
        assert direct.returncode == 1
        assert out == direct.stderr.decode().strip(), (out, direct.stderr)
    finally:
        docker.rm(name)


# ------------------------------------------------- no code loaded from cwd/env

PLANTED = 'import sys\nprint("PLANTED-CODE-RAN")\nsys.stderr.write("PLANTED-CODE-RAN\\n")\nsys.exit(0)\n'
PLANT_NAMES = ["TCP.py", "UDP.py", "TCP6.py", "UDP6.py", "main.py", "boot.py", "_boot.py",
               "healthcheck/__init__.py", "healthcheck/__main__.py", "healthcheck/cli.py",
               "healthcheck/core.py", "healthcheck/netlink.py", "healthcheck/procnet.py",
               "socket.py", "usocket.py", "struct.py", "os.py", "sys.py", "errno.py", "select.py",
               "time.py", "ffi.py", "uctypes.py", "re.py", "io.py", "array.py", "builtins.py",
               "micropython.py", "collections.py", "sitecustomize.py", "usercustomize.py"]


def test_planted_code_not_executed(docker, image, consumer_build, listener):
    files = {}
    for d in ("app", "planted"):
        for n in PLANT_NAMES:
            files[f"{d}/{n}"] = PLANTED
    tag = consumer_build("planted", """\
FROM scratch
COPY --from=@IMAGE@ /healthcheck /healthcheck
COPY app /app
COPY planted /planted
WORKDIR /app
ENV MICROPYPATH=/planted:/app:.:: PYTHONPATH=/planted:/app PYTHONSTARTUP=/planted/main.py \
    PYTHONHOME=/planted MICROPYINSPECT=1 PYTHONINSPECT=1
""", files=files)
    # nothing listens on CLOSED_PORT: planted code exiting 0 would turn the answer into 0
    for tool, port, want in (("TCP", CLOSED_PORT, 1), ("UDP", CLOSED_PORT, 1), ("HTTPS", CLOSED_PORT, 1),
                             ("TCP", TCP_PORT, 0), ("UDP", UDP_PORT, 0)):
        cp = docker.run("run", "--rm", "--read-only", "--user", "65534",
                        "--network", f"container:{listener}",
                        "--entrypoint", f"/healthcheck/{tool}", tag, str(port))
        both = cp.stdout + cp.stderr
        assert b"PLANTED-CODE-RAN" not in both, f"{tool} {port} ran planted code: {both!r}"
        assert cp.returncode == want, (tool, port, cp.returncode, both)
    # also when started by a relative path from the planted directory
    cp = docker.run("run", "--rm", "--read-only", "--user", "65534", "--network", "none",
                    "-w", "/healthcheck", "--entrypoint", "./TCP", tag, str(CLOSED_PORT))
    assert b"PLANTED-CODE-RAN" not in cp.stdout + cp.stderr
    assert cp.returncode == 1


# ---------------------------------------------------------- compose example

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_compose_example_becomes_healthy(docker, image, base_image):
    """examples/compose.yaml: every service reaches healthy (examples/compose-up-test.sh)."""
    if image != "healthcheck:latest":
        pytest.skip("the compose example copies from healthcheck:latest")
    if not (docker.ok("compose", "version") or shutil.which("docker-compose")):
        missing("no docker compose / docker-compose (Debian package docker-compose; scripts/deps.sh)")
    try:
        cp = subprocess.run(["bash", str(EXAMPLES / "compose-up-test.sh")],
                            env=dict(os.environ, DOCKER=docker.bin, COMPOSE_WAIT="60"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=400)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"compose-up-test.sh timed out: {e.output!r}") from e
    out = cp.stdout.decode(errors="replace")
    assert cp.returncode == 0, out[-4000:]
    # every service of the file: its top-level keys under services:, two spaces in
    services = re.findall(r"^  ([a-z][\w-]*):$", (EXAMPLES / "compose.yaml").read_text().split("\nservices:")[1], re.M)
    assert len(services) >= 6 and "all %d services healthy" % len(services) in out, (services, out[-4000:])
