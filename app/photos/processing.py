"""Turning an upload into display and thumbnail JPEGs with no metadata. Pure functions.

The real format is read from the content; decompression bombs and oversize images are
refused before decoding; JPEGs are decoded at a reduced DCT scale (``Image.draft``) and
resized with ``reducing_gap``, so a 12-megapixel photo costs a fraction of a full decode.
"""

import io
import math
import warnings
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000
DISPLAY_SIDE = 2048
# Smallest share of DISPLAY_SIDE a reduced JPEG decode may give (see process()).
DRAFT_FLOOR = 0.9
THUMB_SIDE = 400
QUALITY = 85


class Rejected(Exception):
    """The upload cannot become a photo; ``reason`` is a stable code shown to the uploader."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Processed:
    """``display`` and ``thumbnail`` as JPEGs, and ``image``, the display-size image they
    were made from (oriented, RGB or L), with its colour profile ``icc``: nothing blurred."""

    display: bytes
    thumbnail: bytes
    width: int
    height: int
    gps: tuple[float, float] | None
    image: Image.Image
    icc: bytes | None


def process(data: bytes) -> Processed:
    """Display (longest side 2048) and thumbnail (400) JPEGs, oriented, without metadata."""
    if len(data) > MAX_BYTES:
        raise Rejected("too_large", f"{len(data)} bytes; at most {MAX_BYTES}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError as exc:
        raise Rejected("unsupported_format", "not a JPEG, PNG, WebP or HEIC image") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Rejected("too_many_pixels", str(exc)) from exc
    if image.width * image.height > MAX_PIXELS:
        raise Rejected(
            "too_many_pixels", f"{image.width}x{image.height}; at most {MAX_PIXELS} pixels"
        )
    gps = _gps(image)
    orientation = image.getexif().get(0x0112, 1)
    icc = image.info.get("icc_profile")
    try:
        if image.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale in the DCT domain while the result keeps at
            # least 90% of the display size: a 4032x3024 photo decodes at 2016x1512.
            image.draft("RGB", _draft_size(image.size))
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise Rejected("corrupt", "the file is truncated or damaged") from exc
    image = _oriented(image, orientation)
    if image.mode not in ("RGB", "L"):
        image = _flatten(image)
    image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    display, thumbnail = variants(image, icc)
    return Processed(display, thumbnail, image.width, image.height, gps, image, icc)


def variants(image: Image.Image, icc: bytes | None) -> tuple[bytes, bytes]:
    """The display and thumbnail JPEGs of a display-size image (left alone)."""
    display = _jpeg(image.copy(), icc)
    small = image.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return display, _jpeg(small, icc)


def reopened(data: bytes) -> tuple[Image.Image, bytes | None]:
    """A display JPEG this module wrote (a kept original), decoded again, and its colour
    profile."""
    image = Image.open(io.BytesIO(data), formats=("JPEG",))
    image.load()
    return image, image.info.get("icc_profile")


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    scale = min(1.0, DRAFT_FLOOR * DISPLAY_SIDE / max(size))
    return max(1, math.ceil(size[0] * scale)), max(1, math.ceil(size[1] * scale))


def _oriented(image: Image.Image, orientation: int) -> Image.Image:
    return image if orientation == 1 else ImageOps.exif_transpose(image)


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    # Pillow carries comments and XMP over from image.info: drop everything, keep pixels
    # (and the colour profile, when there is one).
    image.info = {}
    options = {"icc_profile": icc} if icc else {}
    image.save(out, format="JPEG", quality=QUALITY, **options)
    return out.getvalue()


def _gps(image: Image.Image) -> tuple[float, float] | None:
    """(lon, lat) from EXIF GPS, read before the metadata is dropped."""
    try:
        info = image.getexif().get_ifd(0x8825)
        lat = _degrees(info[2], info.get(1, "N"), "S")
        lon = _degrees(info[4], info.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0):
        return lon, lat
    return None


def _degrees(dms, ref, negative) -> float:
    degrees, minutes, seconds = (float(v) for v in dms)
    value = degrees + minutes / 60 + seconds / 3600
    ref = ref.decode() if isinstance(ref, bytes) else ref
    return -value if str(ref).strip().upper() == negative else value
