"""Shared fixtures: import paths for python/ and handler/, and one small trained artifact set."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

ROOT = Path(__file__).resolve().parents[2]
# Hypothesis caches under the (ignored) pytest cache instead of a new .hypothesis/ in the project.
set_hypothesis_home_dir(ROOT / ".pytest_cache" / "hypothesis")
for sub in ("python", "handler"):
    if str(ROOT / sub) not in sys.path:
        sys.path.insert(0, str(ROOT / sub))

BUILD = ROOT / "python" / "build_model_artifacts.py"


def run_build_cli(out: Path, *args: str) -> subprocess.CompletedProcess:
    """``python build_model_artifacts.py --out OUT ARGS`` in a process of its own, from the project root."""
    return subprocess.run([sys.executable, str(BUILD), "--out", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def run_build(out: Path, *args: str) -> subprocess.CompletedProcess:
    """What run_build_cli gives (exit code, stdout, stderr), from the script's main() in this process: a
    new process pays pandas', scikit-learn's and shap's imports again (some 1.5 s a build). An error
    main() does not turn into an exit code fails the test as it is raised."""
    import build_model_artifacts

    argv = ["--out", str(out), *args]
    stdout, stderr = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = build_model_artifacts.main(argv)
            except SystemExit as exit_:  # argparse's usage errors
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess([sys.executable, str(BUILD), *argv], code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("artifacts")
    result = run_build(out, "--rows", "4000", "--seed", "3")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture()
def app(artifacts, monkeypatch):
    """A fresh import of handler/app.py bound to the session's artifacts (as a new Lambda container)."""
    monkeypatch.setenv("PIPE_ARTIFACTS_DIR", str(artifacts))
    sys.modules.pop("app", None)
    module = importlib.import_module("app")
    yield module
    sys.modules.pop("app", None)
