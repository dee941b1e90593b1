"""Reading a DICOM file and decoding its pixels: pydicom's plugins first, then GDCM itself.

Every failure is one :class:`data.errors.ImageLoadError` with the true reason; nothing a
library says on the way reaches stderr.

- Not DICOM: a file named ``.dcm`` is read with ``force`` (files written without the
  128-byte preamble exist), so it must first look like DICOM: the "DICM" marker, or a first
  data element in group 0002 or 0008. Otherwise pydicom would read any text as an empty
  dataset and the error would be "no pixel data".
- Library noise: pydicom logs each failing decoding plugin at ERROR with a traceback, then
  raises one RuntimeError that repeats every plugin's message; its warnings are logged and
  warned twice over. While this module reads a file, pydicom's log records are held back
  (in that thread only) and its warnings recorded: they become the image's notes, or the
  error's reason.
- 12-bit JPEG Extended (1.2.840.10008.1.2.4.51, Bits Stored 12): pydicom's gdcm plugin
  refuses it outright, Pillow's libjpeg is 8-bit only, and pylibjpeg-libjpeg (GPL) is not
  installed, so all of pydicom's plugins fail. GDCM reading the whole file decodes it: its
  JPEG codec retries with its 12-bit libjpeg. On the way that libjpeg writes "Unsupported
  JPEG data precision 12" to the process's stderr from C (python-gdcm issue #35), so
  file descriptor 2 is captured while GDCM runs; that retry message is dropped, anything
  else GDCM says becomes a note (or the reason, when it fails).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from data.errors import ImageLoadError

DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".dic"})
# The groups a DICOM file without a preamble starts with: file meta, or identifying data.
_FIRST_GROUPS = frozenset({0x0002, 0x0008})
# GDCM's first try uses the codec for Bits Allocated; on a 12-bit stream it says this and retries.
_GDCM_RETRY = re.compile(r"^Unsupported JPEG data precision \d+$")
_PYDICOM_LOGGERS = ("pydicom", "pydicom.pixels.decoders.base")

_held = threading.local()
_filter_lock = threading.Lock()
_gdcm_lock = threading.Lock()  # one redirection of file descriptor 2 at a time


class _HeldBack(logging.Filter):
    """Drops pydicom's records while this thread is inside :func:`_quiet_pydicom`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_held, "active", False)


_HELD_BACK = _HeldBack()


@contextmanager
def _quiet_pydicom() -> Iterator[list[str]]:
    """Hold back pydicom's log records in this thread and record its warnings; yields the
    warnings' messages (filled when the block ends)."""
    with _filter_lock:
        for name in _PYDICOM_LOGGERS:
            logger = logging.getLogger(name)
            if _HELD_BACK not in logger.filters:
                logger.addFilter(_HELD_BACK)
    said: list[str] = []
    _held.active = True
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield said
            finally:
                said.extend(dict.fromkeys(str(w.message) for w in caught))
    finally:
        _held.active = False


def looks_like_dicom(head: bytes) -> bool:
    """True for the "DICM" marker at byte 128, or a first data element in group 0002/0008."""
    if head[128:132] == b"DICM":
        return True
    return len(head) >= 2 and (
        int.from_bytes(head[:2], "little") in _FIRST_GROUPS
        or int.from_bytes(head[:2], "big") in _FIRST_GROUPS
    )


def read_dataset(path: Path, *, stop_before_pixels: bool = False) -> tuple[Any, list[str]]:
    """The dataset of a DICOM file and pydicom's warnings about it (raises ImageLoadError)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError as error:
        raise ImageLoadError(path, f"cannot read the file ({error.strerror or error})") from error
    if not looks_like_dicom(head):
        raise ImageLoadError(
            path, "not a DICOM file (no 'DICM' marker at byte 128 and no DICOM data element at its start)"
        )
    try:
        with _quiet_pydicom() as said:
            ds = pydicom.dcmread(
                path, stop_before_pixels=stop_before_pixels, force=path.suffix.lower() in DICOM_SUFFIXES
            )
    except InvalidDicomError as error:
        raise ImageLoadError(path, f"not a valid DICOM file ({error})") from error
    except (OSError, ValueError, EOFError, KeyError, TypeError, AttributeError) as error:
        raise ImageLoadError(
            path, f"corrupt or truncated DICOM file ({error or type(error).__name__})"
        ) from error
    return ds, said


def _syntax_name(ds: Any) -> str:
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    return str(getattr(syntax, "name", syntax or "uncompressed"))


def decode_pixels(ds: Any, path: Path) -> tuple[np.ndarray, list[str]]:
    """The pixel array (all frames) and notes on how it was decoded (raises ImageLoadError)."""
    try:
        with _quiet_pydicom() as said:
            array = ds.pixel_array
    except (NotImplementedError, RuntimeError) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        if len(lines) > 1 and lines[0].startswith("Unable to decode as exceptions were raised"):
            lines = lines[1:]  # the plugins' own messages follow this preamble
        plugins = "; ".join(lines)
    except (ValueError, AttributeError, KeyError, TypeError, EOFError, OSError) as error:
        raise ImageLoadError(path, f"corrupt or truncated DICOM pixel data ({error})") from error
    else:
        return array, [f"pydicom: {message}" for message in said]
    name = _syntax_name(ds)
    try:
        array, gdcm_said = _decode_with_gdcm(path, ds)
    except _GdcmFailure as failure:
        raise ImageLoadError(
            path, f"cannot decode the {name} pixel data: pydicom ({plugins}); GDCM ({failure})"
        ) from None
    notes = [f"{name} decoded by GDCM directly (pydicom's plugins cannot: {plugins})"]
    return array, notes + [f"GDCM: {line}" for line in gdcm_said]


class _GdcmFailure(Exception):
    """GDCM could not decode the file either; the message says what it said."""


@contextmanager
def _native_stderr() -> Iterator[list[str]]:
    """Capture what C code writes to file descriptor 2 while the block runs (lines, at the end)."""
    said: list[str] = []
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to capture
        yield said
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said.extend(line.strip() for line in sink.read().decode("utf-8", "replace").splitlines())


_DTYPES = {(8, 0): "u1", (8, 1): "i1", (16, 0): "<u2", (16, 1): "<i2", (32, 0): "<u4", (32, 1): "<i4"}


def _decode_with_gdcm(path: Path, ds: Any) -> tuple[np.ndarray, list[str]]:
    """All frames decoded by GDCM reading the file itself, and what it said on the way."""
    try:
        import gdcm
    except ImportError:
        raise _GdcmFailure("python-gdcm is not installed") from None
    with _gdcm_lock, _native_stderr() as said:
        reader = gdcm.ImageReader()
        reader.SetFileName(str(path))
        read = reader.Read()
        image = reader.GetImage()
        buffer = image.GetBuffer() if read else None
    said = [line for line in said if line and not _GDCM_RETRY.match(line)]
    told = f": {'; '.join(said)}" if said else ""
    if buffer is None:
        raise _GdcmFailure(
            f"{'it could not decode the pixel data' if read else 'it could not read the file'}{told}"
        )
    data = buffer.encode("utf-8", "surrogateescape")  # python-gdcm hands the bytes over as str
    pixel_format = image.GetPixelFormat()
    bits, signed = pixel_format.GetBitsAllocated(), pixel_format.GetPixelRepresentation()
    samples = pixel_format.GetSamplesPerPixel()
    dtype = _DTYPES.get((bits, signed))
    if dtype is None:
        raise _GdcmFailure(f"it returned {bits}-bit samples, which are not read here")
    rows, cols = int(ds.Rows), int(ds.Columns)
    frames = int(ds.get("NumberOfFrames") or 1)
    shape = (frames, rows, cols, samples)
    expected = frames * rows * cols * samples * bits // 8
    if len(data) != expected:
        raise _GdcmFailure(
            f"it returned {len(data):,} bytes for {cols}×{rows}×{frames} pixels, not {expected:,}"
        )
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    if samples == 1:
        array = array[..., 0]
    return (array[0] if frames == 1 else array), said
