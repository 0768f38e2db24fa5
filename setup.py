"""setup.py only drives CMake: the extension, libzkclob and the backend plugins
are built by CMakeLists.txt and placed next to the package's modules."""

import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        out_dir = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            f"-DPython3_EXECUTABLE={sys.executable}",
            f"-DZC_PYTHON_OUTPUT_DIR={out_dir}",
            "-DZC_PYTHON_LINK_SOURCES=OFF",
            "-DZC_BUILD_TESTS=OFF",
            "-DZC_BUILD_BENCH=OFF",
            "-DCMAKE_BUILD_TYPE=Release",
        ]
        configure += os.environ.get("ZC_CMAKE_ARGS", "").split()
        subprocess.run(configure, check=True)
        jobs = str(os.cpu_count() or 1)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_zkclob", "-j", jobs], check=True)
        if getattr(self, "editable_mode", False):
            # setuptools copies only the extension into the source tree; the
            # registry loads the backend plugins from the extension's folder.
            for plugin in out_dir.glob("libzkclob_*.so"):
                shutil.copy2(plugin, ROOT / "python" / "zkclob" / plugin.name)


setup(ext_modules=[CMakeExtension("zkclob._zkclob")], cmdclass={"build_ext": CMakeBuild})
