"""European licence plates, found with OpenCV alone (no learned model).

No package on PyPI ships a plate detector usable offline under a licence we can take: the
ALPR packages (open-image-models, fast-alpr) download their ONNX models from the network
at first use, and OpenCV 5 no longer ships the Haar cascades for Russian plates in
``cv2.data``. So this module looks for what a French (and most European) plate shows:

1. dark strokes on a bright ground: an adaptive threshold of the grey image, then connected
   components shaped like characters (height 7 to 90 px, narrower than tall, neither a speck
   nor a filled block);
2. a row of them: 5 to 9 components of similar height, their centres on one line, the gaps
   between them shorter than a character (the dashes of AA-123-AA fall inside that);
3. the EU's blue band at one end of the row (or the region's at the other): a plate without
   either is treated as a sign and left alone.

Where it fails, by construction: plates whose characters are under about 7 px tall in the
display image (a plate under about 50 px wide; on the evaluation set it finds only half of
those 40-80 px wide), characters merged by blur or glare, old black plates (white characters
on black) and plates without a blue band, dirty or partly hidden plates; text beside a blue
surface (a sign against the sky) can pass for a plate. The benchmark
(benchmarks/bench_blur.py) measures its recall by width.
"""

import cv2
import numpy as np

# Character height range in the image searched (display pixels).
CHAR_MIN, CHAR_MAX = 7, 90
# A row holds this many characters (7 on AA-123-AA, a few more or less when the threshold
# splits or joins one).
ROW_MIN, ROW_MAX = 5, 9
# Blue in OpenCV's HSV (hue 0-180): the EU band.
BLUE_HUE = (95, 135)
BLUE_SAT = 60
BLUE_SHARE = 0.25
BLUE_OVER_RED = 30


def find(rgb: np.ndarray) -> list[tuple[float, float, float, float, float]]:
    """Plates in an RGB array as (left, top, right, bottom, score) in its pixels."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    chars = _characters(grey)
    if len(chars) < ROW_MIN:
        return []
    hsv = None
    plates = []
    for row in _rows(chars):
        if hsv is None:
            hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        plate = _plate(row, rgb, hsv)
        if plate is not None:
            plates.append(plate)
    return plates


def _characters(grey: np.ndarray) -> np.ndarray:
    """Dark character-like components: rows of (x, y, w, h) as float."""
    dark = cv2.adaptiveThreshold(
        grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 12
    )
    _, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    x, y, w, h, area = (stats[1:, i].astype(np.float64) for i in range(5))
    fill = area / np.maximum(w * h, 1)
    keep = (
        (h >= CHAR_MIN)
        & (h <= CHAR_MAX)
        & (w >= 0.12 * h)
        & (w <= 1.0 * h)
        & (fill > 0.15)
        & (fill < 0.85)
    )
    return np.stack([x[keep], y[keep], w[keep], h[keep]], axis=1)


def _rows(chars: np.ndarray) -> list[np.ndarray]:
    """Chains of characters of one height, side by side on one line."""
    order = np.argsort(chars[:, 0])
    chars = chars[order]
    x, y, w, h = chars.T
    cy, right = y + h / 2, x + w
    parent = np.arange(len(chars))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(chars)):
        # Neighbours start after i's left edge and at most 1.2 heights after its right edge.
        hi = np.searchsorted(x, right[i] + 1.2 * h[i], side="right")
        for j in range(i + 1, hi):
            if x[j] < x[i] + 0.3 * w[i]:
                continue
            if abs(h[j] - h[i]) > 0.25 * max(h[i], h[j]):
                continue
            if abs(cy[j] - cy[i]) > 0.35 * max(h[i], h[j]):
                continue
            parent[root(j)] = root(i)
            break  # link to the nearest fitting neighbour only
    groups: dict[int, list[int]] = {}
    for i in range(len(chars)):
        groups.setdefault(root(i), []).append(i)
    return [chars[m] for m in groups.values() if ROW_MIN <= len(m) <= ROW_MAX]


def _plate(row: np.ndarray, rgb: np.ndarray, hsv: np.ndarray):
    x, y, w, h = row.T
    left, top, right, bottom = x.min(), y.min(), (x + w).max(), (y + h).max()
    height = float(np.median(h))
    width = right - left
    if width < 2.5 * height or width > 9 * height:
        return None
    # The bands sit beyond the characters, at about one character height's distance.
    band = max(3.0, 0.9 * height)
    scores = [
        _blue_share(rgb, hsv, left - band, top, left - 1, bottom),
        _blue_share(rgb, hsv, right + 1, top, right + band, bottom),
    ]
    score = max(scores)
    if score < BLUE_SHARE:
        return None
    grow_x, grow_y = 0.1 * width + 0.5 * band, 0.45 * height
    return (
        float(left - grow_x),
        float(top - grow_y),
        float(right + grow_x),
        float(bottom + grow_y),
        float(min(1.0, 0.5 + score / 2)),
    )


def _blue_share(rgb: np.ndarray, hsv: np.ndarray, left, top, right, bottom) -> float:
    left, top = max(0, int(left)), max(0, int(top))
    right, bottom = min(hsv.shape[1], int(right) + 1), min(hsv.shape[0], int(bottom) + 1)
    if right - left < 2 or bottom - top < 2:
        return 0.0
    patch = hsv[top:bottom, left:right]
    hue, sat, val = patch[..., 0], patch[..., 1], patch[..., 2]
    # Saturation alone takes a dark grey-blue window for the band: blue must also clearly
    # exceed red.
    red, blue = (rgb[top:bottom, left:right, i].astype(np.int16) for i in (0, 2))
    blue = (
        (hue >= BLUE_HUE[0])
        & (hue <= BLUE_HUE[1])
        & (sat >= BLUE_SAT)
        & (val >= 20)
        & (blue - red >= BLUE_OVER_RED)
    )
    return float(blue.mean())
