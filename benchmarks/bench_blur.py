"""Face and plate blurring: what the detectors find and miss, and what they add to the photo
pipeline's time, measured in the same run.

Recall and precision by kind and size on the evaluation set of
tools/generators/blur_evalset.py (street scenes at the display size, 2048 x 1536, the image
the pipeline hands to app.photos.detection.detect). Sizes are box widths in that image: a
face 40 px wide there was about 80 px wide in a 4032 px phone photo. A truth is found when a
detection of its kind overlaps it with an intersection over union of at least 0.3.

Time: 12-megapixel JPEGs (4032 x 3024, the evaluation scenes scaled up) go through
app.photos.processing.process (the baseline: decode, orient, resize, encode), then the
added cost is timed on its display image: detect() and blurred(). Medians and p90, one core
(the model runs on one thread; Pillow's codec is single-threaded).

    make bench            # or: python benchmarks/bench_blur.py [--scenes 60] [--photos 12]
"""

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.photos.blur import blurred
from app.photos.detection import detect
from app.photos.processing import process
from tools.generators import blur_evalset as evalset


def found_boxes(scene: evalset.Scene) -> list[evalset.Truth]:
    width, height = scene.image.size
    return [
        evalset.Truth(b.kind, b.left * width, b.top * height, b.right * width, b.bottom * height)
        for b in detect(scene.image)
    ]


def accuracy(scenes: list[evalset.Scene]) -> None:
    tallies: dict = {}
    negatives = false_alarms = 0
    for scene in scenes:
        found = found_boxes(scene)
        evalset.tally(scene, found, tallies)
        if scene.negative:
            negatives += 1
            false_alarms += len(found)
    print(
        f"\n{'kind':<7}{'width (px)':<12}{'truths':>8}{'recall':>9}{'detections':>12}"
        f"{'precision':>11}"
    )
    for kind, buckets in evalset.BUCKETS.items():
        for low, high in buckets:
            entry = tallies.get((kind, (low, high)), evalset.Tally())
            label = f"{low:g}-{high:g}" if high != float("inf") else f">={low:g}"
            print(
                f"{kind:<7}{label:<12}{entry.truths:>8}{_ratio(entry.recall):>9}"
                f"{entry.detections:>12}{_ratio(entry.precision):>11}"
            )
        for low in (0, 40 if kind == "face" else 80):
            entry = evalset.total(tallies, kind, low)
            print(
                f"{kind:<7}{f'>={low}':<12}{entry.truths:>8}{_ratio(entry.recall):>9}"
                f"{entry.detections:>12}{_ratio(entry.precision):>11}"
            )
    print(f"negative scenes: {negatives}, boxes found in them: {false_alarms}")


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def timing(scenes: list[evalset.Scene], photos: int) -> None:
    datas = []
    for scene in scenes[:photos]:
        out = io.BytesIO()
        scene.image.resize((4032, 3024), Image.Resampling.BICUBIC).save(
            out, format="JPEG", quality=92
        )
        datas.append(out.getvalue())
    process(datas[0])  # warm up: the model loads once per process
    detect(Image.open(io.BytesIO(process(datas[0]).display)).convert("RGB"))
    wall = {"base": [], "detect": [], "added": []}
    cpu = {"base": [], "detect": [], "added": []}
    for data in datas:
        for _ in range(2):
            start, start_cpu = time.perf_counter(), time.thread_time()
            processed = process(data)
            wall["base"].append(time.perf_counter() - start)
            cpu["base"].append(time.thread_time() - start_cpu)
            display = Image.open(io.BytesIO(processed.display)).convert("RGB")
            start, start_cpu = time.perf_counter(), time.thread_time()
            boxes = detect(display)
            wall["detect"].append(time.perf_counter() - start)
            cpu["detect"].append(time.thread_time() - start_cpu)
            blurred(display, boxes)
            wall["added"].append(time.perf_counter() - start)
            cpu["added"].append(time.thread_time() - start_cpu)
    print(f"\nTime per 12 MP photo (4032 x 3024 JPEG, {len(datas)} photos x 2), one thread")
    print("(wall clock, and this thread's CPU time: on a shared machine the CPU time is the")
    print(" cost, the wall clock includes waiting for a core)")
    print(f"{'step':<40}{'median ms':>11}{'p90 ms':>9}{'CPU median':>12}{'CPU p90':>9}")
    for label, key in (
        ("pipeline today: process() (baseline)", "base"),
        ("added: detect() on the display image", "detect"),
        ("added: detect() + blurred()", "added"),
    ):
        print(
            f"{label:<40}{statistics.median(wall[key]) * 1000:>11.1f}"
            f"{_p90(wall[key]) * 1000:>9.1f}{statistics.median(cpu[key]) * 1000:>12.1f}"
            f"{_p90(cpu[key]) * 1000:>9.1f}"
        )
    ratio = statistics.median(wall["added"]) / statistics.median(wall["base"])
    ratio_cpu = statistics.median(cpu["added"]) / statistics.median(cpu["base"])
    print(f"added / baseline (medians): {ratio:.2f} wall, {ratio_cpu:.2f} CPU")


def _p90(times: list[float]) -> float:
    return statistics.quantiles(times, n=10)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("--negatives", type=int, default=15)
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    scenes = list(evalset.scenes(args.seed, args.scenes, args.negatives))
    print(
        f"\nBlur detectors: {args.scenes} street scenes + {args.negatives} negative scenes, "
        f"2048 x 1536, seed {args.seed}; hit = IoU >= {evalset.HIT_IOU}"
    )
    accuracy(scenes)
    timing(scenes, args.photos)


if __name__ == "__main__":
    main()
