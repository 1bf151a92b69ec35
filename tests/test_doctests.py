"""The Examples sections of the public docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import mmfeat

# GPU modules import numba.cuda; their docstrings are covered by the simulator run
SKIP = ("_cuda", "image_cuda")


def _modules() -> list[str]:
    names = ["mmfeat"]
    for info in pkgutil.walk_packages(mmfeat.__path__, prefix="mmfeat."):
        if not info.name.rsplit(".", 1)[-1].endswith(SKIP):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
