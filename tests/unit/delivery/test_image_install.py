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
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "Dockerfile"


def run(*args: str | Path, cwd: Path | None = None) -> str:
    answer = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, check=False
    )
    assert answer.returncode == 0, f"{args} failed:\n{answer.stdout[-3000:]}{answer.stderr[-3000:]}"
    return answer.stdout


def test_dockerfile_is_hadolint_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    answer = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert answer.stdout == ""


def test_final_stage_runs_as_a_numeric_non_root_user_from_the_first_stage_wheels() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    assert stages == ["python:3.11-slim-bookworm"] * 2
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
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", wheels, ".", cwd=context)
    venv = root / "venv"
    run(sys.executable, "-m", "venv", venv)
    (wheel,) = wheels.glob("kubedrift-*.whl")
    # Stage 2: from the wheels alone.
    run(venv / "bin" / "pip", "install", "--quiet", "--no-index", f"--find-links={wheels}", wheel)
    return venv / "bin"


@pytest.mark.parametrize("role", ["operator", "sidecar"])
def test_both_roles_start_from_the_installed_wheel(installed: Path, role: str) -> None:
    usage = run(installed / "kubedrift", role, "--help")
    assert usage.startswith(f"usage: kubedrift {role}")


def test_installed_package_is_the_wheel_not_the_source_tree(installed: Path) -> None:
    location = run(installed / "python", "-c", "import kubedrift; print(kubedrift.__file__)")
    assert location.startswith(str(installed.parent / "lib"))


def test_both_roles_load_from_a_read_only_install(installed: Path) -> None:
    """What a read-only root filesystem allows: the install tree mounted read-only (a private
    mount namespace) still imports the operator's and the sidecar's runtimes and answers."""
    root = installed.parent
    script = (
        f"mount --bind {root} {root} && mount -o remount,bind,ro {root} && "
        f"{installed / 'python'} -c 'import kubedrift.controller.runtime, "
        "kubedrift.sidecar.runtime' && "
        f"{installed / 'kubedrift'} operator --help >/dev/null && "
        f"touch {root}/probe 2>/dev/null && echo writable || echo read-only"
    )
    answer = run("unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script)
    assert answer.strip() == "read-only"
