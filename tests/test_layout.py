"""The package's layout: documented names import, documented commands run,
and the import graph has no circles and no imports up the layers.

Static where it can be (`ast` over the sources), so it is fast; the commands'
`--help` runs once each, all in one process.
"""

import ast
import importlib
import importlib.util
import os
import re
import sys

import pytest

from conftest import run_commands

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "dstyle_tf")
# `python -m <module>` commands (README.md, docs/, DESIGN) and a flag each must list under --help.
COMMANDS = {
    "dstyle_tf.train": "--config",
    "dstyle_tf.stylize": "--model",
    "dstyle_tf.evaluate": "--content",
    "dstyle_tf.compare": "--workdir",
    "dstyle_tf.stills": "--frames",
    "dstyle_tf.photos": "--split",
    "dstyle_tf.pretrained": "--workdir",
    "dstyle_tf.optimize": "--style",
    "dstyle_tf.benchmark": "--sizes",
    "dstyle_tf.web": "--port",
    "export": "--style",
}
# Command modules: entry points only. Library code never imports them.
CLI_MODULES = ("dstyle_tf.cli",) + tuple(
    f"dstyle_tf.{name}" for name in ("train", "stylize", "evaluate", "compare", "stills", "optimize", "photos")
) + ("dstyle_tf.pretrained.__main__", "dstyle_tf.web.__main__",
)
LIBRARY_PACKAGES = ("models", "losses", "data", "training", "stylization", "metrics", "evaluation")
# Names that DESIGN.md ("Public names other code relies on") keeps importable.
DESIGN_NAMES = (
    "dstyle_tf.losses.gram_matrix", "dstyle_tf.losses.content_loss", "dstyle_tf.losses.style_loss",
    "dstyle_tf.losses.depth_loss", "dstyle_tf.losses.total_variation_loss",
    "dstyle_tf.models.TransformNet", "dstyle_tf.models.vgg.VGGFeatures",
    "dstyle_tf.models.depth.DepthNetwork", "dstyle_tf.models.edges.EdgeNetwork",
    "dstyle_tf.training.train", "dstyle_tf.training.TrainResult",
    "dstyle_tf.training.StyleTransferTrainer", "dstyle_tf.stylization.load_stylizer",
    "dstyle_tf.stylization.stylize_image", "dstyle_tf.stylize.load_stylizer",
    "dstyle_tf.stylize.stylize_image", "dstyle_tf.optimize.optimize_image",
    "dstyle_tf.evaluation.run_evaluation", "dstyle_tf.evaluation.EvaluationConfig",
)
def resolve(dotted):
    """The object a dotted name names: the longest importable module prefix
    (from this checkout), then attributes. A command module is only found,
    not imported (commands define flags)."""
    if dotted in COMMANDS:
        spec = importlib.util.find_spec(dotted)
        assert spec.origin.startswith(REPO + os.sep), spec.origin
        return spec
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        # Not another checkout's module (an editable install elsewhere).
        assert os.path.abspath(target.__file__).startswith(REPO + os.sep), target.__file__
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


def documented_names():
    """Dotted `dstyle_tf.…` names and `from dstyle_tf… import …` names in
    README.md and docs/*.md (shell commands' modules included)."""
    names = set()
    paths = [os.path.join(REPO, "README.md")] + [
        os.path.join(REPO, "docs", name) for name in sorted(os.listdir(os.path.join(REPO, "docs")))
        if name.endswith(".md")]
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for module, imported in re.findall(r"from (dstyle_tf[\w.]*) import ([\w, ]+)", text):
            names.update(f"{module}.{name.strip()}" for name in imported.split(",") if name.strip())
        names.update(name.rstrip(".") for name in re.findall(r"\bdstyle_tf(?:\.\w+)+", text))
    return sorted(names)


@pytest.mark.parametrize("name", DESIGN_NAMES)
def test_design_names_import(name):
    assert resolve(name) is not None


def test_documented_names_import():
    missing = []
    for name in documented_names():
        try:
            resolve(name)
        except (ImportError, AttributeError) as e:
            missing.append(f"{name}: {e}")
    assert not missing


def test_console_scripts_resolve():
    """Each console script's module exists and has its function (read, not
    imported: two commands define flags of the same names)."""
    with open(os.path.join(REPO, "setup.py"), encoding="utf-8") as f:
        scripts = re.findall(r'"[\w-]+=([\w.]+):(\w+)"', f.read())
    assert len(scripts) == len(COMMANDS)  # one console script per command
    for module, function in scripts:
        with open(importlib.util.find_spec(module).origin, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        defined |= {alias.asname or alias.name for node in tree.body
                    if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert function in defined, module


def test_documented_commands_show_their_flags():
    runs = run_commands(*([module, "--help"] for module in COMMANDS))  # one process
    for module, run in zip(COMMANDS, runs):
        output = run.stdout + run.stderr
        assert "Traceback" not in output, (module, output[-2000:])
        assert COMMANDS[module] in output, (module, output[-2000:])


# --- The import graph -------------------------------------------------------------

def module_name(path):
    relative = os.path.relpath(path, REPO)[:-3].split(os.sep)
    return ".".join(relative[:-1] if relative[-1] == "__init__" else relative)


def source_modules():
    """{module name: path} of every module of the package."""
    modules = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                modules[module_name(os.path.join(folder, name))] = os.path.join(folder, name)
    return modules


def imports_of(name, path, modules):
    """The package modules `name` imports, anywhere in its source (imports
    inside functions count), with the packages Python runs on the way
    (a package's `__init__` runs unless it is `name`'s own)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                targets.add(child if child in modules else node.module)
    found = set()
    for target in targets:
        parts = target.split(".")
        for cut in range(1, len(parts) + 1):
            prefix = ".".join(parts[:cut])
            if prefix in modules and prefix != name and not name.startswith(prefix + "."):
                found.add(prefix)
    return found


def import_graph():
    modules = source_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in graph.get(node, ()):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_library_never_imports_commands():
    graph = import_graph()
    wrong = [
        (name, target) for name, targets in graph.items() for target in targets
        if name.split(".")[1:2] and name.split(".")[1] in LIBRARY_PACKAGES
        and any(target == cli or target.startswith(cli + ".") for cli in CLI_MODULES)
    ]
    assert wrong == []


def test_stylization_and_training_do_not_import_evaluation_or_benchmarks():
    graph = import_graph()
    wrong = [
        (name, target) for name, targets in graph.items() for target in targets
        if name.split(".")[1:2] and name.split(".")[1] in ("models", "losses", "data", "training", "stylization", "metrics")
        and target.split(".")[1:2] in (["evaluation"], ["benchmark"])
    ]
    assert wrong == []


def test_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
