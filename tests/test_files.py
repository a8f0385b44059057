"""Where data files are found, what happens when one is missing, and checked downloads."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from synth_data import write_imdb_zip, write_unsup_gz

from mlsplab.data import files
from mlsplab.data.download import download
from mlsplab.data.files import IMDB_UNSUP, IMDB_ZIP, locate, provenance, search_dirs
from mlsplab.errors import MlsplabError


@pytest.fixture()
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Four empty candidate directories standing in for the real search order."""
    d = {name: tmp_path / name for name in ("arg", "env", "repo", "home")}
    for p in d.values():
        p.mkdir()
    (d["repo"] / "mlsplab").mkdir()
    (d["repo"] / "shared" / "data").mkdir(parents=True)
    monkeypatch.setattr(files, "REPO_ROOT", d["repo"] / "mlsplab")
    monkeypatch.setenv("HOME", str(d["home"]))
    monkeypatch.delenv(files.ENV_DATA_DIR, raising=False)
    monkeypatch.delenv(files.ENV_OFFLINE, raising=False)
    d["shared"] = d["repo"] / "shared" / "data"
    d["cache"] = d["home"] / ".cache" / "mlsplab"
    return d


def test_search_order(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert search_dirs(None) == [places["shared"], places["cache"]]
    monkeypatch.setenv(files.ENV_DATA_DIR, str(places["env"]))
    assert search_dirs(places["arg"]) == [places["arg"], places["env"], places["shared"],
                                          places["cache"]]
    assert search_dirs(places["env"]) == [places["env"], places["shared"], places["cache"]]


def test_locate_takes_the_first_place_holding_the_file(places: dict[str, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(files.ENV_DATA_DIR, str(places["env"]))
    places["cache"].mkdir(parents=True)
    for key in ("cache", "shared", "env", "arg"):  # add copies from last place to first
        write_unsup_gz(places[key] / IMDB_UNSUP.name, n_reviews=3)
        assert locate(IMDB_UNSUP, places["arg"]) == places[key] / IMDB_UNSUP.name


def test_missing_offline_lists_every_place_and_the_url(places: dict[str, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(files.ENV_OFFLINE, "1")
    monkeypatch.setenv(files.ENV_DATA_DIR, str(places["env"]))
    with pytest.raises(MlsplabError) as e:
        locate(IMDB_ZIP, places["arg"])
    msg = str(e.value)
    assert "\n" not in msg and IMDB_ZIP.name in msg and IMDB_ZIP.url in msg
    for key in ("arg", "env", "shared", "cache"):
        assert str(places[key]) in msg
    assert "--data-dir" in msg and files.ENV_DATA_DIR in msg


def test_missing_file_without_url(places: dict[str, Path]) -> None:
    with pytest.raises(MlsplabError) as e:
        locate(IMDB_UNSUP, places["arg"])
    msg = str(e.value)
    assert IMDB_UNSUP.name in msg and str(places["arg"]) in msg and "unlabelled" in msg


def test_download_from_file_url_into_data_dir(places: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    src = write_imdb_zip(tmp_path / "server" / "IMDB_Dataset.csv.zip", n_reviews=20)
    spec = dataclasses.replace(IMDB_ZIP, url=src.as_uri())
    got = locate(spec, places["arg"])
    assert got == places["arg"] / IMDB_ZIP.name
    assert got.read_bytes() == src.read_bytes()
    assert [p.name for p in places["arg"].iterdir()] == [IMDB_ZIP.name]  # no .part left
    assert provenance(got) == {"path": str(got), "bytes": src.stat().st_size,
                               "sha256": hashlib.sha256(src.read_bytes()).hexdigest()}


def test_download_goes_to_cache_without_data_dir(places: dict[str, Path],
                                                 tmp_path: Path) -> None:
    src = write_imdb_zip(tmp_path / "src.zip", n_reviews=10)
    spec = dataclasses.replace(IMDB_ZIP, url=src.as_uri())
    assert locate(spec, None) == places["cache"] / IMDB_ZIP.name


def test_bad_download_is_rejected_and_kept_aside(places: dict[str, Path],
                                                 tmp_path: Path) -> None:
    src = tmp_path / "error.html"
    src.write_text("<html>404 Not Found</html>")  # what a broken mirror serves
    spec = dataclasses.replace(IMDB_ZIP, url=src.as_uri())
    with pytest.raises(MlsplabError, match="not a valid zip archive"):
        locate(spec, places["arg"])
    assert not (places["arg"] / IMDB_ZIP.name).exists()
    assert (places["arg"] / (IMDB_ZIP.name + ".bad")).exists()


def test_wrong_zip_content_is_rejected(places: dict[str, Path], tmp_path: Path) -> None:
    src = write_imdb_zip(tmp_path / "other.zip", n_reviews=5, member="something.csv")
    spec = dataclasses.replace(IMDB_ZIP, url=src.as_uri())
    with pytest.raises(MlsplabError, match="expected member 'IMDB Dataset.csv'"):
        locate(spec, places["arg"])
    assert not (places["arg"] / IMDB_ZIP.name).exists()


def test_unreachable_url(places: dict[str, Path], tmp_path: Path) -> None:
    spec = dataclasses.replace(IMDB_ZIP, url=(tmp_path / "missing.zip").as_uri())
    with pytest.raises(MlsplabError) as e:
        locate(spec, places["arg"])
    msg = str(e.value)
    assert "could not download" in msg and str(places["shared"]) in msg and "\n" not in msg
    assert list(places["arg"].iterdir()) == []


# ---------------------------------------------------------------- a loopback HTTP server


class _Handler(http.server.BaseHTTPRequestHandler):
    payload = b""
    claimed_length: int | None = None

    def do_GET(self) -> None:
        if self.path == "/broken-chunks":  # a chunked response cut inside a chunk
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"400\r\n" + b"x" * 10)
            self.close_connection = True
            return
        if self.path != "/IMDB_Dataset.csv.zip":
            self.send_error(404)
            return
        self.send_response(200)
        n = self.claimed_length if self.claimed_length is not None else len(self.payload)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("H", (_Handler,), {})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def test_download_over_http(places: dict[str, Path], tmp_path: Path,
                            server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    handler.payload = write_imdb_zip(tmp_path / "z.zip", n_reviews=30).read_bytes()
    spec = dataclasses.replace(IMDB_ZIP, url=f"{url}/IMDB_Dataset.csv.zip")
    got = locate(spec, places["arg"])
    assert got.read_bytes() == handler.payload


def test_http_404_and_truncated_transfer(places: dict[str, Path], tmp_path: Path,
                                         server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    with pytest.raises(MlsplabError, match="404"):
        download(f"{url}/nope.zip", places["arg"] / "nope.zip", timeout=5)
    handler.payload = b"PK" + b"x" * 1000
    handler.claimed_length = 5000  # the connection closes after 1002 of 5000 bytes
    dest = places["arg"] / IMDB_ZIP.name
    with pytest.raises(MlsplabError):
        download(f"{url}/IMDB_Dataset.csv.zip", dest, timeout=5)
    assert list(places["arg"].iterdir()) == []  # nothing half-written
    with pytest.raises(MlsplabError, match="could not download .*broken-chunks"):
        download(f"{url}/broken-chunks", dest, timeout=5)
    assert list(places["arg"].iterdir()) == []
