"""Photo processing: a 12-megapixel phone JPEG through Signale's pipeline, against the naive
Pillow pipeline (open, exif_transpose, thumbnail at full decode), in the same run.

The test photo is made here: smooth gradients with sensor-like noise, 4032x3024, EXIF
orientation 6 and GPS, quality 92 (about the size a phone writes). One core: Pillow's JPEG
codec is single-threaded. Prints medians and the ratio.

    make bench            # or: python benchmarks/bench_photos.py [--rounds N]
"""

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.photos.processing import process


def phone_photo() -> bytes:
    rng = np.random.default_rng(7)
    height, width = 3024, 4032
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [x / width * 200 + 30, y / height * 180 + 40, (x + y) / (width + height) * 150 + 50],
        axis=-1,
    )
    pixels = np.clip(base + rng.normal(0, 12, (height, width, 3)), 0, 255).astype("uint8")
    image = Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(1))
    exif = Image.Exif()
    exif[0x0112] = 6
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (47.0, 19.0, 19.2), "E", (5.0, 2.0, 29.4)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def naive(data: bytes) -> tuple[bytes, bytes]:
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    display = image.copy()
    display.thumbnail((2048, 2048))
    image.thumbnail((400, 400))
    outputs = []
    for picture in (display, image):
        out = io.BytesIO()
        picture.save(out, format="JPEG", quality=85)
        outputs.append(out.getvalue())
    return outputs[0], outputs[1]


def timed(func, data, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    data = phone_photo()
    process(data), naive(data)  # warm up
    signale, baseline = [], []
    for _ in range(3):  # interleaved blocks, so machine noise hits both
        signale.append(timed(process, data, args.rounds))
        baseline.append(timed(naive, data, args.rounds))
    ours, theirs = statistics.median(signale), statistics.median(baseline)
    print(
        f"\nPhoto processing: 4032x3024 JPEG ({len(data) / 1e6:.1f} MB), "
        f"{3 * args.rounds} runs each, one core"
    )
    print(f"{'pipeline':<34}{'median ms':>12}{'vs naive':>12}")
    print(f"{'naive Pillow (full decode)':<34}{theirs * 1000:>12.1f}{1.0:>11.2f}x")
    print(f"{'Signale (draft + reducing_gap)':<34}{ours * 1000:>12.1f}{theirs / ours:>11.2f}x")


if __name__ == "__main__":
    main()
