"""`pip install .` and `pip install -e .` work in a fresh virtual environment,
and the installed package finds its backend plugins."""

import os
import pathlib
import site
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
    """A bare venv that sees this environment's packages (NumPy, setuptools, wheel)
    through a .pth file, so nothing is downloaded."""
    venv.EnvBuilder(with_pip=False).create(path)
    py = path / "bin" / "python"
    site_dir = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
    pathlib.Path(site_dir, "_parent_env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return py


def _install_and_check(tmp_path, editable):
    py = _venv(tmp_path / "env")
    args = [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-build-isolation", "--no-deps"]
    args += ["-e", str(ROOT)] if editable else [str(ROOT)]
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)  # import the installed package, not the build tree
    env.pop("LD_PRELOAD", None)  # a sanitizer run's runtimes: the package built here is not instrumented
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
