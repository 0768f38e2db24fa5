"""`pip install .` and `pip install -e .` work in a fresh virtual environment,
and the installed package finds its backend plugins."""

import os
import pathlib
import subprocess
import sys
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

CHECK = """
import sys, zkclob as zc, numpy as np
names = {d.backend: d for d in zc.devices()}
assert names["opencl"].available, names["opencl"].reason
assert np.array_equal(zc.random.philox(64, key=3, device="opencl"), np.random.Philox(key=3).random_raw(64))
print(zc.__file__)
"""


def _venv(path):
    # System site packages give the venv NumPy and setuptools without a download.
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(path)
    return path / "bin" / "python"


def _install_and_check(tmp_path, editable):
    py = _venv(tmp_path / "env")
    args = [str(py), "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps"]
    args += ["-e", str(ROOT)] if editable else [str(ROOT)]
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run(args, check=True, env=env, cwd=tmp_path, timeout=900)
    out = subprocess.run([str(py), "-c", CHECK], check=True, env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    return pathlib.Path(out.stdout.strip())


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs to run inside the project's virtualenv")
def test_pip_install(tmp_path):
    installed = _install_and_check(tmp_path, editable=False)
    assert tmp_path in installed.parents


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs to run inside the project's virtualenv")
def test_pip_install_editable(tmp_path):
    installed = _install_and_check(tmp_path, editable=True)
    assert installed == ROOT / "python" / "zkclob" / "__init__.py"
