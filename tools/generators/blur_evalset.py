"""A labelled evaluation set for the face and plate detectors (app.photos.detection), made
from images that ship inside installed packages: nothing is downloaded, nothing is written.

Street-like scenes at the size the photo pipeline hands to the detector (2048 x 1536, the
display image): a sky, a brick facade with windows, a gravel road with lane markings, parked
cars. Into them go:

- faces: the astronaut of scikit-image's sample images (Eileen Collins, NASA, public domain),
  mirrored or not, and the 100 face crops of ``skimage.data.lfw_subset()`` (Labeled Faces in
  the Wild, 25 x 25 grey, tinted; used up to 100 px wide only: upscaled further they are a
  blur no one would call a face), scaled to 20-400 px wide, turned by up to 20 degrees;
- French plates "AA-123-AA" drawn here (white plate, blue EU band with "F" on the left, blue
  region band on the right, black characters in DejaVu Sans Condensed Bold when opencv-python
  ships it, else Pillow's own font) and warped in perspective (yaw, pitch, roll) to 40-300 px
  wide, on a car body;
- distractors that must not be blurred: road signs and shop signs with text (some in the
  plate's own letters-and-digits shape), grilles, the cat from scikit-image (an animal face),
  LFW's non-face crops, textures.

Each scene is lit one of four ways (normal, dark, bright, low contrast) and goes through a
JPEG round trip at the pipeline's quality. Negative scenes hold no face and no plate: they
measure false positives. The truth boxes are in the scene's pixels; a face's size is its box's
width, a plate's size its box's width, both in the display image the detector sees.

Same seed, same scenes (``numpy.random.default_rng`` and ``random.Random`` only).

    python -m tools.generators.blur_evalset OUT_DIR [--scenes 40] [--negatives 10] [--seed 18]
"""

import argparse
import io
import json
import math
import random
from collections.abc import Iterator
from dataclasses import asdict, astuple, dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont
from skimage import data

SIZE = (2048, 1536)
LIGHTINGS = ("normal", "dark", "bright", "low_contrast")
# Face widths and plate widths drawn evenly from these ranges (display pixels), so that every
# size bucket of the benchmark gets its share.
FACE_WIDTHS = ((20, 40), (40, 80), (80, 160), (160, 400))
PLATE_WIDTHS = ((40, 80), (80, 160), (160, 300))
# The astronaut's face in skimage.data.astronaut() (512 x 512), checked by eye: hairline to
# chin, ear to ear; and the head-and-shoulders crop pasted around it.
ASTRONAUT_FACE = (178, 62, 272, 182)
ASTRONAUT_CROP = (118, 0, 332, 240)
# Letters used on French SIV plates: no I, O, U.
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"
PLATE_SIZE = (1040, 220)  # 520 x 110 mm at 2 px / mm
EU_BLUE = (0, 51, 153)
SIGN_WORDS = (
    "RUE DE LA LIBERTÉ",
    "BOULANGERIE",
    "STOP",
    "PHARMACIE",
    "SORTIE 12",
    "PLACE DARCY",
    "PARKING",
    "TRAM T1",
    "RD 974",
    "ZONE 30",
)


@dataclass(frozen=True)
class Truth:
    """A face or a plate in a scene: its box in the scene's pixels."""

    kind: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left


@dataclass
class Scene:
    name: str
    image: Image.Image
    lighting: str
    truths: list[Truth] = field(default_factory=list)

    @property
    def negative(self) -> bool:
        return not self.truths


def scenes(
    seed: int = 18, count: int = 40, negatives: int = 10, size: tuple[int, int] = SIZE
) -> Iterator[Scene]:
    """``count`` scenes with faces and plates, then ``negatives`` with neither."""
    for index in range(count + negatives):
        rng = random.Random(f"{seed}:{index}")
        nrng = np.random.default_rng([seed, index])
        lighting = LIGHTINGS[index % len(LIGHTINGS)]
        scene = Scene(f"scene-{index:03d}", _street(rng, nrng, size), lighting)
        taken: list[tuple[float, float, float, float]] = []
        _distractors(scene.image, rng, nrng, taken, many=index >= count)
        if index < count:
            for slot in range(3):
                low, high = FACE_WIDTHS[(index * 3 + slot) % len(FACE_WIDTHS)]
                _place_face(scene, rng, nrng, rng.uniform(low, high), taken)
            for slot in range(2):
                low, high = PLATE_WIDTHS[(index * 2 + slot) % len(PLATE_WIDTHS)]
                _place_plate(scene, rng, rng.uniform(low, high), taken)
        scene.image = _lit(scene.image, lighting, nrng)
        yield scene


def plate_text(rng: random.Random) -> str:
    letters = lambda: "".join(rng.choice(PLATE_LETTERS) for _ in range(2))  # noqa: E731
    return f"{letters()}-{rng.randint(1, 999):03d}-{letters()}"


def french_plate(text: str, department: str = "21") -> Image.Image:
    """A French plate, front view, PLATE_SIZE pixels."""
    width, height = PLATE_SIZE
    plate = Image.new("RGB", PLATE_SIZE, (250, 250, 248))
    draw = ImageDraw.Draw(plate)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), 14, outline=(20, 20, 20), width=6)
    band = 92
    for x0 in (6, width - 6 - band):
        draw.rectangle((x0, 6, x0 + band, height - 7), fill=EU_BLUE)
    for star in range(12):  # the EU's circle of stars, as dots
        angle = 2 * math.pi * star / 12
        cx, cy = 6 + band / 2 + 24 * math.cos(angle), 62 + 24 * math.sin(angle)
        draw.ellipse((cx - 4, cy - 4, cx + 4, cy + 4), fill=(255, 204, 0))
    small = _font(64)
    draw.text((6 + band / 2, 170), "F", font=small, fill="white", anchor="mm")
    draw.text((width - 6 - band / 2, 160), department, font=_font(52), fill="white", anchor="mm")
    # The plate's font is narrow: draw the characters, then squeeze them into the white part.
    font = _font(170)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    glyphs = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(glyphs).text((-left, -top), text, font=font, fill=255)
    inner = width - 2 * (6 + band) - 60
    glyphs = glyphs.resize((inner, 150), Image.Resampling.LANCZOS)
    plate.paste((15, 15, 15), ((width - inner) // 2, (height - 150) // 2), glyphs)
    return plate


@cache
def _font_path() -> str | None:
    fonts = Path(cv2.__file__).parent / "qt" / "fonts" / "DejaVuSansCondensed-Bold.ttf"
    return str(fonts) if fonts.is_file() else None


def _font(size: int) -> ImageFont.FreeTypeFont:
    path = _font_path()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


@cache
def _faces() -> tuple[list[Image.Image], list[Image.Image]]:
    """(face patches, non-face patches) from LFW's subset: 100 of each, 25 x 25 grey."""
    crops = (data.lfw_subset() * 255).astype("uint8")
    return [Image.fromarray(c) for c in crops[:100]], [Image.fromarray(c) for c in crops[100:]]


@cache
def _texture(name: str) -> Image.Image:
    return Image.fromarray(getattr(data, name)()).convert("RGB")


def _street(rng: random.Random, nrng: np.random.Generator, size) -> Image.Image:
    width, height = size
    sky_end, road_start = (
        int(height * rng.uniform(0.12, 0.25)),
        int(height * rng.uniform(0.55, 0.7)),
    )
    rows = np.linspace(0, 1, sky_end)[:, None, None]
    top, bottom = np.array([90, 140, 210]), np.array([190, 210, 230])
    sky = np.broadcast_to(top + (bottom - top) * rows, (sky_end, width, 3))
    scene = Image.new("RGB", size)
    scene.paste(Image.fromarray(sky.astype("uint8")), (0, 0))
    facade = _tiled(_texture("brick"), (width, road_start - sky_end))
    tint = Image.new("RGB", facade.size, (rng.randint(150, 220), rng.randint(110, 170), 110))
    scene.paste(Image.blend(facade, tint, 0.45), (0, sky_end))
    draw = ImageDraw.Draw(scene)
    for column in range(rng.randint(4, 8)):  # windows with their frames
        x = int((column + 0.5) * width / 7 + rng.uniform(-40, 40))
        for level in range(2):
            y = sky_end + 60 + level * (road_start - sky_end) // 2
            w, h = rng.randint(120, 200), rng.randint(160, 260)
            draw.rectangle(
                (x, y, x + w, y + h), fill=(40, 50, 60), outline=(230, 230, 225), width=10
            )
            draw.line((x + w // 2, y, x + w // 2, y + h), fill=(230, 230, 225), width=8)
    road = _tiled(_texture("gravel"), (width, height - road_start))
    scene.paste(ImageEnhance.Color(road).enhance(0.2), (0, road_start))
    for x in range(rng.randint(0, 200), width, 400):
        y = road_start + (height - road_start) // 2
        draw.rectangle((x, y, x + 220, y + 22), fill=(235, 235, 230))
    return scene


def _tiled(texture: Image.Image, size) -> Image.Image:
    out = Image.new("RGB", size)
    for x in range(0, size[0], texture.width):
        for y in range(0, size[1], texture.height):
            out.paste(texture, (x, y))
    return out


def _free(taken, box, size) -> bool:
    left, top, right, bottom = box
    if left < 0 or top < 0 or right > size[0] or bottom > size[1]:
        return False
    return all(right < l or left > r or bottom < t or top > b for l, t, r, b in taken)  # noqa: E741


def _spot(rng, taken, w, h, size, tries=200):
    for _ in range(tries):
        x, y = rng.uniform(0, size[0] - w), rng.uniform(0, size[1] - h)
        box = (x - 8, y - 8, x + w + 8, y + h + 8)
        if _free(taken, box, size):
            taken.append(box)
            return int(x), int(y)
    return None


def _place_face(scene: Scene, rng, nrng, width: float, taken) -> None:
    """A head pasted at ``width`` px of face, turned by up to 20 degrees."""
    # LFW's crops are 25 px: past four times that they are a blur no one would call a face,
    # so the large faces are all the astronaut's (mirrored half of the time).
    if width > 100 or rng.random() < 0.25:
        head = Image.fromarray(data.astronaut()).crop(ASTRONAUT_CROP)
        face = ASTRONAUT_FACE
        if rng.random() < 0.5:
            head = head.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            mirror = ASTRONAUT_CROP[0] + ASTRONAUT_CROP[2]
            face = (mirror - face[2], face[1], mirror - face[0], face[3])
        fl, ft, fr, fb = (
            face[0] - ASTRONAUT_CROP[0],
            face[1] - ASTRONAUT_CROP[1],
            face[2] - ASTRONAUT_CROP[0],
            face[3] - ASTRONAUT_CROP[1],
        )
    else:
        grey = rng.choice(_faces()[0])
        skin = (rng.randint(120, 255), rng.randint(90, 200), rng.randint(70, 170))
        head = Image.merge(
            "RGB", [grey.point(lambda v, c=c: v * (0.55 + 0.45 * c / 255)) for c in skin]
        )
        fl, ft, fr, fb = 1, 1, 24, 25  # the crop is the face
    scale = width / (fr - fl)
    head = head.resize(
        (max(1, round(head.width * scale)), max(1, round(head.height * scale))),
        Image.Resampling.BICUBIC,
    )
    angle = rng.uniform(-20, 20)
    turned = head.convert("RGBA").rotate(angle, Image.Resampling.BICUBIC, expand=True)
    spot = _spot(rng, taken, turned.width, turned.height, scene.image.size)
    if spot is None:
        return
    scene.image.paste(turned, spot, turned)
    # The face's centre turns with the head; the box keeps the face's own size.
    cx, cy = (fl + fr) / 2 * scale - head.width / 2, (ft + fb) / 2 * scale - head.height / 2
    rad = math.radians(angle)
    tx = cx * math.cos(rad) + cy * math.sin(rad) + turned.width / 2 + spot[0]
    ty = -cx * math.sin(rad) + cy * math.cos(rad) + turned.height / 2 + spot[1]
    half_w, half_h = (fr - fl) * scale / 2, (fb - ft) * scale / 2
    scene.truths.append(Truth("face", tx - half_w, ty - half_h, tx + half_w, ty + half_h))


def _place_plate(scene: Scene, rng, width: float, taken) -> None:
    """A plate on a car body, warped so its bounding box is about ``width`` px wide."""
    plate = np.asarray(french_plate(plate_text(rng), rng.choice(("21", "71", "39", "75"))))
    pw, ph = PLATE_SIZE
    yaw, pitch, roll = rng.uniform(-45, 45), rng.uniform(-20, 20), rng.uniform(-10, 10)
    corners = np.array([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]])
    # Yaw: the far side shrinks; pitch: the top or bottom edge shrinks (a plate seen from a
    # few metres by a phone: the far edge is up to a fifth smaller).
    depth = 1 + np.sin(np.radians(yaw)) * corners[:, 0] / pw * 0.3
    depth *= 1 + np.sin(np.radians(pitch)) * corners[:, 1] / ph * 0.1
    squeezed = (
        np.stack(
            [corners[:, 0] * np.cos(np.radians(yaw)), corners[:, 1] * np.cos(np.radians(pitch))], 1
        )
        / depth[:, None]
    )
    r = np.radians(roll)
    rotated = squeezed @ np.array([[np.cos(r), np.sin(r)], [-np.sin(r), np.cos(r)]])
    rotated *= width / (rotated[:, 0].max() - rotated[:, 0].min())
    rotated -= rotated.min(axis=0)
    box_w, box_h = rotated.max(axis=0)
    body_w, body_h = int(box_w * rng.uniform(3.2, 4.5)), int(box_h * rng.uniform(3, 5) + 20)
    spot = _spot(rng, taken, body_w, body_h, scene.image.size)
    if spot is None:
        return
    colour = rng.choice(((180, 20, 30), (30, 30, 35), (200, 200, 205), (30, 60, 140), (90, 90, 95)))
    draw = ImageDraw.Draw(scene.image)
    radius = max(2, body_h // 6)
    draw.rounded_rectangle((*spot, spot[0] + body_w, spot[1] + body_h), radius, fill=colour)
    lamp = max(4, body_w // 8)
    for lx in (spot[0] + body_w // 14, spot[0] + body_w - body_w // 14 - lamp):
        draw.rectangle(
            (lx, spot[1] + body_h // 5, lx + lamp, spot[1] + body_h // 5 + lamp // 2),
            fill=(220, 150, 40),
        )
    ox = spot[0] + (body_w - box_w) / 2
    oy = spot[1] + body_h * 0.55 - box_h / 2
    target = (rotated + np.array([ox, oy])).astype(np.float32)
    source = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    # Warp into the plate's own neighbourhood only, then blend it in.
    x0, y0 = np.floor(target.min(axis=0)).astype(int)
    x1, y1 = np.ceil(target.max(axis=0)).astype(int) + 1
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    matrix = shift @ cv2.getPerspectiveTransform(source, target)
    roi = (int(x1 - x0), int(y1 - y0))
    warped = cv2.warpPerspective(plate, matrix, roi, flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), matrix, roi, flags=cv2.INTER_AREA)
    canvas = np.asarray(scene.image).copy()
    alpha = (mask / 255.0)[:, :, None]
    under = canvas[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1] = (under * (1 - alpha) + warped * alpha).astype("uint8")
    scene.image = Image.fromarray(canvas)
    left, top = target.min(axis=0)
    right, bottom = target.max(axis=0)
    scene.truths.append(Truth("plate", float(left), float(top), float(right), float(bottom)))


def _distractors(image: Image.Image, rng, nrng, taken, *, many: bool) -> None:
    """Text signs, a plate-shaped sign, a grille, the cat, non-face patches: never blurred."""
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(4, 7) if many else rng.randint(1, 3)):
        word = rng.choice(SIGN_WORDS)
        if rng.random() < 0.3:  # letters and digits shaped like a plate's, on a shop sign
            word = f"TEL 03 80 {rng.randint(10, 99)} {rng.randint(10, 99)}"
        size = rng.randint(24, 90)
        font = _font(size)
        w = int(draw.textlength(word, font=font)) + size
        h = int(size * 1.6)
        spot = _spot(rng, taken, w, h, image.size)
        if spot is None:
            continue
        ground = rng.choice(((250, 250, 245), (20, 90, 160), (200, 30, 40), (40, 120, 60)))
        ink = (15, 15, 15) if ground == (250, 250, 245) else (250, 250, 250)
        draw.rectangle((*spot, spot[0] + w, spot[1] + h), fill=ground)
        draw.text((spot[0] + w / 2, spot[1] + h / 2), word, font=font, fill=ink, anchor="mm")
    for _ in range(rng.randint(1, 3) if many else rng.randint(0, 1)):  # grilles
        w, h = rng.randint(150, 500), rng.randint(80, 300)
        spot = _spot(rng, taken, w, h, image.size)
        if spot:
            step = rng.randint(8, 24)
            for x in range(spot[0], spot[0] + w, step):
                draw.line((x, spot[1], x, spot[1] + h), fill=(30, 30, 30), width=max(2, step // 4))
    pictures = [("chelsea", 0.6), ("coffee", 0.3), ("rocket", 0.3), ("text", 0.6), ("page", 0.8)]
    for name, chance in pictures:
        if rng.random() < (chance if many else chance / 3):
            picture = _texture(name)
            scale = rng.uniform(0.4, 1.2)
            picture = picture.resize((int(picture.width * scale), int(picture.height * scale)))
            spot = _spot(rng, taken, picture.width, picture.height, image.size)
            if spot:
                image.paste(picture, spot)
    non_faces = _faces()[1]
    for _ in range(rng.randint(2, 6) if many else 1):
        patch = rng.choice(non_faces)
        side = rng.randint(30, 200)
        spot = _spot(rng, taken, side, side, image.size)
        if spot:
            image.paste(patch.resize((side, side), Image.Resampling.BICUBIC).convert("RGB"), spot)


def _lit(image: Image.Image, lighting: str, nrng: np.random.Generator) -> Image.Image:
    levels = np.arange(256, dtype=np.float32)
    if lighting == "dark":
        levels = 255 * (levels / 255) ** 1.8 * 0.55
    elif lighting == "bright":
        levels = 255 * (levels / 255) ** 0.6 * 1.05 + 15
    elif lighting == "low_contrast":
        levels = 128 + (levels - 128) * 0.4
    pixels = cv2.LUT(np.asarray(image), np.clip(levels, 0, 255).astype(np.uint8))
    # Sensor noise, stronger in the dark; then the lens's softness.
    noise = nrng.standard_normal(pixels.shape, dtype=np.float32) * (5 if lighting == "dark" else 3)
    pixels = cv2.add(pixels, noise, dtype=cv2.CV_8U)
    pixels = cv2.GaussianBlur(pixels, (0, 0), 0.6)
    lit = Image.fromarray(pixels)
    out = io.BytesIO()
    lit.save(out, format="JPEG", quality=85)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


FACE_BUCKETS = ((0, 40), (40, 80), (80, 160), (160, math.inf))
PLATE_BUCKETS = ((0, 80), (80, 160), (160, math.inf))
BUCKETS = {"face": FACE_BUCKETS, "plate": PLATE_BUCKETS}
# A truth is found when a detection of its kind overlaps it by this much (intersection over
# union), each detection finding at most one truth.
HIT_IOU = 0.3


@dataclass
class Tally:
    """One kind and size bucket: truths and how many were found; detections and how many
    were right (a detection's bucket is its truth's, or its own width when it found none)."""

    truths: int = 0
    found: int = 0
    detections: int = 0
    correct: int = 0

    @property
    def recall(self) -> float | None:
        return self.found / self.truths if self.truths else None

    @property
    def precision(self) -> float | None:
        return self.correct / self.detections if self.detections else None

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def bucket(kind: str, width: float) -> tuple[float, float]:
    return next(b for b in BUCKETS[kind] if b[0] <= width < b[1])


def tally(scene: Scene, found: list[Truth], tallies: dict | None = None) -> dict:
    """Adds ``found`` (detections in the scene's pixels) to ``tallies``, keyed (kind, bucket)."""
    tallies = {} if tallies is None else tallies
    for kind in BUCKETS:
        truths = [t for t in scene.truths if t.kind == kind]
        detections = sorted((d for d in found if d.kind == kind), key=lambda d: -d.width)
        matched: dict[int, Truth] = {}
        for truth in sorted(truths, key=lambda t: -t.width):
            best = max(
                (i for i in range(len(detections)) if i not in matched),
                key=lambda i: iou(truth, detections[i]),
                default=None,
            )
            hit = best is not None and iou(truth, detections[best]) >= HIT_IOU
            if hit:
                matched[best] = truth
            entry = tallies.setdefault((kind, bucket(kind, truth.width)), Tally())
            entry.truths += 1
            entry.found += hit
        for i, detection in enumerate(detections):
            width = matched[i].width if i in matched else detection.width
            entry = tallies.setdefault((kind, bucket(kind, width)), Tally())
            entry.detections += 1
            entry.correct += i in matched
    return tallies


def total(tallies: dict, kind: str, min_width: float = 0) -> Tally:
    """The tallies of ``kind`` over every bucket starting at ``min_width`` or above."""
    out = Tally()
    for (k, (low, _)), entry in tallies.items():
        if k == kind and low >= min_width:
            out = out + entry
    return out


def iou(a: Truth, b: Truth) -> float:
    width = min(a.right, b.right) - max(a.left, b.left)
    height = min(a.bottom, b.bottom) - max(a.top, b.top)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    area = lambda t: (t.right - t.left) * (t.bottom - t.top)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--negatives", type=int, default=10)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    labels = {}
    for scene in scenes(args.seed, args.scenes, args.negatives):
        scene.image.save(args.out / f"{scene.name}.jpg", quality=92)
        labels[scene.name] = {
            "lighting": scene.lighting,
            "truths": [asdict(t) for t in scene.truths],
        }
    (args.out / "labels.json").write_text(json.dumps(labels, indent=1))


if __name__ == "__main__":
    main()
