"""Downloads of the built-in datasets into the cache folder: resumable, checked, never half-kept.

A file is fetched to `<name>.part`; a broken transfer keeps the part so the next call resumes it
with an HTTP Range request; only a file of the expected size and MD5 is renamed into place, so
the final name never holds a partial or wrong file. Mirrors are tried in order.

The table of remote files can be replaced: by an argument (Python), or by a JSON file of the same
structure named in $DLBUILDER_DOWNLOADS (so a command-line test can point at a local server).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlbuilder import __version__
from dlbuilder.backend.datasets.base import DatasetError

Progress = Callable[[str, int, int | None], None]
ENV_TABLE = "DLBUILDER_DOWNLOADS"
TIMEOUT = 30.0  # seconds a socket may wait for the server
_CHUNK = 1 << 16

_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_LECUN = "https://yann.lecun.com/exdb/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_TORONTO = "https://www.cs.toronto.edu/~kriz/"
DOWNLOADS: dict[str, Any] = {
    "mnist": {"mirrors": [_MNIST, _LECUN], "files": {
        "train-images-idx3-ubyte.gz": {"size": 9912422, "md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
        "train-labels-idx1-ubyte.gz": {"size": 28881, "md5": "d53e105ee54ea40749a09fcbcd1e9432"},
        "t10k-images-idx3-ubyte.gz": {"size": 1648877, "md5": "9fb629c4189551a2d022fa330f9573f3"},
        "t10k-labels-idx1-ubyte.gz": {"size": 4542, "md5": "ec29112dd5afa0611ce80d1b7f02629c"},
    }},
    "fashion-mnist": {"mirrors": [_FASHION], "files": {
        "train-images-idx3-ubyte.gz": {"size": 26421880,
                                       "md5": "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
        "train-labels-idx1-ubyte.gz": {"size": 29515, "md5": "25c81989df183df01b3e8a0aad5dffbe"},
        "t10k-images-idx3-ubyte.gz": {"size": 4422102, "md5": "bef4ecab320f06d8554ea6380940ec79"},
        "t10k-labels-idx1-ubyte.gz": {"size": 5148, "md5": "bb300cfdad3c16e7a12a480ee83cd310"},
    }},
    "cifar10": {"mirrors": [_TORONTO], "files": {
        "cifar-10-binary.tar.gz": {"size": 170052171, "md5": "c32a1d4ab5d03f1284b67883e8d87530"},
    }},
}


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int | None  # None: not known, only the MD5 is checked
    md5: str


@dataclass(frozen=True)
class Remote:
    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]


class _CallbackError(Exception):
    """The progress callback raised: passed on as is, never taken for a network failure."""


class _RangeRefused(Exception):
    """The server cannot continue the part file; it is dropped and the download starts over."""


def download_table(table: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """The given table, else the JSON file named in $DLBUILDER_DOWNLOADS, else DOWNLOADS."""
    if table is not None:
        return table
    path = os.environ.get(ENV_TABLE)
    if not path:
        return DOWNLOADS
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = json.load(handle)
    except OSError as error:
        raise DatasetError(f"{ENV_TABLE} names {path}, which cannot be read: "
                           f"{error.strerror}") from error
    except json.JSONDecodeError as error:
        raise DatasetError(f"{ENV_TABLE} file {path}, line {error.lineno}, column {error.colno}: "
                           f"not valid JSON: {error.msg}") from error
    if not isinstance(loaded, dict):
        raise DatasetError(f"{ENV_TABLE} file {path}: expected an object of datasets, found "
                           f"{type(loaded).__name__}")
    return loaded


def remote_for(name: str, table: Mapping[str, Any] | None = None) -> Remote:
    """`name`'s entry in the download table, checked: every problem names the field."""
    where = f"{ENV_TABLE} file {os.environ[ENV_TABLE]}" if (
        table is None and os.environ.get(ENV_TABLE)) else "the download table"
    entries = download_table(table)
    if name not in entries:
        raise DatasetError(f"{where} has no entry for {name!r} (it has {sorted(entries)})")
    entry = entries[name]
    mirrors = entry.get("mirrors") if isinstance(entry, Mapping) else None
    if not isinstance(mirrors, list) or not mirrors or not all(
            isinstance(m, str) and m for m in mirrors):
        raise DatasetError(f"{where}: {name}.mirrors must be a non-empty list of base URLs")
    files = entry.get("files")
    if not isinstance(files, Mapping) or not files:
        raise DatasetError(f"{where}: {name}.files must map file names to {{size, md5}}")
    return Remote(tuple(mirrors), tuple(_remote_file(where, name, f, files[f]) for f in files))


def _remote_file(where: str, dataset: str, name: str, spec: Any) -> RemoteFile:
    field = f"{where}: {dataset}.files.{name}"
    if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
        raise DatasetError(f"{field}: a file name must be a plain name, without folders")
    if not isinstance(spec, Mapping):
        raise DatasetError(f"{field} must be an object with md5 and size")
    md5, size = spec.get("md5"), spec.get("size")
    if not isinstance(md5, str) or not re.fullmatch(r"[0-9a-fA-F]{32}", md5):
        raise DatasetError(f"{field}.md5 must be 32 hexadecimal digits, not {md5!r}")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise DatasetError(f"{field}.size must be a byte count or null, not {size!r}")
    return RemoteFile(name=name, size=size, md5=md5.lower())


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_intact(path: Path, remote: RemoteFile) -> bool:
    """The file exists with the expected size (checked first: cheap) and MD5."""
    if not path.is_file():
        return False
    if remote.size is not None and path.stat().st_size != remote.size:
        return False
    return file_md5(path) == remote.md5


def fetch_dataset(name: str, folder: Path, *, table: Mapping[str, Any] | None = None,
                  progress: Progress | None = None, timeout: float = TIMEOUT) -> Path:
    """Every file of `name` into `folder`, skipping those already there intact."""
    remote = remote_for(name, table)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(f"cannot create the download folder {folder}: {error.strerror}; "
                           "set DLBUILDER_CACHE_DIR to a writable folder") from error
    for file in remote.files:
        if not is_intact(folder / file.name, file):
            fetch_file(name, remote, file, folder, progress=progress, timeout=timeout)
    return folder


def fetch_file(dataset: str, remote: Remote, file: RemoteFile, folder: Path, *,
               progress: Progress | None = None, timeout: float = TIMEOUT) -> Path:
    """One file from the first mirror that delivers it intact."""
    target = folder / file.name
    part = folder / f"{file.name}.part"
    failures = []
    for mirror in remote.mirrors:
        url = mirror.rstrip("/") + "/" + file.name
        try:
            try:
                _transfer(url, part, file, progress, timeout)
            except _RangeRefused:
                part.unlink(missing_ok=True)
                _transfer(url, part, file, progress, timeout)
            _verify(part, file)
        except _CallbackError as error:
            raise error.__cause__ from None  # type: ignore[misc]
        except (OSError, http.client.HTTPException, ValueError, _RangeRefused) as error:
            failures.append(f"  - {url}: {_describe(error)}")
            continue
        try:
            os.replace(part, target)
        except OSError as error:
            raise DatasetError(f"cannot move {part} to {target}: {error.strerror}") from error
        return target
    raise DatasetError(_all_failed(dataset, remote, file, part, failures))


def _all_failed(dataset: str, remote: Remote, file: RemoteFile, part: Path,
                failures: list[str]) -> str:
    kept = (f"\nThe partial download {part} was kept; the next try resumes it."
            if part.exists() else "")
    names = ", ".join(f.name for f in remote.files)
    return (f"could not download {file.name} for {dataset}:\n" + "\n".join(failures) + kept
            + f"\nTo use files fetched by hand, put {names} in one folder and pass that folder "
            "as the data folder (--data-dir on the command line).")


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP error {error.code} ({error.reason})"
    if isinstance(error, urllib.error.URLError):
        return f"cannot connect: {error.reason}"
    if isinstance(error, http.client.IncompleteRead):
        return f"the connection closed early, after {len(error.partial)} more bytes"
    if isinstance(error, _RangeRefused):
        return "the server would not continue the partial download"
    return str(error) or type(error).__name__


def _report(progress: Progress | None, name: str, done: int, total: int | None) -> None:
    if progress is None:
        return
    try:
        progress(name, done, total)
    except Exception as error:
        raise _CallbackError() from error


def _transfer(url: str, part: Path, file: RemoteFile, progress: Progress | None,
              timeout: float) -> None:
    """Download `url` into `part`, continuing what is already there when the server allows."""
    start = part.stat().st_size if part.exists() else 0
    if file.size is not None and start >= file.size:
        if start == file.size:
            return  # complete, not yet verified
        part.unlink()
        start = 0
    headers = {"User-Agent": f"dlbuilder/{__version__}"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                          timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and start:
            raise _RangeRefused() from error
        raise
    with response:
        if start and response.status == 206:
            if not response.headers.get("Content-Range", "").startswith(f"bytes {start}-"):
                raise _RangeRefused()
        else:
            start = 0  # a full answer (200): start over
        length = response.headers.get("Content-Length")
        total = file.size if file.size is not None else (
            start + int(length) if length and length.isdigit() else None)
        _copy(response, part, start, total, file.name, progress)


def _copy(response: Any, part: Path, start: int, total: int | None, name: str,
          progress: Progress | None) -> None:
    done = start
    with open(part, "ab" if start else "wb") as out:
        _report(progress, name, done, total)
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            done += len(chunk)
            _report(progress, name, done, total)
    if total is not None and done < total:
        raise ConnectionError(f"the connection closed early, after {done} of {total} bytes")


def _verify(part: Path, file: RemoteFile) -> None:
    """A wrong file is deleted: it would only be resumed into another wrong file."""
    size, md5 = part.stat().st_size, file_md5(part)
    if (file.size is None or size == file.size) and md5 == file.md5:
        return
    part.unlink()
    expected = f"{file.size} bytes, MD5 {file.md5}" if file.size is not None else f"MD5 {file.md5}"
    raise ValueError(f"the download is not the expected file: expected {expected}, got {size} "
                     f"bytes, MD5 {md5}; nothing was kept")
