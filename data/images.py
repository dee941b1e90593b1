"""Load a chest radiograph (PNG, JPEG or DICOM) as a 2-D uint8 array, saying what was done to it.

- PNG/JPEG (pillow): EXIF orientation applied; RGB/RGBA/palette → grayscale (alpha dropped);
  16-bit and float images scaled to 8 bits.
- DICOM (pydicom): first frame of a multi-frame file (with a note); modality LUT, then the
  file's VOI LUT or window (or, without one, a 0.5–99.5 percentile window); MONOCHROME1
  inverted explicitly (``apply_voi_lut`` does not); scaled to 8 bits. Compressed transfer
  syntaxes decode through pydicom's plugins (python-gdcm covers JPEG Lossless and JPEG 2000),
  and what they cannot (12-bit JPEG Extended) through GDCM itself: see
  :mod:`data.dicom_decoding`, which also refuses a ``.dcm`` that is not DICOM at all.
- Limits: files over ``MAX_FILE_BYTES`` and images over ``MAX_PIXELS`` are refused before
  their pixels are decoded (decompression bombs).

Every failure (missing, empty, truncated, corrupt, not an image, too large, undecodable)
raises :class:`data.errors.ImageLoadError` naming the file and the reason. Only an
allow-list of DICOM attributes is ever read out (:func:`dicom_safe_metadata`): no patient
identifier leaves this module.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict

from data.dicom_decoding import DICOM_SUFFIXES, decode_pixels, read_dataset
from data.errors import ImageLoadError

log = logging.getLogger(__name__)

MAX_PIXELS = 64_000_000  # 8,000 × 8,000: larger than any radiograph detector
MAX_FILE_BYTES = 512 * 1024 * 1024
RASTER_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
IMAGE_SUFFIXES = DICOM_SUFFIXES | RASTER_SUFFIXES

# The only DICOM attributes ever copied out of a file (none identifies a patient).
DICOM_SAFE_ATTRIBUTES: tuple[str, ...] = (
    "Modality",
    "ViewPosition",
    "BodyPartExamined",
    "PhotometricInterpretation",
    "BitsStored",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "SamplesPerPixel",
)

ImageFormat = Literal["png", "jpeg", "dicom", "tiff", "bmp", "other"]


class ImageInfo(BaseModel):
    """What was read and what was done to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    format: ImageFormat
    width: int
    height: int
    source_mode: str  # pillow mode ("L", "I;16", "RGB") or DICOM "MONOCHROME1 15-bit"
    frames: int = 1
    modality: str | None = None
    view: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # 2-D uint8, rows × columns
    info: ImageInfo


def _check_file(path: Path, max_bytes: int) -> int:
    if not path.exists():
        if path.is_symlink():
            raise ImageLoadError(path, "a broken symbolic link (it loops, or its target is missing)")
        raise ImageLoadError(path, "file not found")
    if not path.is_file():
        raise ImageLoadError(path, "not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise ImageLoadError(path, "file is empty (0 bytes)")
    if size > max_bytes:
        raise ImageLoadError(path, f"file is {size:,} bytes, over the {max_bytes:,}-byte limit")
    return size


def is_dicom(path: Path) -> bool:
    """True for a file with the DICOM preamble ("DICM" at byte 128) or a DICOM suffix."""
    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM" or path.suffix.lower() in DICOM_SUFFIXES


def load_image(
    path: str | Path, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_FILE_BYTES
) -> LoadedImage:
    """Read an image as 2-D uint8 grayscale plus a record of what was done."""
    path = Path(path)
    _check_file(path, max_bytes)
    if is_dicom(path):
        return _load_dicom(path, max_pixels)
    return _load_raster(path, max_pixels)


def read_header(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> ImageInfo:
    """Size, format and view without decoding pixels (orientation-corrected for EXIF)."""
    path = Path(path)
    _check_file(path, max_bytes)
    if is_dicom(path):
        ds, _ = read_dataset(path, stop_before_pixels=True)
        meta = dicom_safe_metadata(ds)
        rows, cols = meta.get("Rows"), meta.get("Columns")
        if not isinstance(rows, int) or not isinstance(cols, int):
            raise ImageLoadError(path, "DICOM file has no Rows/Columns: it holds no image")
        return ImageInfo(
            path=str(path),
            format="dicom",
            width=cols,
            height=rows,
            source_mode=str(meta.get("PhotometricInterpretation", "")),
            frames=int(meta.get("NumberOfFrames") or 1),  # type: ignore[arg-type]
            modality=_str_or_none(meta.get("Modality")),
            view=_str_or_none(meta.get("ViewPosition")),
        )
    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientation that swaps the axes
                width, height = height, width
            return ImageInfo(
                path=str(path),
                format=_raster_format(img.format),
                width=width,
                height=height,
                source_mode=img.mode,
            )
    except UnidentifiedImageError as error:
        raise ImageLoadError(path, "not a PNG, JPEG or DICOM image") from error
    except Image.DecompressionBombError as error:
        raise _bomb(path, MAX_PIXELS, error) from error
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageLoadError(path, f"unreadable image header ({error})") from error


def _bomb(path: Path, max_pixels: int, error: Exception) -> ImageLoadError:
    """Pillow refuses a header far past its own limit before ours is checked; name ours."""
    return ImageLoadError(
        path, f"refused as a possible decompression bomb: over the {max_pixels:,}-pixel limit ({error})"
    )


def _str_or_none(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _raster_format(name: str | None) -> ImageFormat:
    known: dict[str, ImageFormat] = {
        "PNG": "png",
        "JPEG": "jpeg",
        "MPO": "jpeg",
        "TIFF": "tiff",
        "BMP": "bmp",
    }
    return known.get(name or "", "other")


def to_uint8(values: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    """Scale an array linearly so ``low`` → 0 and ``high`` → 255 (defaults: its min and max), clipped."""
    data = values.astype(np.float64, copy=False)
    lo = float(np.nanmin(data)) if low is None else low
    hi = float(np.nanmax(data)) if high is None else high
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        return np.zeros(data.shape, dtype=np.uint8)
    scaled = (np.clip(data, lo, hi) - lo) * (255.0 / (hi - lo))
    return np.nan_to_num(np.rint(scaled), nan=0.0).astype(np.uint8)


def _load_raster(path: Path, max_pixels: int) -> LoadedImage:
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                width, height = opened.size
                if width * height > max_pixels:
                    raise ImageLoadError(
                        path, f"image is {width}×{height} pixels, over the {max_pixels:,}-pixel limit"
                    )
                fmt = _raster_format(opened.format)
                source_mode = opened.mode
                frames = int(getattr(opened, "n_frames", 1) or 1)
                opened.load()
                img = ImageOps.exif_transpose(opened)
                if img is None:
                    img = opened
                orientation = opened.getexif().get(0x0112)
                if orientation not in (None, 1):
                    notes.append(f"EXIF orientation {orientation} applied")
                if frames > 1:
                    notes.append(f"{frames} frames: using the first")
                pixels = _raster_to_gray(img, notes)
    except ImageLoadError:
        raise
    except UnidentifiedImageError as error:
        raise ImageLoadError(path, "not a PNG, JPEG or DICOM image") from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _bomb(path, max_pixels, error) from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        reason = str(error) or type(error).__name__
        if "truncated" in reason.lower():
            reason = f"file is truncated ({reason})"
        raise ImageLoadError(path, f"corrupt or truncated image: {reason}") from error
    height, width = pixels.shape
    info = ImageInfo(
        path=str(path),
        format=fmt,
        width=width,
        height=height,
        source_mode=source_mode,
        frames=frames,
        notes=tuple(notes),
    )
    return LoadedImage(pixels=pixels, info=info)


def _raster_to_gray(img: Image.Image, notes: list[str]) -> np.ndarray:
    mode = img.mode
    if mode == "L":
        return np.asarray(img, dtype=np.uint8).copy()
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(img)
        notes.append(f"{mode} image scaled from its range {array.min()}–{array.max()} to 8 bits")
        return to_uint8(array)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        notes.append(f"{mode} image: alpha channel dropped")
    if mode == "1":
        return np.asarray(img.convert("L"), dtype=np.uint8).copy()
    notes.append(f"{mode} image converted to grayscale")
    return np.asarray(img.convert("RGB").convert("L"), dtype=np.uint8).copy()


def dicom_safe_metadata(ds: Any) -> dict[str, str | int]:
    """The allow-listed, non-identifying attributes of a DICOM dataset."""
    out: dict[str, str | int] = {}
    for name in DICOM_SAFE_ATTRIBUTES:
        value = ds.get(name)
        if value is None or value == "":
            continue
        out[name] = int(value) if isinstance(value, int) else str(value)
    return out


def _load_dicom(path: Path, max_pixels: int) -> LoadedImage:
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    ds, notes = read_dataset(path)
    meta = dicom_safe_metadata(ds)
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise ImageLoadError(path, "DICOM file holds no pixel data")
    rows, cols = int(meta.get("Rows", 0)), int(meta.get("Columns", 0))
    frames = int(meta.get("NumberOfFrames", 1) or 1)
    if rows * cols * max(1, frames) > max_pixels * 4 or rows * cols > max_pixels:
        raise ImageLoadError(
            path, f"image is {cols}×{rows}×{frames} pixels, over the {max_pixels:,}-pixel limit"
        )
    array, decoding = decode_pixels(ds, path)
    notes = [*(f"pydicom: {message}" for message in notes), *decoding]
    samples = int(meta.get("SamplesPerPixel", 1) or 1)
    if frames > 1:
        array = array[0]
        notes.append(f"multi-frame DICOM ({frames} frames): using the first frame")
    photometric = str(meta.get("PhotometricInterpretation", "MONOCHROME2"))
    if samples > 1 or array.ndim == 3:
        notes.append(f"{photometric} colour DICOM converted to grayscale")
        gray = np.asarray(Image.fromarray(to_uint8(array) if array.dtype != np.uint8 else array).convert("L"))
        return LoadedImage(pixels=gray.copy(), info=_dicom_info(path, meta, gray, notes))
    if array.ndim != 2:
        raise ImageLoadError(path, f"unexpected DICOM pixel array shape {array.shape}")

    values = apply_modality_lut(array, ds)
    has_voi = "VOILUTSequence" in ds or "WindowCenter" in ds
    if has_voi:
        values = apply_voi_lut(values, ds, index=0)
        notes.append("VOI LUT applied" if "VOILUTSequence" in ds else "DICOM window centre/width applied")
        pixels = to_uint8(values)
    else:
        low, high = np.percentile(values, [0.5, 99.5])
        pixels = to_uint8(values, float(low), float(high))
        notes.append("no window in the file: windowed to the 0.5–99.5 percentile range")
    bits = meta.get("BitsStored")
    if isinstance(bits, int) and bits > 8:
        notes.append(f"{bits}-bit pixels scaled to 8 bits")
    if photometric == "MONOCHROME1":
        pixels = 255 - pixels
        notes.append("MONOCHROME1 inverted so that bone is bright")
    return LoadedImage(pixels=np.ascontiguousarray(pixels), info=_dicom_info(path, meta, pixels, notes))


def _dicom_info(path: Path, meta: dict[str, str | int], pixels: np.ndarray, notes: list[str]) -> ImageInfo:
    bits = meta.get("BitsStored")
    photometric = str(meta.get("PhotometricInterpretation", ""))
    return ImageInfo(
        path=str(path),
        format="dicom",
        width=int(pixels.shape[1]),
        height=int(pixels.shape[0]),
        source_mode=f"{photometric} {bits}-bit".strip() if bits else photometric,
        frames=int(meta.get("NumberOfFrames", 1) or 1),
        modality=_str_or_none(meta.get("Modality")),
        view=_str_or_none(meta.get("ViewPosition")),
        notes=tuple(notes),
    )
