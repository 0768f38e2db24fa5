import json
import os
import pathlib

import pytest

import zkclob as zc

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT.parent / "shared" / "vectors"


@pytest.fixture(autouse=True)
def fresh_library():
    """Every test starts from a clean registry: no fault rules, default policy, healthy devices."""
    zc.init()
    yield
    zc.init()


@pytest.fixture(scope="session")
def vectors():
    def load(name):
        path = VECTORS / name
        if not path.exists():
            pytest.fail(f"known-answer vectors missing: {path}")
        return json.loads(path.read_text())

    return load


def executing_devices():
    """Every device that can run here (cpu and the PoCL devices; cuda only on a GPU machine)."""
    return [d for d in zc.devices() if d.available]


@pytest.fixture(scope="session")
def build_dir():
    return pathlib.Path(os.environ.get("ZC_BUILD_DIR", ROOT / "build"))
