"""Every Python name the README and docs/*.md mention imports or resolves.

Names are only imported and looked up with getattr; no code from the docs runs. Checked:
- dotted names in inline code (`dstyle_tf.stylize.load_stylizer(path)`, `export.tflite.x`),
  also relative ones whose first part is a project module (`sheets.build_row`), and config
  fields (`model.normalization`, `--config.train.steps=…`, checked against the configs);
- in ```python blocks: every import, and every attribute chain on an imported name;
- in ```bash blocks: the modules run with `python -m`.
Names whose first part is none of these (file names, `org.tensorflow`) are not Python names here.
"""

import ast
import glob
import importlib
import importlib.util
import os
import re

import pytest

from conftest import REPO

PROJECT_PACKAGES = ("dstyle_tf", "export", "configs")
ALIASES = {"tf": "tensorflow", "np": "numpy", "tfds": "tensorflow_datasets", "os": "os",
           "keras": "keras", "keras_hub": "keras_hub"}
FILE_SUFFIXES = {"json", "md", "png", "jpg", "keras", "py", "h5", "pb", "txt", "tflite", "zip",
                 "csv", "tsv", "html", "pbtxt", "npz"}
DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
INLINE_NAME = re.compile(rf"(?<![\w./\-]){DOTTED}")
CONFIG_FLAG = re.compile(r"--config((?:\.\w+)+)")
PYTHON_MODULE_RUN = re.compile(r"python3? -m ([\w.]+)")
FENCE = re.compile(r"^ *```(\w*)\n(.*?)^ *```", re.S | re.M)
MISSING = object()


def resolve(dotted):
    """The object `dotted` names (import modules, getattr the rest), else MISSING."""
    parts = dotted.split(".")
    try:
        obj = importlib.import_module(parts[0])
    except ModuleNotFoundError:
        return MISSING
    for part in parts[1:]:
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        child = f"{getattr(obj, '__name__', '')}.{part}"
        if not hasattr(obj, "__path__"):  # not a package: no submodule to import
            return MISSING
        try:
            obj = importlib.import_module(child)
        except ModuleNotFoundError as e:
            if e.name != child:
                raise  # the module exists but imports something missing: a real error
            return MISSING
    return obj


def project_modules():
    """{module file name: [dotted names]} for every module of the project packages."""
    modules = {}
    for package in PROJECT_PACKAGES:
        for path in glob.glob(os.path.join(REPO, package, "**", "*.py"), recursive=True):
            relative = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
            dotted = relative.removesuffix(".__init__")
            modules.setdefault(dotted.rsplit(".", 1)[-1], []).append(dotted)
    return modules


def config_fields():
    """Every field path of the training configs (paper, johnson, smoke, lite): {"train.steps", …}."""
    from configs import johnson, lite, paper, smoke

    fields = set()

    def walk(config, prefix):
        for key, value in config.items():
            fields.add(prefix + key)
            if hasattr(value, "items"):
                walk(value, prefix + key + ".")

    for module in (paper, johnson, smoke, lite):
        walk(module.get_config("style.jpg"), "")
    return fields


def _inline_code(markdown):
    prose = FENCE.sub("", markdown)
    return re.findall(r"`([^`]+)`", prose)


def _python_block_names(code):
    """Dotted names a python block imports or takes from an imported name."""
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        return [f"<python block does not parse: {e}>"]
    imported, names = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.append(alias.name)
                imported[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names.append(f"{node.module}.{alias.name}")
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain = []
            while isinstance(node, ast.Attribute):
                chain.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name) and node.id in imported:
                names.append(".".join([imported[node.id], *reversed(chain)]))
    return names


def doc_problems(markdown, modules, fields):
    """The names `markdown` mentions that do not resolve, each as a short message."""
    problems = []

    def check_inline(name):
        root, rest = name.split(".", 1)
        if root not in PROJECT_PACKAGES and rest.rsplit(".", 1)[-1] in FILE_SUFFIXES:
            return  # a file name such as `report.json`
        candidates = []
        if root in PROJECT_PACKAGES:
            candidates.append(name)
        if root in ALIASES:
            candidates.append(f"{ALIASES[root]}.{rest}")
        candidates += [f"{module}.{rest}" for module in modules.get(root, [])]
        is_field = any(f.split(".")[0] == root for f in fields)
        if not candidates and not is_field:
            return  # not a Python name of ours
        if name in fields or any(resolve(c) is not MISSING for c in candidates):
            return
        problems.append(f"`{name}` does not resolve")

    for span in _inline_code(markdown):
        for name in INLINE_NAME.findall(span):
            check_inline(name)
    for field in CONFIG_FLAG.findall(markdown):
        if field[1:] not in fields:
            problems.append(f"--config{field} is not a config field")
    for language, code in FENCE.findall(markdown):
        if language == "python":
            for name in _python_block_names(code):
                if name.startswith("<") or resolve(name) is MISSING:
                    problems.append(f"python block: {name} does not resolve")
        for module in PYTHON_MODULE_RUN.findall(code):
            try:
                found = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:  # its package is missing
                found = False
            if not found:
                problems.append(f"python -m {module}: no such module")
    return problems


@pytest.fixture(scope="module")
def known():
    return project_modules(), config_fields()


DOCS = ["README.md", *sorted(os.path.relpath(p, REPO) for p in glob.glob(f"{REPO}/docs/*.md"))]


@pytest.mark.parametrize("doc", DOCS)
def test_every_python_name_in_the_docs_resolves(doc, known):
    with open(os.path.join(REPO, doc), encoding="utf-8") as f:
        markdown = f.read()
    assert doc_problems(markdown, *known) == []


def test_wrong_names_are_reported(known):
    markdown = """
Use `dstyle_tf.losses.gram_matrix(features)` and `export.tflite.convert_all`, not
`dstyle_tf.losses.gram_matrics` or `export.tflite.no_such`; `TransformNet(x,
statistics=dstyle_tf.models.layers.InstanceNormStatistics(...))` moved. Relative:
`sheets.build_row`, `sheets.build_rows`; fields `model.normalization`, `model.norm`;
files `report.json` and `org.tensorflow` are not names.
Run with `--config.train.steps=5 --config.train.stpes=5`.

```python
from dstyle_tf.training import train, TrainResult
from dstyle_tf.models.layers import InstanceNormStatistics
import dstyle_tf.no_such_module
from configs import smoke
smoke.get_config()
smoke.no_such_function()
```

```bash
python -m dstyle_tf.train --helpfull
python -m dstyle_tf.trian
```
"""
    assert doc_problems(markdown, *known) == [
        "`dstyle_tf.losses.gram_matrics` does not resolve",
        "`export.tflite.no_such` does not resolve",
        "`dstyle_tf.models.layers.InstanceNormStatistics` does not resolve",
        "`sheets.build_rows` does not resolve",
        "`model.norm` does not resolve",
        "--config.train.stpes is not a config field",
        "python block: dstyle_tf.models.layers.InstanceNormStatistics does not resolve",
        "python block: dstyle_tf.no_such_module does not resolve",
        "python block: configs.smoke.no_such_function does not resolve",
        "python -m dstyle_tf.trian: no such module",
    ]
