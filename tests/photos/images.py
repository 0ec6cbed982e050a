"""Test images made on the fly (no binary fixtures in the repository)."""

import io

from PIL import Image


def jpeg(size=(640, 480), colour=(200, 40, 40), exif: Image.Exif | None = None, **save) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, colour)
    if exif is not None:
        save["exif"] = exif.tobytes()
    image.save(out, format="JPEG", quality=90, **save)
    return out.getvalue()


def encoded(image: Image.Image, fmt: str, **save) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()
