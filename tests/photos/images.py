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


# The astronaut's face in skimage.data.astronaut() (512 x 512): hairline to chin, ear to ear
# (tools/generators/blur_evalset.py), and the head-and-shoulders crop pasted around it.
ASTRONAUT_FACE = (178, 62, 272, 182)
ASTRONAUT_CROP = (118, 0, 332, 240)


def street_with_a_face(
    size=(1200, 800), at=(200, 150), scale: float = 1.0
) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """A street drawn here (sky, buildings with windows, road) with a passer-by's head and
    shoulders (scikit-image's astronaut, Eileen Collins, NASA, public domain) pasted at
    ``at``; returns the image and where the face is, in fractions of its size."""
    from PIL import ImageDraw
    from skimage import data

    width, height = size
    image = Image.new("RGB", size, (150, 190, 230))
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate(((200, 170, 140), (180, 150, 120), (210, 200, 180))):
        x0 = i * width // 3
        draw.rectangle((x0, height // 10, x0 + width // 3 - 20, height * 13 // 20), fill=colour)
        for row in range(4):
            for col in range(4):
                x, y = x0 + 30 + col * (width // 14), height // 7 + row * (height // 8)
                draw.rectangle((x, y, x + width // 24, y + height // 13), fill=(90, 110, 140))
    draw.rectangle((0, height * 13 // 20, width, height), fill=(70, 70, 75))
    head = Image.fromarray(data.astronaut()).crop(ASTRONAUT_CROP)
    head = head.resize((round(head.width * scale), round(head.height * scale)))
    image.paste(head, at)
    left, top, right, bottom = (
        (ASTRONAUT_FACE[0] - ASTRONAUT_CROP[0]) * scale + at[0],
        (ASTRONAUT_FACE[1] - ASTRONAUT_CROP[1]) * scale + at[1],
        (ASTRONAUT_FACE[2] - ASTRONAUT_CROP[0]) * scale + at[0],
        (ASTRONAUT_FACE[3] - ASTRONAUT_CROP[1]) * scale + at[1],
    )
    return image, (left / width, top / height, right / width, bottom / height)
