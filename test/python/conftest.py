"""Shared fixtures: import paths for python/ and handler/, and one small trained artifact set."""

from __future__ import annotations

import importlib
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


def run_build(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BUILD), "--out", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


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
