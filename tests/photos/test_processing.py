"""The photo pipeline as a pure function, on images made here."""

import io

import pytest
from PIL import Image

from app.photos import processing
from app.photos.processing import Rejected, process
from tests.photos.images import encoded, jpeg


def read(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def gps_exif(lat=47.322, lon=5.0415) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Camera app 1.0"  # Software
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", _dms(lat)
    gps[3], gps[4] = "E", _dms(lon)
    return exif


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), (value - degrees - minutes / 60) * 3600


def test_all_metadata_is_stripped_from_what_is_stored():
    source = jpeg(exif=gps_exif(), comment=b"taken at 12 rue X by Camille")
    assert read(source).getexif().get_ifd(0x8825)  # the source does carry GPS
    result = process(source)
    for data in (result.display, result.thumbnail):
        image = read(data)
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info and "comment" not in image.info
        assert "xmp" not in image.info and "XML:com.adobe.xmp" not in image.info
        assert b"Camille" not in data and b"PhoneMaker" not in data
        assert image.format == "JPEG"


def test_gps_is_read_before_stripping():
    lon, lat = process(jpeg(exif=gps_exif())).gps
    assert abs(lon - 5.0415) < 1e-4 and abs(lat - 47.322) < 1e-4
    assert process(jpeg()).gps is None


def test_the_exif_orientation_is_applied():
    # A landscape-stored image, red left half, that the camera says to rotate 90° clockwise.
    image = Image.new("RGB", (600, 400), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 300, 400))
    exif = Image.Exif()
    exif[0x0112] = 6
    result = read(process(encoded(image, "JPEG", exif=exif.tobytes(), quality=95)).display)
    assert result.size == (400, 600)
    red, blue = result.getpixel((200, 50)), result.getpixel((200, 550))
    assert red[0] > 200 and red[2] < 60  # the left half is now on top
    assert blue[2] > 200 and blue[0] < 60


def test_large_photos_get_a_display_and_a_thumbnail_size():
    result = process(jpeg(size=(4032, 3024)))
    display, thumbnail = read(result.display), read(result.thumbnail)
    assert 0.9 * 2048 <= max(display.size) <= 2048
    assert (result.width, result.height) == display.size
    assert max(thumbnail.size) == 400


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_png_webp_and_heic_are_accepted(fmt):
    image = Image.new("RGBA" if fmt == "PNG" else "RGB", (300, 200), (10, 120, 200, 128))
    result = process(encoded(image, fmt))
    assert read(result.display).size == (300, 200)
    assert read(result.display).mode == "RGB"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7 definitely not a picture", "unsupported_format"),
        (encoded(Image.new("RGB", (50, 50)), "GIF"), "unsupported_format"),  # GIF named .jpg
        (encoded(Image.new("RGB", (50, 50)), "BMP"), "unsupported_format"),
        (jpeg(size=(800, 600))[:3000], "corrupt"),  # truncated
        (b"", "unsupported_format"),
    ],
)
def test_what_is_not_an_allowed_image_is_rejected(data, reason):
    with pytest.raises(Rejected) as caught:
        process(data)
    assert caught.value.reason == reason


def test_a_decompression_bomb_is_rejected_before_decoding():
    bomb = encoded(Image.new("1", (10_000, 6_000)), "PNG")  # 60 Mpx in a few kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(Rejected) as caught:
        process(bomb)
    assert caught.value.reason == "too_many_pixels"


def test_an_oversize_file_is_rejected_unread():
    with pytest.raises(Rejected) as caught:
        process(b"\xff\xd8" + b"\0" * processing.MAX_BYTES)
    assert caught.value.reason == "too_large"
