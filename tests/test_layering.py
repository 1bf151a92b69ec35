"""The layering of the package, as a checked rule (read from the source, no imports).

Layers, bottom to top::

    kernels            Numba / CUDA kernels: import nothing from mmfeat
    image text audio   the modalities (with backend, config, _workers, threads...)
    data fusion models pipeline
    run                executors and training: never the CLI
    cli                the command line

Every import counts, at module level or inside a function: a lazy import is
still a dependency. Checked here:

* kernels import nothing from the package;
* the modality packages import neither the pipeline, run nor CLI layers;
* ``run`` does not import ``cli``;
* no module imports a private name (``_x``) or a private module of another
  package (siblings inside one package may share their private modules);
* there are no import cycles between modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"mmfeat": ROOT / "src" / "mmfeat", "mmfeat.kernels": ROOT / "kernels"}

MODALITIES = ("mmfeat.image", "mmfeat.text", "mmfeat.audio")
UPPER = ("mmfeat.pipeline", "mmfeat.run", "mmfeat.cli", "mmfeat.distributed", "mmfeat.models",
         "mmfeat.fusion", "mmfeat.bundle", "mmfeat.report", "mmfeat._warmup", "mmfeat._bench")


def _modules() -> dict[str, Path]:
    out = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if name.startswith("mmfeat.kernels") and package == "mmfeat":
                continue
            out[name] = path
    return out


MODULES = _modules()


def _package_of(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _package_of(module).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str):
    """(imported module, imported name or None, line) of every import in ``module``."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    yield sub, None, node.lineno  # a submodule
                else:
                    yield target, alias.name, node.lineno


def _internal(target: str) -> str | None:
    """The package module ``target`` names (the longest known prefix), or None."""
    while target:
        if target in MODULES:
            return target
        target = target.rpartition(".")[0]
    return None


GRAPH = {
    m: {(_internal(t), name, line) for t, name, line in _imports(m) if _internal(t)}
    for m in MODULES
}


def _within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _violations(rule):
    return sorted(f"{m}:{line} imports {t}" for m, deps in GRAPH.items()
                  for t, _name, line in deps if rule(m, t))


def test_the_graph_is_read():
    assert len(MODULES) > 40 and "mmfeat.run.local" in MODULES and "mmfeat.kernels.image" in MODULES
    assert any(t == "mmfeat.run.parts" for t, _, _ in GRAPH["mmfeat.run.local"])


def test_kernels_import_nothing_from_the_package():
    assert _violations(lambda m, t: _within(m, ["mmfeat.kernels"])
                       and not _within(t, ["mmfeat.kernels"])) == []


def test_modalities_do_not_import_the_layers_above():
    assert _violations(lambda m, t: _within(m, MODALITIES) and _within(t, UPPER)) == []


def test_run_does_not_import_the_cli():
    assert _violations(lambda m, t: _within(m, ["mmfeat.run"]) and _within(t, ["mmfeat.cli"])) == []


def _private(module: str, target: str, name: str | None) -> bool:
    """Whether ``module`` reaches into private parts it does not own.

    A private module ``P._x`` (or a private name in any module of package ``P``)
    belongs to ``P``: modules inside ``P`` (its subpackages included) may use it,
    modules outside may not.
    """
    def inside(owner):
        return module == owner or module.startswith(owner + ".")

    if name is not None and name.startswith("_") and not name.startswith("__"):
        if not inside(_package_of(target)):
            return True
    last = target.rpartition(".")[2]
    if last.startswith("_") and not last.startswith("__"):
        return not inside(target.rpartition(".")[0])
    return False


# Private reaches that are deliberate, each with its reason (none today).
ALLOWED_PRIVATE: set[tuple[str, str]] = set()


def test_no_module_reaches_into_another_packages_private_names():
    bad = sorted(
        f"{m}:{line} imports {t}" + (f".{name}" if name else "")
        for m, deps in GRAPH.items() for t, name, line in deps
        if _private(m, t, name) and (m, t) not in ALLOWED_PRIVATE
    )
    assert bad == []


def _cycles() -> list[list[str]]:
    edges = {m: sorted({t for t, _, _ in deps if t != m}) for m, deps in GRAPH.items()}
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def _cycle_free(comp):
    """Package __init__ modules re-export their submodules: an edge from a package to
    its own submodule and back is not a layering cycle."""
    return all(any(o != m and (o.startswith(m + ".") or m.startswith(o + ".")) for o in comp)
               and _is_family(comp) for m in comp)


def _is_family(comp) -> bool:
    roots = [m for m in comp if MODULES[m].name == "__init__.py"]
    return bool(roots) and all(any(m == r or m.startswith(r + ".") for r in roots) for m in comp)


def test_no_import_cycles():
    cycles = [c for c in _cycles() if not _cycle_free(c)]
    assert cycles == [], "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("rule", ["kernels", "cycle"])
def test_the_rules_catch_a_violation(rule, monkeypatch):
    """The checks can fail: a planted bad edge is reported."""
    if rule == "kernels":
        GRAPH["mmfeat.kernels.image"].add(("mmfeat.pipeline", None, 1))
        try:
            with pytest.raises(AssertionError):
                test_kernels_import_nothing_from_the_package()
        finally:
            GRAPH["mmfeat.kernels.image"].discard(("mmfeat.pipeline", None, 1))
    else:
        GRAPH["mmfeat.run.parts"].add(("mmfeat.run.local", None, 1))
        try:
            with pytest.raises(AssertionError):
                test_no_import_cycles()
        finally:
            GRAPH["mmfeat.run.parts"].discard(("mmfeat.run.local", None, 1))
