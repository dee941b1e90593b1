"""Image loading: PNG/JPEG/DICOM become 2-D uint8 with notes; every bad file is a typed error."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from data.errors import ImageLoadError
from data.images import dicom_safe_metadata, load_image, read_header
from tests.data.conftest import gradient, write_png

DX_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"


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


class TestRaster:
    def test_an_8_bit_png_loads_as_is(self, tmp_path: Path) -> None:
        pixels = gradient()
        loaded = load_image(write_png(tmp_path / "g.png", pixels))
        assert np.array_equal(loaded.pixels, pixels)
        assert (loaded.info.format, loaded.info.size, loaded.info.notes) == ("png", (64, 48), ())

    def test_a_16_bit_png_is_scaled_to_8_bits(self, tmp_path: Path) -> None:
        path = tmp_path / "deep.png"
        Image.fromarray(chest_like().astype(np.uint16)).save(path)
        loaded = load_image(path)
        assert loaded.pixels.dtype == np.uint8
        assert (loaded.pixels.min(), loaded.pixels.max()) == (0, 255)
        assert any("8 bits" in note for note in loaded.info.notes)

    @pytest.mark.parametrize("mode", ["RGB", "RGBA", "P"], ids=["rgb", "rgba", "palette"])
    def test_colour_images_become_grayscale(self, tmp_path: Path, mode: str) -> None:
        path = tmp_path / f"colour-{mode}.png"
        Image.fromarray(gradient()).convert(mode).save(path)
        loaded = load_image(path)
        assert loaded.pixels.ndim == 2
        assert np.abs(loaded.pixels.astype(int) - gradient().astype(int)).max() <= 2
        assert any("grayscale" in note for note in loaded.info.notes)

    def test_exif_orientation_is_applied(self, tmp_path: Path) -> None:
        wide = np.zeros((20, 40), dtype=np.uint8)
        wide[:, :10] = 255  # bright on the left
        image = Image.fromarray(wide)
        exif = image.getexif()
        exif[0x0112] = 6  # rotate 90° clockwise to display
        path = tmp_path / "rotated.jpg"
        image.save(path, exif=exif, quality=95)
        assert read_header(path).size == (20, 40)
        loaded = load_image(path)
        assert loaded.pixels.shape == (40, 20)
        assert loaded.pixels[:10].mean() > 200  # the bright left edge is now at the top
        assert any("EXIF orientation 6" in note for note in loaded.info.notes)


class TestDicom:
    def test_the_real_chest_cr_loads_with_monochrome1_inverted(self) -> None:
        path = get_testdata_file("RG1_UNCR.dcm")
        assert path is not None, "pydicom-data is a test dependency"
        loaded = load_image(path)
        assert loaded.pixels.shape == (1955, 1841) and loaded.pixels.dtype == np.uint8
        assert loaded.info.modality == "CR"
        assert any("MONOCHROME1 inverted" in note for note in loaded.info.notes)
        ds = pydicom.dcmread(path)
        raw = ds.pixel_array
        # Where the stored values are lowest (bright in MONOCHROME1), the output must be bright.
        assert (
            loaded.pixels[raw < np.percentile(raw, 5)].mean()
            > loaded.pixels[raw > np.percentile(raw, 95)].mean()
        )

    @pytest.mark.parametrize(
        ("photometric", "bright_where"),
        [("MONOCHROME2", "band"), ("MONOCHROME1", "background")],
        ids=["monochrome2", "monochrome1-inverted"],
    )
    def test_dx_files_show_high_values_bright_unless_monochrome1(
        self, tmp_path: Path, photometric: str, bright_where: str
    ) -> None:
        path = write_dicom(tmp_path / "dx.dcm", chest_like(), photometric=photometric)
        pixels = load_image(path).pixels
        band, background = pixels[:, :20].mean(), pixels[:, 40:].mean()
        assert (band > background) == (bright_where == "band")

    def test_a_window_in_the_file_is_applied(self, tmp_path: Path) -> None:
        pixels = np.tile(np.linspace(0, 4000, 80).astype(np.uint16), (64, 1))
        path = write_dicom(tmp_path / "window.dcm", pixels, window=(1000, 400))
        loaded = load_image(path)
        row = loaded.pixels[0].astype(int)
        assert row[:15].max() == 0 and row[-40:].min() == 255  # below/above the window clip
        assert "DICOM window centre/width applied" in loaded.info.notes

    def test_a_voi_lut_given_as_bytes_is_applied(self, tmp_path: Path) -> None:
        lut = np.concatenate([np.zeros(2048), np.full(2048, 65535)]).astype(np.uint16)  # a step at 2048
        pixels = np.tile(np.linspace(0, 4095, 80).astype(np.uint16), (64, 1))
        loaded = load_image(write_dicom(tmp_path / "lut.dcm", pixels, voi_lut=lut))
        row = loaded.pixels[0]
        assert set(np.unique(row)) == {0, 255}
        assert "VOI LUT applied" in loaded.info.notes

    def test_16_bit_pixels_become_8_bit_with_a_note(self, tmp_path: Path) -> None:
        loaded = load_image(write_dicom(tmp_path / "deep.dcm", chest_like(high=60000), bits_stored=16))
        assert loaded.pixels.dtype == np.uint8
        assert "16-bit pixels scaled to 8 bits" in loaded.info.notes

    def test_a_multi_frame_file_shows_its_first_frame_with_a_note(self, tmp_path: Path) -> None:
        frames = np.stack([chest_like(), chest_like()[:, ::-1]])
        loaded = load_image(write_dicom(tmp_path / "frames.dcm", frames))
        assert loaded.pixels[:, :20].mean() > loaded.pixels[:, 40:].mean()  # the first frame's layout
        assert any("2 frames" in note for note in loaded.info.notes)

    def test_compressed_transfer_syntaxes_decode(self) -> None:
        for name in ("RG1_J2KR.dcm", "JPEG-LL.dcm"):
            path = get_testdata_file(name)
            assert path is not None
            assert load_image(path).pixels.ndim == 2

    def test_no_patient_identifier_is_read_out(self, tmp_path: Path) -> None:
        path = write_dicom(tmp_path / "dx.dcm", chest_like())
        meta = dicom_safe_metadata(pydicom.dcmread(path))
        assert meta["Modality"] == "DX" and meta["ViewPosition"] == "PA"
        text = repr(meta) + repr(load_image(path).info)
        for identifier in ("Doe", "MRN-12345", "19700101"):
            assert identifier not in text


def _truncated_png(path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(gradient(256, 256)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[:300])


def _truncated_dicom(path: Path) -> None:
    source = write_dicom(path.with_suffix(".full.dcm"), chest_like())
    path.write_bytes(source.read_bytes()[:-2000])


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("missing.png", lambda p: None, "file not found"),
        ("empty.png", lambda p: p.write_bytes(b""), "empty"),
        ("notes.png", lambda p: p.write_text("not an image at all"), "not a PNG, JPEG or DICOM image"),
        ("truncated.png", _truncated_png, "truncated"),
        pytest.param(
            "garbage.dcm",
            lambda p: p.write_bytes(b"\x00" * 128 + b"DICM" + b"\xff" * 50),
            "DICOM",
            marks=pytest.mark.filterwarnings("ignore:End of file reached:UserWarning"),
        ),
        ("truncated.dcm", _truncated_dicom, "DICOM pixel data"),
    ],
    ids=["missing", "zero-bytes", "not-an-image", "truncated-png", "corrupt-dicom", "truncated-dicom"],
)
def test_a_bad_file_raises_an_error_naming_the_file_and_the_reason(
    tmp_path: Path, name: str, make: object, reason: str
) -> None:
    path = tmp_path / name
    make(path)  # type: ignore[operator]
    with pytest.raises(ImageLoadError) as caught:
        load_image(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


@pytest.mark.parametrize("suffix", ["png", "dcm"], ids=["png", "dicom"])
def test_images_over_the_pixel_limit_are_refused_before_decoding(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"big.{suffix}"
    if suffix == "png":
        write_png(path, gradient(400, 300))
    else:
        write_dicom(path, chest_like(400, 300))
    with pytest.raises(ImageLoadError, match="over the 10,000-pixel limit"):
        load_image(path, max_pixels=10_000)


def test_files_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    path = write_png(tmp_path / "g.png", gradient())
    with pytest.raises(ImageLoadError, match="over the 10-byte limit"):
        load_image(path, max_bytes=10)
