"""Benchmark: peak memory of hostile bundles (issue 11, findings 10 and 11).

Builds the attack bundles of the issue's attack pass, imports each with
``manage.py import_study`` in a child process (a fresh SQLite database each) and prints
the outcome, wall seconds and the child's peak resident memory; for DICOM it also serves
the image once, as a reader's request does (``case_image_response``), in another child.

* ``zip-bomb``: a 0.3 MB .zip whose readings.csv inflates to 300 MB;
* ``png-bomb``: a 60000 x 60000 grey PNG (3.6 G pixels) in a 3.5 MB file;
* ``dicom-bomb``: an 18000 x 18000 DICOM (324 MB of pixel data, 0.3 MB zipped);
* ``dicom-pixels``: a 12000 x 12000 DICOM (144 MB, under the file-size limit, over the pixels);
* ``dicom-large``: a 7000 x 7000 16-bit DICOM (49 M pixels), inside the default limits;
* ``wide-cases``: a cases.csv with 10,000 columns;
* ``many-files``: 250,000 files in one .zip.

Goal (checked for the code in this checkout): every attack is refused with a peak below
300 MiB, and the within-limits DICOM is served with a peak below 250 MiB (peaks include the
~100 MiB a Django process with numpy, pandas and pyarrow starts with). The script exits
non-zero when a goal is missed. ``--code-root DIR`` runs the same bundles against another
checkout (e.g. the previous release, for before/after figures; goals are not checked).
A child is stopped once its memory passes ``--kill-above`` (default 6 GiB).

    python bench/bench_attack_bundles.py [--only zip-bomb,png-bomb] [--code-root DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
GOAL_REFUSED_BYTES = 300 * MiB
GOAL_VIEW_BYTES = 250 * MiB

STUDY_TOML = """\
slug = "attack"
title = "Attack bundle"

[scale]
categories = [0, 1, 2, 3, 4, 5, 6]
positive_threshold = 4
"""
BASE = {
    "study.toml": STUDY_TOML,
    "cases.csv": "case_id,truth\nC1,1\nC2,0\n",
    "readers.csv": "reader_id,kind\nR1,human\n",
    "readings.csv": "reader_id,case_id,category\nR1,C1,4\nR1,C2,2\n",
}


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", b"".join(parts))
        + png_chunk(b"IEND", b"")
    )


def dicom(rows: int, columns: int, bits: int) -> bytes:
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    dtype = np.uint8 if bits == 8 else np.uint16
    pixels = np.zeros((rows, columns), dtype=dtype)
    pixels[:, : columns // 2] = 200
    ds.PixelData = pixels.tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def write_zip(path: Path, files: dict[str, bytes | str], level: int = 9) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, content in files.items():
            zf.writestr(name, content.encode() if isinstance(content, str) else content)


def zip_bomb(path: Path) -> None:
    rows = "R1,C1,4\n" * (300 * MiB // 8)
    write_zip(path, {**BASE, "readings.csv": BASE["readings.csv"] + rows})


def wide_cases(path: Path) -> None:
    n = 10_000
    header = "case_id,truth," + ",".join(f"a{i}" for i in range(n))
    body = "".join(f"C{j},{j % 2}," + ",".join(["x"] * n) + "\n" for j in range(1, 201))
    readings = "reader_id,case_id,category\n" + "".join(f"R1,C{j},{j % 7}\n" for j in range(1, 201))
    write_zip(path, {**BASE, "cases.csv": header + "\n" + body, "readings.csv": readings})


def many_files(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, content in BASE.items():
            zf.writestr(name, content)
        for i in range(250_000):
            zf.writestr(f"images/C1/f{i:06d}.txt", b"")


@dataclass(frozen=True)
class Attack:
    name: str
    build: Callable[[Path], None]
    refused: bool  # expected outcome with the default limits
    view: bool = False  # serve the DICOM image once after a successful import


ATTACKS = [
    Attack("zip-bomb", zip_bomb, refused=True),
    Attack("png-bomb", lambda p: write_zip(p, {**BASE, "images/C1/bomb.png": png_bomb()}), True),
    Attack(
        "dicom-bomb",
        lambda p: write_zip(p, {**BASE, "images/C1/bomb.dcm": dicom(18_000, 18_000, 8)}),
        refused=True,
        view=True,
    ),
    Attack(
        "dicom-pixels",
        lambda p: write_zip(p, {**BASE, "images/C1/pixels.dcm": dicom(12_000, 12_000, 8)}),
        refused=True,
        view=True,
    ),
    Attack(
        "dicom-large",
        lambda p: write_zip(p, {**BASE, "images/C1/large.dcm": dicom(7_000, 7_000, 16)}),
        refused=False,
        view=True,
    ),
    Attack("wide-cases", wide_cases, refused=True),
    Attack("many-files", many_files, refused=True),
]

VIEW = """
import django
django.setup()
from readerstudy.studies.models import CaseImage
from readerstudy.reading.views import case_image_response
response = case_image_response(CaseImage.objects.get())
data = b"".join(response.streaming_content) if response.streaming else response.content
print(len(data))
"""


@dataclass
class Run:
    seconds: float
    peak: int
    code: int
    killed: bool
    stderr: str


def bench(attack: Attack, tmp: Path, code_root: Path, kill_above: int, check: bool) -> bool:
    bundle = tmp / f"{attack.name}.zip"
    # Built by a child: a forked child's peak RSS starts at its parent's, so the parent
    # must stay small for the figures to be the import's own.
    subprocess.run([sys.executable, __file__, "--build", attack.name, str(bundle)], check=True)
    inflated = 0
    with zipfile.ZipFile(bundle) as zf:
        inflated = sum(info.file_size for info in zf.infolist())
    env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DATABASE_URL"}}
    env.update(
        {
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": "bench-only-" + "x" * 50,
            "ALLOWED_HOSTS": "localhost",
            "DATABASE_URL": f"sqlite:///{tmp}/{attack.name}.sqlite3",
            "MEDIA_ROOT": str(tmp / f"media-{attack.name}"),
            "DJANGO_SETTINGS_MODULE": "readerstudy.settings",
        }
    )
    python = [sys.executable]
    subprocess.run(
        [*python, "manage.py", "migrate", "--noinput", "-v0"], cwd=code_root, env=env, check=True
    )
    # The measured child starts after the bundle is written (the parent's memory is not counted).
    result = run_child_peak(
        [*python, "manage.py", "import_study", str(bundle)], code_root, env, kill_above
    )
    outcome = "killed" if result.killed else ("imported" if result.code == 0 else "refused")
    reason = ""
    if outcome == "refused":
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        reason = lines[1][:110] if len(lines) > 1 else (lines[0][:110] if lines else "")
    view = ""
    view_peak = 0
    if attack.view and outcome == "imported":
        served = run_child_peak([*python, "-c", VIEW], code_root, env, kill_above)
        view_peak = served.peak
        state = "killed" if served.killed else ("ok" if served.code == 0 else "error")
        view = f"  view: {state} {served.seconds:5.1f} s, peak {served.peak / MiB:7.0f} MiB"
    print(
        f"{attack.name:<12} {bundle.stat().st_size / MiB:7.1f} MiB zip, {inflated / MiB:8.0f} MiB "
        f"inflated: {outcome:<8} {result.seconds:6.1f} s, peak {result.peak / MiB:7.0f} MiB{view}"
    )
    if reason:
        print(f"{'':<12} {reason}")
    if not check:
        return True
    if attack.refused:
        ok = outcome == "refused" and result.peak <= GOAL_REFUSED_BYTES
    else:
        ok = outcome == "imported" and (not attack.view or 0 < view_peak <= GOAL_VIEW_BYTES)
    if not ok:
        print(f"{'':<12} MISSED the goal")
    return ok


def run_child_peak(args: list[str], cwd: Path, env: dict[str, str], kill_above: int) -> Run:
    """Run a child; its peak RSS comes from ``wait4`` of exactly that child. A watcher kills
    it once its resident memory passes ``kill_above``."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed = threading.Event()
    stderr: list[bytes] = []

    def drain() -> None:
        assert proc.stderr is not None
        stderr.append(proc.stderr.read())

    def watch() -> None:
        status = Path(f"/proc/{proc.pid}/status")
        while not killed.is_set():
            try:
                text = status.read_text()
            except OSError:
                return
            if "State:\tZ" in text:
                return
            rss = next(
                (int(ln.split()[1]) * 1024 for ln in text.splitlines() if ln.startswith("VmRSS:")),
                0,
            )
            if rss > kill_above:
                killed.set()
                proc.kill()
                return
            time.sleep(0.05)

    threads = [threading.Thread(target=f, daemon=True) for f in (drain, watch)]
    for t in threads:
        t.start()
    assert proc.stdout is not None
    proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    killed_now = killed.is_set()
    killed.set()
    for t in threads:
        t.join(5)
    return Run(
        time.perf_counter() - start,
        usage.ru_maxrss * 1024,
        os.waitstatus_to_exitcode(status),
        killed_now,
        b"".join(stderr).decode(errors="replace"),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated attack names")
    parser.add_argument("--code-root", type=Path, default=ROOT)
    parser.add_argument("--kill-above", type=float, default=6.0, help="GiB")
    parser.add_argument("--build", nargs=2, metavar=("ATTACK", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        name, path = args.build
        next(a for a in ATTACKS if a.name == name).build(Path(path))
        return 0
    chosen = [a for a in ATTACKS if not args.only or a.name in args.only.split(",")]
    check = args.code_root.resolve() == ROOT
    print(f"code: {args.code_root}{'' if check else ' (goals not checked)'}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for attack in chosen:
            ok &= bench(attack, Path(tmp), args.code_root, int(args.kill_above * 1024**3), check)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
