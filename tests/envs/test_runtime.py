"""Task runtimes: the generic one, and per-task ones built from requirements_path and cached; none carries a
catalog table."""

import bz2
import gzip
import inspect
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest
import yaml

from synthml.envs.env import SynthMLEnv, sample_bank
from synthml.envs.runtime import (
    REMOVED_NOTE,
    SHIPPED_DATA,
    build_sandbox,
    ensure_runtime,
    pip_env,
    read_requirements,
    strip_datasets,
    task_runtime,
)
from synthml.errors import TaskError
from synthml.task_bank import catalog_sources
from synthml.task_bank.catalog import Source, catalog, load_table
from synthml.task_bank.draft import PACKAGES


def test_task_runtime_is_cached_by_its_requirements(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# the standard library is enough\n")
    first = task_runtime(requirements, log=lambda _: None)
    ready = (first.path / "synthml-runtime.json").stat().st_mtime_ns
    requirements.write_text("# comments do not change a runtime\n")
    again = task_runtime(requirements, log=lambda _: None)
    assert again.path == first.path and (again.path / "synthml-runtime.json").stat().st_mtime_ns == ready
    assert first.path.name.startswith("task-") and (first.path / "bin" / "python").exists()


def test_a_task_with_requirements_runs_in_its_own_runtime(task_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    (task_dir / "requirements.txt").write_text("# no packages\n")
    config = yaml.safe_load((task_dir / "task.yaml").read_text())
    config |= {"use_generic_conda": False, "requirements_path": "requirements.txt"}
    (task_dir / "task.yaml").write_text(yaml.safe_dump(config))
    env = SynthMLEnv(task=task_dir)
    env.reset(seed=0)
    prefix = env.step("python -c 'import sys; print(sys.prefix)'")[0].strip()
    assert prefix.startswith(str(tmp_path / "cache" / "runtimes" / "task-"))
    assert "No module named 'numpy'" in env.step("python -c 'import numpy'")[0]
    env.close()


NOT_REQUIREMENTS = ["--index-url https://evil.example/simple", "pkg @ https://x/y.whl", "pkg @ file:///tmp/pkg",
                    "-e git+https://x/y", "-e .", "./local/package", "-r other.txt", ".", "..", "pkg/", "~/pkg",
                    "https://x/y.whl", "git+https://x/y", "six --hash=sha256:ab", "pkg.tar.gz",
                    "pkg-1.0-py3-none-any.whl", "six==${HOME}", "numpy \\"]


@pytest.mark.parametrize("line", NOT_REQUIREMENTS)
def test_task_requirements_are_pep508_requirements_only(tmp_path, monkeypatch, line):
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"numpy  # the array library\n{line}\n")
    with pytest.raises(TaskError) as error:
        task_runtime(requirements, log=lambda _: None)
    assert str(error.value).startswith(f"{requirements}, line 2: '{line}' is not a plain requirement: ")
    assert "Fix: write one package per line" in str(error.value)
    assert not (tmp_path / "cache").exists()  # refused before any build


def test_requirements_reach_pip_by_canonical_name(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\n\nScikit_Learn [alldeps] >= 1.4 ; python_version >= '3'  # note\n"
                            "six.zip.py\nruamel.yaml\n")
    assert read_requirements(requirements) == ['scikit-learn[alldeps]>=1.4; python_version >= "3"', "six-zip-py",
                                               "ruamel-yaml"]


def test_a_name_that_is_also_a_folder_installs_from_the_index(tmp_path, monkeypatch):
    """`six` is a PEP 508 name; a folder `six/` beside it, run from the task's folder, is never built."""
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    marker = tmp_path / "setup-py-ran"
    (tmp_path / "task" / "six").mkdir(parents=True)
    (tmp_path / "task" / "six" / "setup.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "from setuptools import setup\nsetup(name='six', version='99.0')\n")
    (tmp_path / "task" / "requirements.txt").write_text("six\n")
    monkeypatch.chdir(tmp_path / "task")
    runtime = task_runtime(tmp_path / "task" / "requirements.txt", log=lambda _: None)
    version = subprocess.run([runtime.path / "bin" / "python", "-c", "import six; print(six.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    assert version and version != "99.0" and not marker.exists()


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_the_build_sandbox_hides_the_task_and_writes_only_the_runtime(tmp_path, monkeypatch):
    """The hidden folder stands for a task folder outside /tmp (this test file's folder, which has files)."""
    hidden, runtime, scratch = Path(__file__).parent, tmp_path / "runtime", tmp_path / "scratch"
    for folder in (runtime, scratch / "cwd", scratch / "tmp"):
        folder.mkdir(parents=True)
    monkeypatch.setenv("SYNTHML_SECRET", "s3cr3t")
    probe = (f"ls -A {hidden} | wc -l; ls -A /tmp/cwd | wc -l; pwd; touch /usr/x 2>/dev/null || echo READ-ONLY; "
             f"touch {tmp_path}/x; touch {runtime}/ok /tmp/ok && echo WROTE; env | grep -c SYNTHML_SECRET")
    out = subprocess.run([*build_sandbox(shutil.which("bwrap"), runtime, scratch, [hidden]), "sh", "-c", probe],
                         capture_output=True, text=True, env=pip_env(os.environ))
    assert any(hidden.iterdir()) and out.stdout == "0\n0\n/tmp/cwd\nREAD-ONLY\nWROTE\n0\n", out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runtime", "scratch"]
    assert (runtime / "ok").exists() and (scratch / "tmp" / "ok").exists()


def test_pip_gets_only_what_it_needs_of_the_environment():
    host = {"HOME": "/h", "PIP_INDEX_URL": "u", "https_proxy": "p", "SSL_CERT_FILE": "c", "OPENAI_API_KEY": "k",
            "AWS_SECRET_ACCESS_KEY": "k", "LD_PRELOAD": "x.so", "PYTHONPATH": "/x"}
    assert pip_env(host) == {"HOME": "/h", "PIP_INDEX_URL": "u", "https_proxy": "p", "SSL_CERT_FILE": "c"}


def test_a_built_runtime_is_used_without_its_lock(tmp_path, monkeypatch):
    """A user who may read but not write the cache uses a runtime someone else built."""
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    built = ensure_runtime("bare", [], log=lambda _: None)
    lock = built.path.with_name(built.path.name + ".lock")
    lock.unlink()
    assert ensure_runtime("bare", [], log=lambda _: None) == built and not lock.exists()
    assert built.facts["python"] == sys.version


# ---- no catalog table in a runtime ----------------------------------------------------------------


def test_every_catalog_source_has_its_data_folders_named():
    assert set(SHIPPED_DATA) == set(get_args(Source)) == set(PACKAGES)


def test_strip_removes_shipped_data_and_test_suites_but_keeps_code(tmp_path):
    files = ["sklearn/datasets/__init__.py", "sklearn/datasets/_base.py", "sklearn/datasets/data/__init__.py",
             "sklearn/datasets/data/iris.csv", "sklearn/datasets/descr/iris.rst", "sklearn/utils/estimator.css",
             "sklearn/datasets/tests/data/openml/id_61/data.arff.gz", "scipy/io/arff/tests/data/iris.arff",
             "joblib/test/data/x.pkl", "statsmodels/datasets/fair/data.py", "statsmodels/datasets/fair/fair.csv",
             "statsmodels/datasets/scotland/src/scotvote.csv", "pkg-1.0.dist-info/licenses/test/LICENSE",
             "tests/__init__.py"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    removed = strip_datasets(tmp_path)
    assert removed == {"sklearn/datasets/data": 1, "sklearn/datasets/descr": 1, "statsmodels/datasets": 2,
                       "joblib/test": 1, "scipy/io/arff/tests": 1, "sklearn/datasets/tests": 1, "tests": 1}
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(["sklearn/datasets/__init__.py", "sklearn/datasets/_base.py", "sklearn/datasets/data/"
                           "__init__.py", f"sklearn/datasets/data/{REMOVED_NOTE}", f"sklearn/datasets/descr/"
                           f"{REMOVED_NOTE}", "sklearn/utils/estimator.css", "statsmodels/datasets/fair/data.py",
                           f"statsmodels/datasets/{REMOVED_NOTE}", "pkg-1.0.dist-info/licenses/test/LICENSE"])
    assert strip_datasets(tmp_path) == {}


def loader_script(entries) -> str:
    """catalog_sources.py as a script that needs only the source packages, run over `entries`: prints each entry's
    outcome ("absent" where its package is not installed), then whether the packages still work."""
    module = inspect.getsource(catalog_sources)
    assert "from synthml.errors import TaskError\n" in module
    module = module.replace("from synthml.errors import TaskError\n", "class TaskError(Exception):\n    pass\n")
    chosen = [(e.id, e.source, e.loader) for e in entries]
    return module + f"""
import json, importlib.util
outcomes = {{}}
for entry_id, source, loader in {chosen!r}:
    if importlib.util.find_spec(source) is None:
        outcomes[entry_id] = "absent"
        continue
    try:
        rows = len(LOADERS[source](loader))
    except Exception as error:
        outcomes[entry_id] = "fails: " + type(error).__name__
    else:
        outcomes[entry_id] = f"loads {{rows}} rows" if rows else "fails: no rows"
from sklearn.datasets import make_classification
make_classification(n_samples=20)
if importlib.util.find_spec("statsmodels"):
    import statsmodels.api
print("OUTCOMES " + json.dumps(outcomes))
"""


def outcomes_in_sandbox(env: SynthMLEnv, entries) -> dict[str, str]:
    command = f"cat > /tmp/loaders.py <<'SYNTHML_EOF'\n{loader_script(entries)}\nSYNTHML_EOF\npython /tmp/loaders.py"
    out = env.step(command)[0]
    found = re.search(r"^OUTCOMES (.*)$", out, re.MULTILINE)
    assert found, out
    return json.loads(found.group(1))


def test_the_loader_script_loads_tables_where_the_packages_ship_them():
    """The check below means something: on the host, whose packages keep their data, one entry per source loads."""
    entries = list({e.source: e for e in catalog()}.values())
    ran = subprocess.run([sys.executable, "-c", loader_script(entries)], capture_output=True, text=True)
    outcomes = json.loads(ran.stdout.split("OUTCOMES ", 1)[1])
    assert all(outcome.startswith("loads") for outcome in outcomes.values()), outcomes


def test_the_generic_runtime_loads_no_catalog_table_in_the_sandbox(runtime):
    env = SynthMLEnv(task=sample_bank() / "diabetes-progression", command_timeout=120)
    env.reset(seed=0)
    try:
        digits = env.step("python -c 'from sklearn.datasets import load_digits; load_digits()'; echo EXIT=$?")[0]
        outcomes = outcomes_in_sandbox(env, catalog())
    finally:
        env.close()
    assert "FileNotFoundError" in digits and "EXIT=1" in digits, digits
    installed = {e.id: outcomes[e.id] for e in catalog() if outcomes[e.id] != "absent"}
    assert {e.source for e in catalog() if e.id in installed} == {"sklearn"}
    assert all(outcome.startswith("fails") for outcome in installed.values()), installed


@pytest.mark.slow
def test_a_task_runtime_with_every_catalog_source_loads_no_catalog_table(task_dir):
    """Every source package that ships tables installed (the versions the catalog was made with), in the real
    cache: built once."""
    requirements = sorted(f"{name}=={metadata.version(name)}" for source, name in PACKAGES.items()
                          if SHIPPED_DATA[source])
    (task_dir / "requirements.txt").write_text("\n".join(requirements) + "\n")
    config = yaml.safe_load((task_dir / "task.yaml").read_text())
    config |= {"use_generic_conda": False, "requirements_path": "requirements.txt"}
    (task_dir / "task.yaml").write_text(yaml.safe_dump(config))
    env = SynthMLEnv(task=task_dir, command_timeout=300)
    env.reset(seed=0)
    try:
        outcomes = outcomes_in_sandbox(env, catalog())
    finally:
        env.close()
    assert "absent" not in outcomes.values() and len(outcomes) == len(catalog())
    assert all(outcome.startswith("fails") for outcome in outcomes.values()), outcomes


# A tripwire for tables that other packages carry (test fixtures, sample data): a text file holding, line by line,
# the numeric features of most rows of a catalog table (in any column order, give or take one column).

_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_TEXT = (".csv", ".tsv", ".txt", ".dat", ".arff", ".json", ".data")


def _keys(ordered: tuple[float, ...], widest: int) -> list[tuple[float, ...]]:
    """`ordered` (sorted, rounded values), and each way of leaving one out (keeping 3 to `widest` values)."""
    if not 3 < len(ordered) <= widest + 1:
        return [ordered]
    return [ordered, *{ordered[:i] + ordered[i + 1:] for i in range(len(ordered))}]


def _catalog_rows() -> tuple[dict, dict[str, int]]:
    """Rows of each catalog table with at least 3 numeric features, by their keys; each table's distinct rows."""
    index, sizes = defaultdict(lambda: defaultdict(set)), {}
    for entry in catalog():
        table = load_table(entry)
        numeric = [c for c in table if c not in (entry.target, entry.time_column)
                   and pd.api.types.is_numeric_dtype(table[c])]
        rows = table[numeric].dropna().to_numpy(float).round(4)
        if len(numeric) >= 3 and len(rows) >= 20:
            sizes[entry.id] = len({tuple(r) for r in rows})
            for number, row in enumerate(np.sort(rows, axis=1).tolist()):
                for key in _keys(tuple(row), 20):
                    index[len(key)][key].add((entry.id, number))
    return index, sizes


def catalog_tables_in(root: Path) -> dict[str, tuple[str, int]]:
    """Text files under `root` (plain or compressed) that hold half or more of a catalog table's rows."""
    index, sizes = _catalog_rows()
    found = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        opener = _OPENERS.get(path.suffix)
        if not (path.stem if opener else path.name).lower().endswith(_TEXT):
            continue
        with (opener or open)(path, "rb") as f:
            lines = f.read(50_000_000).splitlines()
        hits = defaultdict(set)
        for line in lines:
            numbers = [float(n) for n in _NUMBER.findall(line)[:200]]
            if len(numbers) >= 3 and index.keys() & {len(numbers), len(numbers) - 1}:
                for key in _keys(tuple(sorted(round(n, 4) for n in numbers)), 200):
                    for entry_id, number in index.get(len(key), {}).get(key, ()):
                        hits[entry_id].add(number)
        found |= {str(path.relative_to(root)): (entry_id, len(rows)) for entry_id, rows in hits.items()
                  if len(rows) >= max(20, sizes[entry_id] / 2)}
    return found


def test_the_tripwire_finds_tables_in_package_files(tmp_path):
    iris = load_table(next(e for e in catalog() if e.id == "sklearn/iris"))
    iris.insert(0, "row", range(len(iris)))  # an extra column, the features reordered, the file gzipped
    iris[iris.columns[::-1]].to_csv(tmp_path / "flowers.csv.gz", index=False)
    iris.head(10).to_csv(tmp_path / "few.csv", index=False)
    assert catalog_tables_in(tmp_path) == {"flowers.csv.gz": ("sklearn/iris", 150)}


@pytest.mark.slow
def test_no_file_of_the_generic_runtime_holds_a_catalog_table(runtime):
    site_packages = next(runtime.glob("lib/python*/site-packages"))
    assert catalog_tables_in(site_packages) == {}
