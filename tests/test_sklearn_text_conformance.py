"""scikit-learn's own ``test_text.py`` (shipped in its wheel) against mmfeat's vectorizers.

The installed test file runs in a subprocess with the plugin
``tests/conformance/sklearn_text_substitute.py``, which puts mmfeat's
CountVectorizer, HashingVectorizer, TfidfTransformer and TfidfVectorizer in
place of scikit-learn's before the file imports them. Every test must pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sklearn

TEST_FILE = Path(sklearn.__file__).parent / "feature_extraction" / "tests" / "test_text.py"
PLUGIN_DIR = Path(__file__).parent / "conformance"


@pytest.mark.skipif(not TEST_FILE.exists(), reason="this scikit-learn ships no test_text.py")
def test_scikit_learns_text_tests_pass_against_mmfeat(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(PLUGIN_DIR), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(TEST_FILE), "-p", "sklearn_text_substitute",
         "-p", "no:cacheprovider", "-p", "no:randomly", "--rootdir", str(tmp_path),
         "-o", "addopts=", "-W", "ignore::DeprecationWarning"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900,
    )
    out = done.stdout + done.stderr
    # the substitution really happened (the header names mmfeat's classes)
    assert "CountVectorizer -> mmfeat.text" in out, out[-3000:]
    summary = out.strip().splitlines()[-1]
    assert done.returncode == 0, out[-6000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 100, summary  # scikit-learn 1.9's file holds ~130 tests
    assert "failed" not in summary and "error" not in summary, summary
