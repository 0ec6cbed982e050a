"""Pictures for the demo history's photos, drawn with Pillow: a pothole in a grey road, a
street light at dusk, a tagged wall, rubbish dumped on a pavement, a road sign, a fallen
branch, and work done (a patched road, a lit lamp). Shapes follow the seed; JPEG bytes,
as a phone would upload them, that the photo pipeline then processes. (The grain comes from
Pillow's own noise generator: the bytes differ from run to run, the pictures do not.)"""

import io
import math
import random

from PIL import Image, ImageDraw, ImageFilter

SIZE = (1200, 900)


def _noise_texture(rng: random.Random, base: int, spread: int, size=SIZE) -> Image.Image:
    """A grainy grey surface (asphalt, concrete), blurred a little."""
    small = (size[0] // 4, size[1] // 4)
    grain = Image.effect_noise(small, spread).point(lambda v: max(0, min(255, v - 128 + base)))
    # effect_noise draws from its own generator: the seed moves the grain instead.
    grain = grain.rotate(rng.choice((0, 180)))
    return grain.resize(size, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(1.2))


def _blob(rng: random.Random, centre, radius, points=18):
    cx, cy = centre
    outline = []
    for i in range(points):
        angle = 2 * math.pi * i / points
        r = radius * rng.uniform(0.65, 1.15)
        outline.append((cx + r * 1.5 * math.cos(angle), cy + r * 0.8 * math.sin(angle)))
    return outline


def pothole(rng: random.Random, *, patched: bool = False) -> Image.Image:
    road = _noise_texture(rng, 118, 28).convert("RGB")
    draw = ImageDraw.Draw(road)
    # A white lane marking along one side.
    x = rng.randint(80, 200)
    draw.polygon([(x, 900), (x + 40, 900), (x + 320, 0), (x + 300, 0)], fill=(225, 225, 215))
    centre = (rng.randint(450, 750), rng.randint(380, 560))
    radius = rng.randint(110, 190)
    if patched:
        draw.polygon(_blob(rng, centre, radius * 1.2, 8), fill=(52, 52, 55))
    else:
        draw.polygon(_blob(rng, centre, radius * 1.15), fill=(78, 74, 70))
        draw.polygon(_blob(rng, centre, radius), fill=(34, 31, 29))
        # Rain water at the bottom of the hole.
        draw.polygon(_blob(rng, (centre[0] + 15, centre[1] + 20), radius * 0.45), fill=(70, 82, 95))
    return road.filter(ImageFilter.GaussianBlur(0.8))


def street_light(rng: random.Random, *, lit: bool = False) -> Image.Image:
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    top = (rng.randint(20, 50), rng.randint(30, 60), rng.randint(80, 110))
    for y in range(SIZE[1]):  # dusk sky, darker above
        t = y / SIZE[1]
        colour = tuple(int(c + (200 - c) * t * 0.7) for c in top)
        draw.line([(0, y), (SIZE[0], y)], fill=colour)
    draw.rectangle([0, 720, SIZE[0], 900], fill=(60, 60, 62))
    x = rng.randint(450, 750)
    draw.rectangle([x, 180, x + 22, 760], fill=(40, 44, 48))
    draw.line([(x + 11, 190), (x + 190, 160)], fill=(40, 44, 48), width=14)
    lamp = [x + 150, 160, x + 250, 200]
    draw.ellipse(lamp, fill=(35, 35, 38))
    if lit:
        glow = Image.new("RGB", SIZE)
        ImageDraw.Draw(glow).ellipse([x + 90, 120, x + 310, 320], fill=(255, 210, 120))
        image = Image.blend(image, glow.filter(ImageFilter.GaussianBlur(40)), 0.35)
        ImageDraw.Draw(image).ellipse(lamp, fill=(255, 236, 170))
    return image


def graffiti(rng: random.Random) -> Image.Image:
    wall = _noise_texture(rng, 190, 18).convert("RGB")
    draw = ImageDraw.Draw(wall)
    for _ in range(rng.randint(5, 9)):
        colour = rng.choice([(200, 30, 40), (30, 60, 190), (20, 20, 20), (30, 150, 60)])
        points = [(rng.randint(100, 1100), rng.randint(200, 700)) for _ in range(6)]
        draw.line(points, fill=colour, width=rng.randint(10, 22), joint="curve")
    return wall


def dumping(rng: random.Random) -> Image.Image:
    ground = _noise_texture(rng, 150, 22).convert("RGB")
    draw = ImageDraw.Draw(ground)
    draw.rectangle([0, 0, SIZE[0], 300], fill=(176, 160, 140))  # a facade
    for _ in range(rng.randint(6, 11)):
        x, y = rng.randint(150, 950), rng.randint(380, 760)
        w, h = rng.randint(80, 220), rng.randint(60, 180)
        colour = rng.choice([(30, 30, 30), (120, 90, 60), (200, 200, 190), (60, 90, 140)])
        if rng.random() < 0.5:
            draw.rectangle([x, y, x + w, y + h], fill=colour, outline=(20, 20, 20), width=3)
        else:
            draw.ellipse([x, y, x + w, y + h], fill=colour)
    return ground


def sign(rng: random.Random) -> Image.Image:
    image = Image.new("RGB", SIZE, (150, 185, 215))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 650, SIZE[0], 900], fill=(90, 110, 70))
    x = rng.randint(450, 700)
    draw.rectangle([x, 300, x + 18, 800], fill=(150, 150, 150))
    tilt = rng.randint(-60, 60)
    draw.polygon(
        [(x - 110 + tilt, 340), (x + 9, 120), (x + 128 + tilt, 340)],
        fill=(255, 255, 255),
        outline=(200, 20, 30),
        width=24,
    )
    return image


def branch(rng: random.Random) -> Image.Image:
    road = _noise_texture(rng, 110, 25).convert("RGB")
    draw = ImageDraw.Draw(road)
    y = rng.randint(350, 550)
    draw.line([(0, y), (1200, y + rng.randint(-150, 150))], fill=(92, 64, 40), width=48)
    for _ in range(14):
        x0, y0 = rng.randint(100, 1100), y + rng.randint(-60, 60)
        draw.line(
            [(x0, y0), (x0 + rng.randint(-200, 200), y0 + rng.randint(-220, 220))],
            fill=(100, 72, 45),
            width=14,
        )
        draw.ellipse([x0 - 60, y0 - 60, x0 + 60, y0 + 60], fill=(60, 110, 50))
    return road


# Motifs by category; categories not listed have no photo.
MOTIFS = {
    "pothole": pothole,
    "damaged_pavement": pothole,
    "streetlight_out": street_light,
    "streetlight_day": street_light,
    "streetlight_damaged": street_light,
    "traffic_light_fault": sign,
    "sign_damaged": sign,
    "graffiti": graffiti,
    "illegal_dumping": dumping,
    "overflowing_bin": dumping,
    "fallen_tree": branch,
}
# What a crew's "after" photo shows, by the report's motif.
AFTER = {
    pothole: lambda rng: pothole(rng, patched=True),
    street_light: lambda rng: street_light(rng, lit=True),
}
VARIANTS = 2


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


def pictures(seed: int = 1) -> dict[tuple[str, str], list[bytes]]:
    """JPEG bytes per (motif name, photo kind ``report`` or ``after``): a few variants each."""
    rng = random.Random(seed)
    drawn = {}
    for draw in dict.fromkeys(MOTIFS.values()):
        drawn[(draw.__name__, "report")] = [jpeg(draw(rng)) for _ in range(VARIANTS)]
        if draw in AFTER:
            drawn[(draw.__name__, "after")] = [jpeg(AFTER[draw](rng)) for _ in range(VARIANTS)]
    return drawn
