"""The web apps' home-screen icons (static/common/icons/): a white map pin on the
Republic's blue, drawn with Pillow so that no image is fetched or borrowed. Run
``python -m tools.generators.icons`` to redraw them; the PNGs are committed."""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[2] / "static" / "common" / "icons"
BLUE = (0, 0, 145)  # #000091, the French state's blue
WHITE = (255, 255, 255)
ORANGE = (230, 110, 0)
SCALE = 4  # drawn larger, then reduced: smooth edges without anti-aliasing support


def draw(size: int, *, maskable: bool) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGB" if maskable else "RGBA", (big, big), BLUE if maskable else (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if not maskable:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=BLUE)
    # A maskable icon keeps its drawing inside the central 80 % (the safe zone).
    zone = 0.62 if maskable else 0.78
    pin_w = big * zone * 0.62
    cx, top = big / 2, big * (1 - zone) / 2
    radius = pin_w / 2
    cy = top + radius
    tip = top + big * zone
    pen.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=WHITE)
    pen.polygon(
        [
            (cx - radius * 0.86, cy + radius * 0.5),
            (cx + radius * 0.86, cy + radius * 0.5),
            (cx, tip),
        ],
        fill=WHITE,
    )
    inner = radius * 0.45
    pen.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=ORANGE)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("signale-192.png", 192, False),
        ("signale-512.png", 512, False),
        ("signale-maskable-512.png", 512, True),
    ):
        draw(size, maskable=maskable).save(OUT / name, optimize=True)
        print(OUT / name)


if __name__ == "__main__":
    main()
