"""Build hook: after the package is copied, compile its CPU kernels into the wheel.

Everything else is in pyproject.toml. ``mmfeat/kernels/_prebuilt.py`` says what is
compiled, how a process finds it, and why it is safe to load; ``MMFEAT_PREBUILD=0``
skips it (a faster install; first calls then compile). Editable installs skip it:
their kernels change under them.
"""

import os
import shutil
import subprocess
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py

# runs the built copy of the kernels without mmfeat's __init__ (whose dependencies
# the isolated build environment does not have: numpy and numba are enough)
_BUILD = """
import sys, types
m = types.ModuleType("mmfeat"); m.__path__ = [sys.argv[1]]; sys.modules["mmfeat"] = m
from mmfeat.kernels import _prebuilt
_prebuilt.build(sys.argv[2])
"""


class BuildPyWithKernels(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False) or os.environ.get("MMFEAT_PREBUILD") == "0":
            return
        package = os.path.join(os.path.abspath(self.build_lib), "mmfeat")
        print("mmfeat: compiling the CPU kernels into the wheel (~75 s on 2 cores; "
              "MMFEAT_PREBUILD=0 skips it)", flush=True)
        # compiled aside, then moved in whole: setuptools builds in the source tree's
        # build/, which another build of the same tree (another Python) may share
        dest = os.path.join(package, "kernels", "_prebuilt")
        with tempfile.TemporaryDirectory(prefix="mmfeat-prebuilt-") as tmp:
            out = os.path.join(tmp, "_prebuilt")
            # a failure leaves a wheel without shipped kernels (they compile on first
            # use) rather than no install: say so loudly
            if subprocess.run([sys.executable, "-c", _BUILD, package, out]).returncode != 0:
                print("mmfeat: WARNING: compiling the kernels failed; they will compile "
                      "on first use instead", file=sys.stderr, flush=True)
                return
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(out, dest)


try:  # setuptools >= 70.1
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools with the wheel package
    from wheel.bdist_wheel import bdist_wheel


class PlatformWheel(bdist_wheel):
    """Tag the wheel for this Python and platform: it holds their machine code."""

    def finalize_options(self):
        super().finalize_options()
        if os.environ.get("MMFEAT_PREBUILD") != "0":
            self.root_is_pure = False


setup(cmdclass={"build_py": BuildPyWithKernels, "bdist_wheel": PlatformWheel})
