"""Image files for tests, good and bad: DICOM written by hand, a real 12-bit JPEG Extended DICOM,
and the broken files a careless user (or an attacker) hands the loader.

Each maker writes one file at ``path`` and returns it.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import generate_frames
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, JPEGExtended12Bit, generate_uid

from tests.data.conftest import gradient

DX_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"
SOF1 = 0xC1  # JPEG marker: start of frame, extended sequential DCT (process 2 and 4)


def chest_like(width: int = 80, height: int = 64, high: int = 4000) -> np.ndarray:
    """16-bit pixels: a bright band (bone) on the left third, dark (lung) elsewhere."""
    pixels = np.full((height, width), high // 8, dtype=np.uint16)
    pixels[:, : width // 3] = high
    return pixels


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    window: tuple[float, float] | None = None,
    voi_lut: np.ndarray | None = None,
    modality: str = "DX",
) -> Path:
    """A minimal DX file, with patient identifiers that must never be read out."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = DX_IMAGE_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "MRN-12345"
    ds.PatientBirthDate = "19700101"
    ds.Modality = modality
    ds.ViewPosition = "PA"
    frames = pixels.shape[0] if pixels.ndim == 3 else 1
    ds.Rows, ds.Columns = pixels.shape[-2], pixels.shape[-1]
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if voi_lut is not None:
        item = Dataset()
        item.LUTDescriptor = [len(voi_lut), 0, 16]
        item.LUTData = voi_lut.astype("<u2").tobytes()  # the LUT as raw bytes (OW), as scanners write it
        item["LUTData"].VR = "OW"
        ds.VOILUTSequence = Sequence([item])
    ds.PixelData = pixels.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def write_dicom_without_pixels(path: Path) -> Path:
    """A valid DICOM file (a DX header) that holds no Pixel Data element."""
    source = pydicom.dcmread(write_dicom(path, chest_like()))
    del source.PixelData
    source.save_as(path)
    return path


def twelve_bit_pixels(width: int = 48, height: int = 64) -> np.ndarray:
    """Smooth 12-bit pixels over the whole 0–4095 range (a lossy codec keeps them within a few)."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.clip(cols * 4000 // width + rows * 2, 0, 4095).astype(np.uint16)


def jpeg_sample_precision(path: Path) -> tuple[int, int]:
    """(SOF marker, sample precision) of the first frame's JPEG stream in a DICOM file."""
    ds = pydicom.dcmread(path)
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    offset = 2  # after SOI
    while offset < len(frame):
        marker = frame[offset + 1]
        length = int.from_bytes(frame[offset + 2 : offset + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker, frame[offset + 4]
        offset += 2 + length
    raise ValueError(f"{path} has no JPEG start-of-frame marker")


def write_jpeg_extended_12bit(path: Path, pixels: np.ndarray) -> Path:
    """A real JPEG Extended (process 2 and 4, 1.2.840.10008.1.2.4.51) DICOM with 12-bit samples.

    GDCM encodes it: it picks its 8-, 12- or 16-bit JPEG codec from Bits Allocated, so the
    image is handed over as 12-bit allocated (a SOF1 stream with sample precision 12, as DICOM
    requires for this transfer syntax), and the file then states the 16-bit container that
    scanners write.
    """
    import gdcm

    raw = write_dicom(path.with_suffix(".uncompressed.dcm"), pixels, bits_stored=12)
    reader = gdcm.ImageReader()
    reader.SetFileName(str(raw))
    if not reader.Read():
        raise RuntimeError(f"GDCM could not read {raw}")
    image = reader.GetImage()
    image.SetPixelFormat(gdcm.PixelFormat(1, 12, 12, 11, 0))
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGExtendedProcess2_4))
    change.SetInput(image)
    if not change.Change():
        raise RuntimeError("GDCM could not encode JPEG Extended")
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(path))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    if not writer.Write():
        raise RuntimeError(f"GDCM could not write {path}")
    raw.unlink()
    ds = pydicom.dcmread(path)
    ds.BitsAllocated = 16
    ds.save_as(path)
    assert ds.file_meta.TransferSyntaxUID == JPEGExtended12Bit
    assert jpeg_sample_precision(path) == (SOF1, 12)
    return path


def write_truncated_jpeg_extended(path: Path) -> Path:
    """A 12-bit JPEG Extended DICOM whose JPEG stream stops after its headers."""
    ds = pydicom.dcmread(write_jpeg_extended_12bit(path, twelve_bit_pixels()))
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    cut = frame[: frame.index(b"\xff\xda") + 12]  # a few bytes into the scan
    ds.PixelData = pydicom.encaps.encapsulate([cut])
    ds.save_as(path)
    return path


def write_truncated_png(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.fromarray(gradient(256, 256)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[:300])
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_huge_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A few hundred bytes whose header claims ``width`` × ``height`` pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    body = _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + _png_chunk(b"IEND", b""))
    return path


def write_16bit_png(path: Path) -> Path:
    Image.fromarray(chest_like().astype(np.uint16)).save(path)
    return path


def write_multiframe_dicom(path: Path) -> Path:
    return write_dicom(path, np.stack([chest_like(), chest_like()[:, ::-1]]))
