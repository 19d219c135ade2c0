"""Checksums and the explicit, opt-in download of a dataset archive.

Nothing in the library calls :func:`download_and_extract` unless a user passes ``download=True``
to a loader. Every archive is checked against its published md5 before it is unpacked, and
unpacking refuses members that would land outside the target folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.request
import zipfile
from pathlib import Path

__all__ = ["DataIntegrityError", "md5sum", "verify_md5", "download_and_extract"]


class DataIntegrityError(ValueError):
    """A data file exists but its checksum (or content) is not the expected one."""


def md5sum(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex md5 of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def verify_md5(path: str | os.PathLike[str], expected: str, hint: str = "") -> Path:
    """Return ``path`` if its md5 is ``expected``, else raise :class:`DataIntegrityError`."""
    actual = md5sum(path)
    if actual != expected.lower():
        message = f"md5 of {str(path)!r} is {actual}, expected {expected}: the file is corrupt or not the official release"
        raise DataIntegrityError(message + (f". {hint}" if hint else ""))
    return Path(path)


def _inside(root: Path, member: str) -> bool:
    target = (root / member).resolve()
    return target == root or root in target.parents


def _extract(archive: Path, destination: Path) -> None:
    destination = destination.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            unsafe = [name for name in bundle.namelist() if not _inside(destination, name)]
            if unsafe:
                raise DataIntegrityError(f"{str(archive)!r} has members outside the target folder: {unsafe[:3]}")
            bundle.extractall(destination)
        return
    with tarfile.open(archive) as bundle:
        members = bundle.getmembers()
        unsafe = [m.name for m in members if not _inside(destination, m.name) or m.issym() or m.islnk() or m.isdev()]
        if unsafe:
            raise DataIntegrityError(f"{str(archive)!r} has links, devices or members outside the target folder: {unsafe[:3]}")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.10.12: also strips unsafe permissions
            bundle.extractall(destination, members=members, filter="data")
        else:  # pragma: no cover - older Pythons; the members were checked above
            bundle.extractall(destination, members=members)


def download_and_extract(url: str, root: str | os.PathLike[str], md5: str, filename: str | None = None) -> Path:
    """Download ``url`` into ``root`` (kept if already there), check its md5, unpack it into ``root``.

    Returns the archive's path. Raises :class:`DataIntegrityError` if the checksum differs (the
    archive is then deleted so that a retry downloads it again).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    archive = root / (filename or url.rsplit("/", 1)[-1])
    if not archive.is_file():
        partial = archive.with_name(archive.name + ".part")
        with urllib.request.urlopen(url) as response, open(partial, "wb") as handle:  # noqa: S310 - explicit opt-in download of a fixed URL
            shutil.copyfileobj(response, handle, length=1 << 20)
        partial.replace(archive)
    try:
        verify_md5(archive, md5, hint=f"downloaded from {url}")
    except DataIntegrityError:
        archive.unlink()
        raise
    _extract(archive, root)
    return archive
