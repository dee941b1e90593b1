"""Image loading: PNG/JPEG/DICOM become 2-D uint8 with notes; every bad file is a typed error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.uid import JPEGExtended12Bit

from data.dicom_decoding import decode_pixels
from data.errors import ImageLoadError
from data.images import dicom_safe_metadata, load_image, read_header
from tests.data.conftest import gradient, write_png
from tests.data.image_files import (
    SOF1,
    chest_like,
    jpeg_sample_precision,
    twelve_bit_pixels,
    write_dicom,
    write_huge_png,
    write_jpeg_extended_12bit,
    write_truncated_jpeg_extended,
    write_truncated_png,
)


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

    def test_a_dicom_file_without_the_preamble_still_loads(self, tmp_path: Path) -> None:
        ds = pydicom.dcmread(write_dicom(tmp_path / "dx.dcm", chest_like()))
        ds.preamble = None
        ds.save_as(tmp_path / "bare.dcm", enforce_file_format=False)
        head = (tmp_path / "bare.dcm").read_bytes()[:132]
        assert head[128:132] != b"DICM" and head[:2] == b"\x02\x00"  # starts with the file meta group
        assert load_image(tmp_path / "bare.dcm").pixels.shape == (64, 80)

    def test_no_patient_identifier_is_read_out(self, tmp_path: Path) -> None:
        path = write_dicom(tmp_path / "dx.dcm", chest_like())
        meta = dicom_safe_metadata(pydicom.dcmread(path))
        assert meta["Modality"] == "DX" and meta["ViewPosition"] == "PA"
        text = repr(meta) + repr(load_image(path).info)
        for identifier in ("Doe", "MRN-12345", "19700101"):
            assert identifier not in text


def _truncated_dicom(path: Path) -> None:
    source = write_dicom(path.with_suffix(".full.dcm"), chest_like())
    path.write_bytes(source.read_bytes()[:-2000])


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("missing.png", lambda p: None, "file not found"),
        ("empty.png", lambda p: p.write_bytes(b""), "empty"),
        ("notes.png", lambda p: p.write_text("not an image at all"), "not a PNG, JPEG or DICOM image"),
        ("truncated.png", write_truncated_png, "truncated"),
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


class TestTwelveBitJpegExtended:
    """1.2.840.10008.1.2.4.51 with 12-bit samples: every pydicom plugin refuses it, GDCM reads it."""

    def test_the_fixture_is_a_real_12_bit_jpeg_extended_file_pydicom_cannot_decode(
        self, tmp_path: Path
    ) -> None:
        path = write_jpeg_extended_12bit(tmp_path / "j12.dcm", twelve_bit_pixels())
        ds = pydicom.dcmread(path)
        assert (ds.file_meta.TransferSyntaxUID, ds.BitsAllocated, ds.BitsStored) == (
            JPEGExtended12Bit,
            16,
            12,
        )
        assert jpeg_sample_precision(path) == (SOF1, 12)
        with pytest.raises(RuntimeError, match="12-bit precision"):
            ds.pixel_array  # noqa: B018  (the property decodes)

    def test_it_decodes_through_gdcm_within_the_lossy_codec_s_error(self, tmp_path: Path) -> None:
        truth = twelve_bit_pixels()
        path = write_jpeg_extended_12bit(tmp_path / "j12.dcm", truth)
        array, notes = decode_pixels(pydicom.dcmread(path), path)
        assert array.shape == truth.shape and array.dtype == np.uint16
        assert np.abs(array.astype(int) - truth.astype(int)).max() <= 2
        assert notes[0].startswith("JPEG Extended (Process 2 and 4) decoded by GDCM directly")

    def test_pydicoms_reference_file_decodes_to_its_published_values(self) -> None:
        path = get_testdata_file("JPGExtended.dcm")
        assert path is not None, "pydicom ships its test files"
        array, _ = decode_pixels(pydicom.dcmread(path), Path(path))
        assert (array.shape, int(array[420, 140]), int(array[230, 120])) == ((1024, 256), 244, 95)

    def test_it_loads_with_nothing_on_stderr(self, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
        loaded = load_image(write_jpeg_extended_12bit(tmp_path / "j12.dcm", twelve_bit_pixels()))
        capfd.readouterr()  # encoding the fixture may talk; loading it must not
        loaded = load_image(tmp_path / "j12.dcm")
        assert loaded.pixels.shape == (64, 48)
        assert capfd.readouterr() == ("", "")
        assert "12-bit pixels scaled to 8 bits" in loaded.info.notes

    def test_a_truncated_one_is_one_error_with_every_decoder_s_reason_and_nothing_on_stderr(
        self, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
    ) -> None:
        path = write_truncated_jpeg_extended(tmp_path / "cut.dcm")
        capfd.readouterr()
        with pytest.raises(ImageLoadError) as caught:
            load_image(path)
        reason = caught.value.reason
        assert reason.startswith(
            "cannot decode the JPEG Extended (Process 2 and 4) pixel data: pydicom (gdcm: "
        )
        assert "pillow: Pillow does not support" in reason
        assert reason.endswith("GDCM (it could not decode the pixel data)")
        assert "install python-gdcm" not in reason
        assert capfd.readouterr() == ("", "")
        assert not [r for r in caplog.records if r.name.startswith("pydicom")]


@pytest.mark.parametrize(
    ("content", "suffix"),
    [(b"Left pneumothorax.\n", ".dcm"), (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, ".dicom")],
    ids=["text", "png-bytes"],
)
def test_a_file_named_dicom_that_is_not_says_so(tmp_path: Path, content: bytes, suffix: str) -> None:
    path = tmp_path / f"scan{suffix}"
    path.write_bytes(content)
    for read in (load_image, read_header):
        with pytest.raises(ImageLoadError, match="not a DICOM file"):
            read(path)


def test_a_symlink_loop_is_named_as_one(tmp_path: Path) -> None:
    path = tmp_path / "loop.png"
    path.symlink_to(path)
    with pytest.raises(ImageLoadError, match="a broken symbolic link"):
        load_image(path)


def test_a_header_far_past_the_limits_names_ours(tmp_path: Path) -> None:
    path = write_huge_png(tmp_path / "huge.png")
    for read in (load_image, read_header):
        with pytest.raises(ImageLoadError, match="over the 64,000,000-pixel limit"):
            read(path)
