"""Downloads from a local HTTP server that honours Range requests and can misbehave on purpose:
drop the connection, serve wrong bytes, answer 404, ignore Range, or stall."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import closed_port
from datafiles import cifar_blobs, write_cifar_tar, write_mnist_like

from dlbuilder.backend.datasets import DatasetError, load_dataset
from dlbuilder.backend.datasets.download import fetch_dataset, remote_for


@dataclass
class Behaviour:
    """What the server does; `drop_after` and `stall` apply once per file, then it behaves."""

    root: Path
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    drop_after: dict[str, int] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)
    ignore_range: bool = False
    stall: float = 0.0


class Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        rules: Behaviour = self.server.behaviour
        rules.requests.append((self.path, self.headers.get("Range")))
        if rules.stall:
            time.sleep(rules.stall)
        path = rules.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        data = path.read_bytes()
        if path.name in rules.corrupt:
            data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
        start = self._range_start()
        if start >= len(data) > 0:
            self.send_error(416, "Range Not Satisfiable")
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        cut = rules.drop_after.pop(path.name, None)
        # the client may have given up (a test's timeout or stop): nothing to report
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data[start:cut] if cut is not None else data[start:])
        self.close_connection = True

    def _range_start(self) -> int:
        header = self.headers.get("Range")
        if not header or self.server.behaviour.ignore_range:
            return 0
        return int(header.removeprefix("bytes=").split("-")[0])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Behaviour]]:
    """(base URL, behaviour) of a server on 127.0.0.1 serving tmp_path/served."""
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.behaviour = Behaviour(root)  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", httpd.behaviour  # type: ignore
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def table_for(folder: Path, mirrors: list[str], name: str = "mnist") -> dict[str, Any]:
    files = {p.name: {"size": p.stat().st_size, "md5": hashlib.md5(p.read_bytes()).hexdigest()}
             for p in sorted(folder.iterdir()) if p.is_file()}
    return {name: {"mirrors": mirrors, "files": files}}


def test_real_mnist_downloads_and_loads(server: tuple[str, Behaviour], mnist_dir: Path,
                                        offline_cache: Path) -> None:
    url, rules = server
    for path in mnist_dir.glob("*.gz"):
        shutil.copy(path, rules.root / path.name)
    seen: list[tuple[str, int, int | None]] = []
    data = load_dataset("mnist", table=table_for(rules.root, [url]),
                        progress=lambda *args: seen.append(args))
    assert len(data.train) == 60000 and data.test is not None and len(data.test) == 10000
    for path in mnist_dir.glob("*.gz"):
        assert (offline_cache / "mnist" / path.name).read_bytes() == path.read_bytes()
        assert (path.name, path.stat().st_size, path.stat().st_size) in seen
    assert not list((offline_cache / "mnist").glob("*.part"))


def test_download_resumes_after_a_dropped_connection(server: tuple[str, Behaviour],
                                                     offline_cache: Path) -> None:
    url, rules = server
    write_mnist_like(rules.root, train=300)
    table = table_for(rules.root, [url])
    name = "train-images-idx3-ubyte.gz"
    rules.drop_after[name] = 1000
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", table=table)
    part = offline_cache / "mnist" / f"{name}.part"
    assert part.stat().st_size == 1000 and not (offline_cache / "mnist" / name).exists()
    assert "closed early" in str(error.value) and "was kept" in str(error.value)
    data = load_dataset("mnist", table=table)
    assert len(data.train) == 300
    assert (f"/{name}", "bytes=1000-") in rules.requests
    assert (offline_cache / "mnist" / name).read_bytes() == (rules.root / name).read_bytes()
    assert not part.exists()


def test_server_ignoring_range_restarts_the_file(server: tuple[str, Behaviour],
                                                 offline_cache: Path) -> None:
    url, rules = server
    write_mnist_like(rules.root, train=300)
    name = "train-images-idx3-ubyte.gz"
    (offline_cache / "mnist").mkdir(parents=True)
    (offline_cache / "mnist" / f"{name}.part").write_bytes(b"stale bytes")
    rules.ignore_range = True
    load_dataset("mnist", table=table_for(rules.root, [url]))
    assert (offline_cache / "mnist" / name).read_bytes() == (rules.root / name).read_bytes()


def test_wrong_checksum_keeps_nothing(server: tuple[str, Behaviour],
                                      offline_cache: Path) -> None:
    url, rules = server
    write_mnist_like(rules.root)
    name = "t10k-images-idx3-ubyte.gz"
    rules.corrupt.add(name)
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", table=table_for(rules.root, [url]))
    message = str(error.value)
    md5 = hashlib.md5((rules.root / name).read_bytes()).hexdigest()
    assert f"expected {(rules.root / name).stat().st_size} bytes, MD5 {md5}" in message
    assert "nothing was kept" in message
    assert not (offline_cache / "mnist" / name).exists()
    assert not (offline_cache / "mnist" / f"{name}.part").exists()


def test_second_mirror_after_404(server: tuple[str, Behaviour]) -> None:
    url, rules = server
    write_mnist_like(rules.root)
    data = load_dataset("mnist", table=table_for(rules.root, [url + "gone/", url]))
    assert len(data.train) == 12
    assert ("/gone/train-images-idx3-ubyte.gz", None) in rules.requests


def test_all_mirrors_failing_lists_each(server: tuple[str, Behaviour], tmp_path: Path) -> None:
    url, rules = server
    write_mnist_like(rules.root)
    refused = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", table=table_for(rules.root, [url + "gone/", refused]))
    message = str(error.value)
    assert f"{url}gone/t10k-images-idx3-ubyte.gz: HTTP error 404" in message
    assert f"{refused}t10k-images-idx3-ubyte.gz: cannot connect" in message
    assert "--data-dir" in message and "train-labels-idx1-ubyte.gz" in message


def test_table_from_environment(server: tuple[str, Behaviour], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    url, rules = server
    write_mnist_like(rules.root)
    table = tmp_path / "downloads.json"
    table.write_text(json.dumps(table_for(rules.root, [url], name="fashion-mnist")))
    monkeypatch.setenv("DLBUILDER_DOWNLOADS", str(table))
    data = load_dataset("fashion-mnist")
    assert data.classes[0] == "T-shirt/top" and len(data.train) == 12


def test_cache_folder_from_environment(server: tuple[str, Behaviour], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url, rules = server
    write_mnist_like(rules.root)
    monkeypatch.setenv("DLBUILDER_CACHE_DIR", str(tmp_path / "elsewhere"))
    data = load_dataset("mnist", table=table_for(rules.root, [url]))
    assert data.source == str(tmp_path / "elsewhere" / "mnist")
    assert (tmp_path / "elsewhere" / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_intact_files_are_not_downloaded_again(server: tuple[str, Behaviour]) -> None:
    url, rules = server
    write_mnist_like(rules.root)
    table = table_for(rules.root, [url])
    load_dataset("mnist", table=table)
    assert len(rules.requests) == 4
    load_dataset("mnist", table=table)
    assert len(rules.requests) == 4


def test_cifar10_archive_download(server: tuple[str, Behaviour], offline_cache: Path) -> None:
    url, rules = server
    write_cifar_tar(rules.root / "cifar-10-binary.tar.gz", cifar_blobs(per_batch=2))
    data = load_dataset("cifar10", table=table_for(rules.root, [url], name="cifar10"))
    assert data.train.x.shape == (10, 3, 32, 32) and data.test is not None
    assert data.source == str(offline_cache / "cifar10" / "cifar-10-binary.tar.gz")


def test_stalled_server_times_out(server: tuple[str, Behaviour], tmp_path: Path) -> None:
    url, rules = server
    write_mnist_like(rules.root)
    rules.stall = 1.0
    with pytest.raises(DatasetError, match="timed out"):
        fetch_dataset("mnist", tmp_path / "out", table=table_for(rules.root, [url]), timeout=0.2)


def test_progress_callback_error_is_passed_on(server: tuple[str, Behaviour],
                                              offline_cache: Path) -> None:
    url, rules = server
    write_mnist_like(rules.root)

    def stop(name: str, done: int, total: int | None) -> None:
        if done:
            raise ValueError("stopped by the user")

    with pytest.raises(ValueError, match="stopped by the user"):
        load_dataset("mnist", table=table_for(rules.root, [url]), progress=stop)


def test_size_may_be_left_out(server: tuple[str, Behaviour], tmp_path: Path) -> None:
    url, rules = server
    write_mnist_like(rules.root)
    table = table_for(rules.root, [url])
    for spec in table["mnist"]["files"].values():
        spec["size"] = None
    fetch_dataset("mnist", tmp_path / "out", table=table)
    for name in table["mnist"]["files"]:
        assert (tmp_path / "out" / name).read_bytes() == (rules.root / name).read_bytes()


def test_unsatisfiable_range_starts_over(server: tuple[str, Behaviour], tmp_path: Path) -> None:
    url, rules = server
    write_mnist_like(rules.root)
    table = table_for(rules.root, [url])
    for spec in table["mnist"]["files"].values():
        spec["size"] = None  # unknown: only the server can tell that the part is too long
    name = "train-labels-idx1-ubyte.gz"
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / f"{name}.part").write_bytes(b"x" * 10_000)
    fetch_dataset("mnist", tmp_path / "out", table=table)
    assert (tmp_path / "out" / name).read_bytes() == (rules.root / name).read_bytes()
    assert (f"/{name}", "bytes=10000-") in rules.requests and (f"/{name}", None) in rules.requests


@pytest.mark.parametrize(("entry", "problem"), [
    ({"files": {"a.gz": {"md5": "0" * 32}}}, "mnist.mirrors must be a non-empty list"),
    ({"mirrors": ["http://x/"], "files": {"a.gz": {"md5": "xyz"}}}, "a.gz.md5 must be 32"),
    ({"mirrors": ["http://x/"], "files": {"../a.gz": {"md5": "0" * 32}}}, "plain name"),
    ({"mirrors": ["http://x/"], "files": {"a.gz": {"md5": "0" * 32, "size": "9"}}},
     "a.gz.size must be a byte count"),
])
def test_table_problems_name_the_field(entry: dict, problem: str) -> None:
    with pytest.raises(DatasetError, match=problem):
        remote_for("mnist", {"mnist": entry})


def test_environment_table_that_is_not_json(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "downloads.json"
    table.write_text('{\n  "mnist": [,]\n}')
    monkeypatch.setenv("DLBUILDER_DOWNLOADS", str(table))
    with pytest.raises(DatasetError, match=f"{table}, line 2, column .*: not valid JSON"):
        load_dataset("mnist")


def test_builtin_table_is_well_formed() -> None:
    from dlbuilder.backend.datasets.download import DOWNLOADS

    for name in ("mnist", "fashion-mnist", "cifar10"):
        remote = remote_for(name, DOWNLOADS)
        assert remote.mirrors and all(m.startswith("http") for m in remote.mirrors)
        assert all(f.size for f in remote.files)


@pytest.mark.slow
def test_dlbuilder_train_downloads_with_progress_then_trains(server: tuple[str, Behaviour],
                                                             tmp_path: Path, offline_cache: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str],
                                                             ) -> None:
    """The whole way a user takes: no data folder, so `train` downloads into the cache (here
    from the local server named by $DLBUILDER_DOWNLOADS), reports it, and trains."""
    from helpers import example_graph

    from dlbuilder.cli import main
    from dlbuilder.core.fileformat import save_graph

    base, rules = server
    write_mnist_like(rules.root, train=40, test=10)
    table = tmp_path / "table.json"
    table.write_text(json.dumps(table_for(rules.root, [base])))
    monkeypatch.setenv("DLBUILDER_DOWNLOADS", str(table))
    graph = example_graph("mlp_mnist")
    graph.training.update(epochs=1, val_split=0.25)
    save_graph(graph, tmp_path / "mlp.json")
    assert main(["train", str(tmp_path / "mlp.json")]) == 0
    out, err = capsys.readouterr()
    assert "downloading train-images-idx3-ubyte.gz" in err
    assert "(30 train / 10 val / 10 test)" in out and "test accuracy" in out
    assert sorted(p.name for p in (offline_cache / "mnist").iterdir()) == sorted(
        p.name for p in rules.root.iterdir())
