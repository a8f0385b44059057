"""Download a file with a progress bar, writing atomically (tmp file + rename)."""

from __future__ import annotations

import http.client
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from mlsplab.errors import MlsplabError

log = logging.getLogger(__name__)


def download(url: str, dest: str | Path, *, timeout: float = 30.0) -> Path:
    """Fetch ``url`` into ``dest`` atomically, showing a progress bar.

    Nothing is left at ``dest`` if the transfer fails half way.

    Raises
    ------
    MlsplabError
        If the URL cannot be reached or the transfer breaks off.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    log.info("downloading %s -> %s", url, dest)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
            if total is not None and out.tell() != total:
                raise MlsplabError(f"{url}: transfer ended at {out.tell()} of {total} bytes")
        os.replace(tmp, dest)
    except MlsplabError:
        tmp.unlink(missing_ok=True)
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        # HTTPException: IncompleteRead/RemoteDisconnected when the server breaks off
        tmp.unlink(missing_ok=True)
        raise MlsplabError(f"could not download {url}: {e}") from e
    return dest

