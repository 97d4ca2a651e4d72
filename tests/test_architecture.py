"""The packages are layers: a module imports only its own layer or those below it, and no two modules import
each other, directly or round a loop. Every import counts, at the top of a file, in a function or under
TYPE_CHECKING: a cycle that a late import hides is still a cycle."""

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = (
    r"synthml|synthml\.errors|synthml\.io|synthml\.process",  # the namespace, errors, shared file I/O, process groups
    r"synthml\.tasks",  # the task model: schema, loading, paths, MLGym's facts, manifest, reports, selections
    r"synthml\.envs",  # sandboxes, the env, evaluation
    r"synthml\.agents",  # LLM clients, the agent's turn and loop, trajectories
    r"synthml\.task_bank",  # generation: families, the validator, the LLM pipeline, the catalog
    r"synthml\.training",  # rollouts, stores, exports, verl
    r"synthml\.benchmarks",  # bench, AUP, reports; the speed benchmarks (benchmarks/speed/, not shipped)
    r"synthml\.cli\w*",  # the `synthml` command
)


def modules() -> dict[str, Path]:
    """Every module under the folders pyproject maps into `synthml.*`, by import name: the wheel's, and the speed
    benchmarks' that setup.py leaves out of it (they keep to the layers too)."""
    found = {}
    for package, folder in package_folders().items():
        for path in (ROOT / folder).rglob("*.py"):
            if all((parent / "__init__.py").is_file() for parent in _folders_between(ROOT / folder, path)):
                parts = path.relative_to(ROOT / folder).with_suffix("").parts
                found[".".join((package, *parts)).removesuffix(".__init__")] = path
    return found


def package_folders() -> dict[str, str]:
    """pyproject's `package-dir`: each `synthml.*` package and the folder it maps."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def _folders_between(top: Path, path: Path) -> Iterator[Path]:
    folder = path.parent
    while folder != top.parent:
        yield folder
        folder = folder.parent


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """The SynthML modules `name` imports, with the line of each import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1], *filter(None, [base])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target in known and target != name:
                yield target, node.lineno


def absolute_imports(path: Path) -> Iterator[tuple[str, int]]:
    """The modules a file imports by absolute name, with the line of each import."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            yield node.module, node.lineno


def layer(name: str) -> int:
    matches = [i for i, pattern in enumerate(LAYERS) if re.fullmatch(rf"(?:{pattern})(?:\..+)?", name)]
    assert matches, f"{name} is in no layer: add its package to LAYERS in {Path(__file__).name}"
    return max(matches)


def graph() -> dict[str, dict[str, int]]:
    known = modules()
    return {name: dict(imports(name, path, known)) for name, path in known.items()}


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_every_import_goes_down_the_layers_or_stays_in_its_own():
    edges = graph()
    upward = [f"{source} (line {line}) imports {target}: layer {layer(source)} reaching up to {layer(target)}"
              for source, targets in sorted(edges.items()) for target, line in targets.items()
              if layer(target) > layer(source)]
    assert not upward, "\n".join(upward)


def test_no_modules_import_each_other_round_a_loop():
    loops = cycles(graph())
    assert not loops, "\n".join(" <-> ".join(group) for group in loops)


def test_code_reaches_the_product_only_through_synthml():
    """From a checkout's root, where the speed benchmarks and the experiments run, the folders import by their own
    names too: `import envs.env` there would load a second copy of the product beside `synthml.envs.env`."""
    folders = set(package_folders().values()) - {"synthml"}
    paths = [*modules().values(), *(ROOT / "experiments").rglob("*.py")]
    bare = [f"{path.relative_to(ROOT)} (line {line}) imports {target}: import synthml.{target} instead"
            for path in paths for target, line in absolute_imports(path) if target.partition(".")[0] in folders]
    assert not bare, "\n".join(bare)


def test_the_checks_see_an_upward_import_and_a_loop():
    edges = {"synthml.tasks.a": {"synthml.envs.b": 3}, "synthml.envs.b": {"synthml.tasks.a": 1}}
    assert layer("synthml.tasks.a") < layer("synthml.envs.b")
    assert cycles(edges) == [["synthml.envs.b", "synthml.tasks.a"]]
    assert len(modules()) > 100 and "synthml.tasks.task" in graph()["synthml.envs.env"]
