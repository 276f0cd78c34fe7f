"""Read access to a bundle stored as a folder or as a .zip of that folder."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath


class BundleSource:
    """Files of a bundle addressed by POSIX paths relative to the bundle root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise FileNotFoundError(f"{path}: not a folder or a .zip file")
            self._zip = zipfile.ZipFile(path)
            self._prefix = self._zip_root(self._zip)
        elif not path.is_dir():
            raise FileNotFoundError(f"{path}: no such folder or file")

    @staticmethod
    def _zip_root(archive: zipfile.ZipFile) -> str:
        """The folder inside the zip that holds study.toml ("" when it is at the top)."""
        names = [n for n in archive.namelist() if PurePosixPath(n).name == "study.toml"]
        if not names:
            return ""
        shortest = min(names, key=lambda n: n.count("/"))
        parent = str(PurePosixPath(shortest).parent)
        return "" if parent == "." else parent + "/"

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> BundleSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exists(self, name: str) -> bool:
        if self._zip is not None:
            try:
                self._zip.getinfo(self._prefix + name)
            except KeyError:
                return False
            return True
        return (self.path / name).is_file()

    def read_bytes(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._prefix + name)
        return (self.path / name).read_bytes()

    def files_under(self, folder: str) -> Iterator[str]:
        """Every file below ``folder`` (recursively), as bundle-relative POSIX paths, sorted."""
        folder = folder.rstrip("/") + "/"
        if self._zip is not None:
            start = self._prefix + folder
            names = sorted(
                n[len(self._prefix) :]
                for n in self._zip.namelist()
                if n.startswith(start) and not n.endswith("/")
            )
            yield from names
            return
        root = self.path / folder
        if not root.is_dir():
            return
        for p in sorted(root.rglob("*")):
            if p.is_file():
                yield p.relative_to(self.path).as_posix()


def open_bundle(path: str | Path) -> BundleSource:
    return BundleSource(Path(path))
