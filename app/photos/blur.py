"""Hiding regions of a photo for good: the boxes to hide and the pixelation that hides them.
Pure functions.

A box is in fractions of the oriented image's width and height, so the same boxes apply to
the display image and its thumbnail. Each box is pixelated into coarse blocks (each block
the mean of its pixels), then the blocks are smoothed: the result keeps at most a dozen
colours across a face or a plate, far too little to read a character or recognise a face,
and no filter can bring back what the averaging discarded.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageFilter

KINDS = ("face", "plate", "desk")
# Blocks across the box's longer side (at least MIN_BLOCK pixels each).
BLOCKS = 8
MIN_BLOCK = 4
# The box grows by this share of its size on each side: detectors hug the face or plate.
MARGIN = 0.1


@dataclass(frozen=True)
class Box:
    """A region to hide: left, top, right, bottom in [0, 1] of the image's width and height;
    ``kind`` face or plate (found by app.photos.detection) or desk (drawn by the desk);
    ``score`` the detector's confidence (1.0 for a desk's box)."""

    left: float
    top: float
    right: float
    bottom: float
    kind: str
    score: float = 1.0

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The box, grown by its margin, in pixels of a ``width`` x ``height`` image,
        clipped to it."""
        grow_x = (self.right - self.left) * MARGIN
        grow_y = (self.bottom - self.top) * MARGIN
        left = max(0, int((self.left - grow_x) * width))
        top = max(0, int((self.top - grow_y) * height))
        right = min(width, math.ceil((self.right + grow_x) * width))
        bottom = min(height, math.ceil((self.bottom + grow_y) * height))
        return left, top, right, bottom


def blurred(image: Image.Image, boxes: Iterable[Box]) -> Image.Image:
    """A copy of ``image`` with every box pixelated (the image itself is left alone)."""
    out = image.copy()
    for box in boxes:
        left, top, right, bottom = box.pixels(out.width, out.height)
        if right - left < 1 or bottom - top < 1:
            continue
        region = out.crop((left, top, right, bottom))
        block = max(MIN_BLOCK, max(region.size) // BLOCKS)
        small = (max(1, region.width // block), max(1, region.height // block))
        coarse = region.resize(small, Image.Resampling.BOX)
        hidden = coarse.resize(region.size, Image.Resampling.NEAREST)
        hidden = hidden.filter(ImageFilter.BoxBlur(max(1, block // 2)))
        out.paste(hidden, (left, top))
    return out
