"""Read access to a bundle stored as a folder or as a .zip of that folder."""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from readerstudy.bundles.names import unsafe_path_reason


class BundleReadError(ValueError):
    """A file of the bundle cannot be read (a damaged .zip member, or larger than allowed)."""


@dataclass(frozen=True)
class Entry:
    """One file of a bundle: its name, uncompressed size and what makes it unusable."""

    name: str  # bundle-relative (or the full member name for .zip members outside the root)
    size: int
    problem: str = ""


class BundleSource:
    """Files of a bundle addressed by POSIX paths relative to the bundle root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise FileNotFoundError(f"{path}: not a folder or a .zip file")
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise FileNotFoundError(f"{path}: not a readable .zip file ({exc})") from exc
            self._prefix = self._zip_root(self._zip)
        elif not path.is_dir():
            raise FileNotFoundError(f"{path}: no such folder or file")

    @staticmethod
    def _zip_root(archive: zipfile.ZipFile) -> str:
        """The folder inside the zip that holds study.toml ("" when it is at the top)."""
        names = [n for n in archive.namelist() if PurePosixPath(n).name == "study.toml"]
        names = [n for n in names if unsafe_path_reason(n) is None]
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

    def entries(self) -> list[Entry]:
        """Every file of the bundle with its uncompressed size (read from the .zip
        directory or the file system, without reading any content)."""
        if self._zip is not None:
            out = []
            for info in self._zip.infolist():
                if info.is_dir():
                    continue
                inside = info.filename.startswith(self._prefix)
                name = info.filename[len(self._prefix) :] if inside else info.filename
                reason = unsafe_path_reason(info.filename)
                out.append(
                    Entry(name, info.file_size, f"unsafe file name: {reason}" if reason else "")
                )
            return out
        root = self.path.resolve()
        out = []
        for folder, dirs, files in os.walk(self.path, followlinks=False):
            here = Path(folder)
            for name in sorted(dirs) + sorted(files):
                path = here / name
                rel = path.relative_to(self.path).as_posix()
                if path.is_symlink():
                    target = path.resolve()
                    if not target.is_relative_to(root):
                        out.append(Entry(rel, 0, "is a symbolic link to outside the bundle folder"))
                        continue
                    if target.is_dir():
                        continue
                elif name in dirs:
                    continue
                out.append(Entry(rel, path.stat().st_size))
        return out

    def exists(self, name: str) -> bool:
        if self._zip is not None:
            try:
                self._zip.getinfo(self._prefix + name)
            except KeyError:
                return False
            return True
        return (self.path / name).is_file()

    def read_bytes(self, name: str, limit: int | None = None) -> bytes:
        """The file's content; ``BundleReadError`` when it is damaged or over ``limit`` bytes."""
        if self._zip is not None:
            try:
                info = self._zip.getinfo(self._prefix + name)
                if limit is not None and info.file_size > limit:
                    raise BundleReadError(f"is larger than {limit:,} bytes")
                with self._zip.open(info) as member:  # never inflates beyond file_size
                    data = member.read()
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise BundleReadError(f"the .zip member is damaged ({exc})") from exc
        else:
            path = self.path / name
            if path.is_symlink() and not path.resolve().is_relative_to(self.path.resolve()):
                raise BundleReadError("is a symbolic link to outside the bundle folder")
            with path.open("rb") as fh:
                # read(limit + 1) would allocate the whole limit up front: check the size.
                if limit is not None and os.fstat(fh.fileno()).st_size > limit:
                    raise BundleReadError(f"is larger than {limit:,} bytes")
                data = fh.read()
        if limit is not None and len(data) > limit:
            raise BundleReadError(f"is larger than {limit:,} bytes")
        return data

    def read_prefix(self, name: str, size: int) -> bytes:
        """The first ``size`` bytes of a file (to read an image header before the image)."""
        if self._zip is not None:
            try:
                with self._zip.open(self._prefix + name) as member:
                    return member.read(size)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise BundleReadError(f"the .zip member is damaged ({exc})") from exc
        path = self.path / name
        if path.is_symlink() and not path.resolve().is_relative_to(self.path.resolve()):
            raise BundleReadError("is a symbolic link to outside the bundle folder")
        with path.open("rb") as fh:
            return fh.read(size)

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
