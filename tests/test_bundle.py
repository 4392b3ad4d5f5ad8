"""static/bundle.py: the frozen units it stages. The hot bundle (the
package's __init__) does not depend on the cold units; a plain check never
loads the HTTP kind's unit, an HTTP check loads it once under all its
members' names, and a member imported first (a test, another kind) is
served by its stub. The static binary's parts run it as `hc-micropython`."""

import importlib.util
import shutil
import subprocess

import pytest

from tests.harness import ROOT, build

BUNDLE = ROOT / "static" / "bundle.py"
MEMBERS = ("httpmsg", "kernelfirst", "httpprobe", "httpcheck")


def load_bundle():
    spec = importlib.util.spec_from_file_location("bundle_under_test", BUNDLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stage(bundle, src, out):
    bundle.main(["bundle.py", str(src), str(out), "rev", "linux/amd64"])
    return out / "healthcheck"


def test_the_hot_bundle_is_the_same_with_or_without_units(tmp_path):
    bundle = load_bundle()
    with_units = stage(bundle, ROOT / "src", tmp_path / "a")
    bundle.UNITS = ()
    without = stage(bundle, ROOT / "src", tmp_path / "b")
    assert (with_units / "__init__.py").read_bytes() == (without / "__init__.py").read_bytes()
    unit = (with_units / "httpcheck.py").read_text()
    for name in MEMBERS[:-1]:
        assert 'sys.modules["healthcheck.%s"] = _unit' % name in unit
        assert "_unit_attr as __getattr__" in (with_units / (name + ".py")).read_text()
        assert (without / (name + ".py")).read_text() != (with_units / (name + ".py")).read_text()
    # no relative import of a member or of a hot module is left in the unit
    assert "from .httpmsg import" not in unit and "from .addr import" not in unit


def test_the_hot_bundle_folds_integer_constants_and_drops_reprs(tmp_path):
    bundle = load_bundle()
    text = (stage(bundle, ROOT / "src", tmp_path / "a") / "__init__.py").read_text()
    for line in ("AF_INET = const(2)\n", "ALL_STATES = const(0xFFFFFFFF)\n", "NLMSG_HDRLEN = const(16)\n",
                 "EXT_SKMEMINFO = const(1 << (INET_DIAG_SKMEMINFO - 1))"):
        assert line in text, line
    # settings a test changes at run time, and what is no integer, stay names
    for name in ("RECV_SIZE", "TIMEOUT", "MAX_RECORDS"):
        assert ("%s = const(" % name) not in text and ("\n%s = " % name) in text, name
    assert "STATE_NAMES = (" in text and "NLMSG_HDR = \"@IHHII\"" in text
    assert "def __repr__" not in text and "def __repr__" in (ROOT / "src" / "healthcheck" / "query.py").read_text()
    # folding rewrites lines in place: it adds or removes none
    assert text.count("\n") == bundle_lines_unfolded(tmp_path)


def test_a_constant_bound_twice_fails_the_build(tmp_path):
    assert "NLMSG_DONE is bound twice" in build_failure(tmp_path, "netlink.py", "\nNLMSG_DONE = 4\n")


def build_failure(tmp_path, module, appended):
    """bundle.py's message for the source with `appended` at the end of `module`."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "healthcheck", src / "healthcheck")
    with open(src / "healthcheck" / module, "a") as f:
        f.write(appended)
    with pytest.raises(SystemExit) as err:
        stage(load_bundle(), src, tmp_path / "out")
    return str(err.value)


def bundle_lines_unfolded(tmp_path):
    bundle = load_bundle()
    bundle.fold_constants = lambda text, tree, consts: text
    return (stage(bundle, ROOT / "src", tmp_path / "b") / "__init__.py").read_text().count("\n")


def test_a_name_two_members_define_fails_the_build(tmp_path):
    assert ("'parse_target' is defined by both httpmsg.py and kernelfirst.py"
            in build_failure(tmp_path, "kernelfirst.py", "\n\ndef parse_target(text):\n    return text\n"))


@pytest.fixture(scope="module")
def micropython(tmp_path_factory):
    path = tmp_path_factory.mktemp("mpy") / "hc-micropython"  # the one name that is not tool mode
    shutil.copy(build("static").path("TCP"), path)
    return path


CHECKS = """import sys
from healthcheck.cli import main


class Quiet:
    def write(self, text):
        pass


main(["TCP", "1"], stdout=Quiet(), stderr=Quiet())
print("tcp", [m for m in ("httpcheck", "httpmsg", "kernelfirst", "httpprobe", "wait", "namespace")
              if "healthcheck." + m in sys.modules])
main(["HTTP", "1/healthz"], stdout=Quiet(), stderr=Quiet())
unit = sys.modules["healthcheck.httpcheck"]
print("http", [m for m in ("httpmsg", "kernelfirst", "httpprobe") if sys.modules["healthcheck." + m] is unit],
      [m for m in ("wait", "namespace") if "healthcheck." + m in sys.modules])
"""

FIRST = """import sys
from healthcheck.kernelfirst import kernel_first, ProbeAnswer
from healthcheck.httpprobe import _set_timeout
unit = sys.modules["healthcheck.httpcheck"]
print(kernel_first is unit.kernel_first, _set_timeout is unit._set_timeout,
      sys.modules["healthcheck.kernelfirst"] is unit, ProbeAnswer(True, "x", []).reason)
"""


def test_a_plain_check_never_loads_the_http_unit(micropython, ns, tmp_path):
    script = tmp_path / "checks.py"
    script.write_text(CHECKS)
    res = ns.run([str(micropython), str(script)])
    assert res.rc == 0, res
    # nothing of HTTP for TCP; for HTTP, one unit under every member's name,
    # and neither wait nor namespace (httpprobe has its own clock and sockaddr)
    assert res.out.splitlines() == ["tcp []", "http ['httpmsg', 'kernelfirst', 'httpprobe'] []"], res


def test_a_member_imported_first_is_served_by_its_stub(micropython, tmp_path):
    script = tmp_path / "first.py"
    script.write_text(FIRST)
    res = subprocess.run([str(micropython), str(script)], capture_output=True, text=True, timeout=30,
                         cwd=str(tmp_path))
    assert res.returncode == 0 and res.stdout.strip() == "True True True x", res.stdout + res.stderr
