"""The Dockerfile: hadolint clean, and its two pip steps give a working ``kubedrift``.

No Docker engine runs here, so the image build is replayed outside Docker: the files the
Dockerfile copies go to a fresh directory, ``pip wheel`` builds the wheels there (stage 1), and
a clean virtualenv installs kubedrift from those wheels alone, with no index (stage 2).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from kubedrift.stats.baseline import build_baseline
from kubedrift_dev.devcluster.network import free_ports

#: pip builds the wheels from the package index, as the image build does (about a minute).
pytestmark = pytest.mark.tools

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "Dockerfile"


def run(*args: str | Path, cwd: Path | None = None) -> str:
    answer = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, check=False
    )
    assert answer.returncode == 0, f"{args} failed:\n{answer.stdout[-3000:]}{answer.stderr[-3000:]}"
    return answer.stdout


@pytest.mark.parametrize(
    "dockerfile", [DOCKERFILE, REPO / "dev" / "Dockerfile"], ids=["project", "demo"]
)
def test_dockerfile_is_hadolint_clean(dockerfile: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    answer = subprocess.run(
        [str(hadolint), "--no-color", str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert answer.stdout == ""


def test_final_stage_runs_as_a_numeric_non_root_user_from_the_first_stage_wheels() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    assert stages == ["${BASE_IMAGE}"] * 2
    # users build the same file on the official image; the tests pass a Debian-built base
    assert re.findall(r"^ARG BASE_IMAGE=(\S+)$", text, flags=re.MULTILINE) == [
        "python:3.11-slim-bookworm"
    ]
    final = text.split("\nFROM ")[-1]
    assert re.search(r"^USER [1-9][0-9]*:[1-9][0-9]*$", final, flags=re.MULTILINE)
    assert "COPY --from=wheels /wheels /wheels" in final
    assert "--no-index --find-links=/wheels" in final
    assert not re.search(r"apt-get|gcc|build-essential", final)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bin/`` of a clean virtualenv set up the way the Dockerfile's two stages do."""
    root = tmp_path_factory.mktemp("image")
    context = root / "src"
    context.mkdir()
    copied = re.findall(r"^COPY (?!--from)(.+) (\S+)$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    for sources, _ in copied:
        for source in sources.split():
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(
                    origin, context / source, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy(origin, context / source)
    wheels = root / "wheels"
    # Stage 1 (`pip wheel`; the pip cache is used here only to spare the network).
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", wheels,
        pip_target("wheel"), cwd=context)  # fmt: skip
    venv = root / "venv"
    run(sys.executable, "-m", "venv", venv)
    # Stage 2: from the wheels alone.
    target = pip_target("install")
    if target.startswith("/wheels/"):  # a wheel named by its path in the image
        (path,) = wheels.glob(target.removeprefix("/wheels/"))
        target = str(path)
    run(venv / "bin" / "pip", "install", "--quiet", "--no-index", f"--find-links={wheels}", target)
    return venv / "bin"


def pip_target(command: str) -> str:
    """The last argument of the Dockerfile's ``pip <command>`` step, unquoted."""
    found = re.search(rf"pip {command} [^\n]*?'?([^'\s]+)'?\s*(?:\\)?$", DOCKERFILE.read_text(),
                      flags=re.MULTILINE)  # fmt: skip
    assert found, f"no pip {command} step in the Dockerfile"
    return found.group(1)


@pytest.mark.parametrize("role", ["operator", "sidecar"])
def test_both_roles_start_from_the_installed_wheel(installed: Path, role: str) -> None:
    usage = run(installed / "kubedrift", role, "--help")
    assert usage.startswith(f"usage: kubedrift {role}")


def test_the_installed_sidecar_serves(installed: Path, tmp_path: Path) -> None:
    """``--help`` needs nothing; serving needs the ``fast`` extra's httptools in the image."""
    baseline = tmp_path / "baseline.json"
    baseline.write_text(build_baseline({"x": np.arange(100.0)}).to_json())
    listen, admin = free_ports(2)
    log = tmp_path / "sidecar.log"
    with log.open("w") as output:
        sidecar = subprocess.Popen(
            [installed / "kubedrift", "sidecar", "--listen", f"127.0.0.1:{listen}",
             "--admin", f"127.0.0.1:{admin}", "--upstream", "http://127.0.0.1:9",
             "--baseline", baseline],
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sidecar.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail(f"the installed sidecar did not serve: {log.read_text()[-2000:]}")
    finally:
        sidecar.terminate()
        sidecar.wait(timeout=30)
    imports = "import httptools, uvloop, msgspec; print('ok')"
    assert run(installed / "python", "-c", imports) == "ok\n"


def test_installed_package_is_the_wheel_not_the_source_tree(installed: Path) -> None:
    location = run(installed / "python", "-c", "import kubedrift; print(kubedrift.__file__)")
    assert location.startswith(str(installed.parent / "lib"))


def test_the_image_carries_the_product_not_the_development_tools(installed: Path) -> None:
    """The dev cluster and the demo (``kubedrift_dev``) stay in the repository."""
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('kubedrift.sidecar', 'kubedrift_dev', 'kubedrift.devcluster', "
        "'kubedrift.demo') if u.find_spec(m) is not None])"
    )
    assert run(installed / "python", "-c", probe) == "['kubedrift.sidecar']\n"
    commands = run(installed / "kubedrift", "--help")
    assert "backtest" in commands
    assert "demo" not in commands
    assert "dev-cluster" not in commands


def test_both_roles_load_from_a_read_only_install(installed: Path) -> None:
    """What a read-only root filesystem allows: the install tree mounted read-only (a private
    mount namespace) still imports the operator's and the sidecar's runtimes and answers."""
    root = installed.parent
    script = (
        f"mount --bind {root} {root} && mount -o remount,bind,ro {root} && "
        f"{installed / 'python'} -c 'import kubedrift.controller.operator_main, "
        "kubedrift.sidecar.sidecar_main' && "
        f"{installed / 'kubedrift'} operator --help >/dev/null && "
        f"touch {root}/probe 2>/dev/null && echo writable || echo read-only"
    )
    answer = run("unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script)
    assert answer.strip() == "read-only"
