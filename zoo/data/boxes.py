"""Object detection's labels: boxes encoded as CenterNet target maps, and decoded back.

A detector of the zoo predicts, for every cell of a grid `STRIDE` times coarser than the
image, one heat-map logit per class (is an object's centre here?), the box's width and
height in cells and the centre's offset inside the cell (Zhou et al. 2019, Objects as
Points). The labels have the same layout: a Gaussian peak of 1 at each object's centre
cell in its class's channel, and the size and offset at that cell. Encoding is exact, so
the true boxes are decoded from the labels (`decode_truth`) for COCO scoring, and a
user's own boxes (COCO JSON) go through the same `encode`. NumPy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

STRIDE = 4
EXTRA = 4  # channels after the classes: width, height, x offset, y offset (in cells)


def grid(size: int) -> int:
    """Cells along an image side of `size` pixels."""
    return math.ceil(size / STRIDE)


def encode(boxes: Sequence[tuple], size: tuple[int, int], num_classes: int) -> np.ndarray:
    """One image's boxes -> its (grid_h, grid_w, num_classes + 4) target map.

    Args:
        boxes: (class, x, y, width, height) in pixels, the top-left corner first.
        size: the image's (height, width).
        num_classes: the number of object classes.
    """
    gh, gw = grid(size[0]), grid(size[1])
    out = np.zeros((gh, gw, num_classes + EXTRA), "float32")
    yy, xx = np.mgrid[0:gh, 0:gw].astype("float32")
    for c, x, y, w, h in boxes:
        cx, cy = (x + w / 2) / STRIDE, (y + h / 2) / STRIDE
        col, row = min(int(cx), gw - 1), min(int(cy), gh - 1)
        # CenterNet's Gaussian: about a third of the box's smaller side, at least a cell
        sigma = max(min(w, h) / STRIDE / 6, 0.5)
        peak = np.exp(-((yy - row) ** 2 + (xx - col) ** 2) / (2 * sigma * sigma))
        out[..., int(c)] = np.maximum(out[..., int(c)], peak)
        out[row, col, int(c)] = 1.0
        out[row, col, num_classes:] = (w / STRIDE, h / STRIDE, cx - col, cy - row)
    return out


def decode_truth(target: np.ndarray, size: tuple[int, int]) -> list[tuple]:
    """A target map's boxes: (class, x, y, width, height) in pixels, one per peak of 1."""
    num_classes = target.shape[-1] - EXTRA
    rows, cols, classes = np.nonzero(target[..., :num_classes] == 1.0)
    return [_box(target, r, c, k, num_classes) for r, c, k in zip(rows, cols, classes, strict=True)]


def _box(maps: np.ndarray, row: int, col: int, k: int, num_classes: int) -> tuple:
    w, h, ox, oy = (float(v) for v in maps[row, col, num_classes:])
    cx, cy = (col + ox) * STRIDE, (row + oy) * STRIDE
    w, h = max(w, 0.0) * STRIDE, max(h, 0.0) * STRIDE
    return (int(k), cx - w / 2, cy - h / 2, w, h)


def decode(
    output: np.ndarray, size: tuple[int, int], top_k: int = 20, threshold: float = 0.05
) -> list[tuple]:
    """A model's output map -> detections (class, x, y, width, height, score), best first:
    the heat maps' local maxima (3x3, CenterNet's max-pool in place of NMS) above
    `threshold`, at most `top_k`."""
    num_classes = output.shape[-1] - EXTRA
    heat = 1.0 / (1.0 + np.exp(-output[..., :num_classes].astype("float64")))
    padded = np.pad(heat, ((1, 1), (1, 1), (0, 0)), constant_values=-1.0)
    h, w = heat.shape[:2]
    neighbours = np.stack(
        [padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]
    ).max(0)
    peaks = np.where((heat >= neighbours) & (heat > threshold), heat, 0.0)
    order = np.argsort(peaks, axis=None)[::-1][:top_k]
    found = []
    for flat in order:
        r, c, k = np.unravel_index(flat, peaks.shape)
        if peaks[r, c, k] <= 0:
            break
        found.append((*_box(output, r, c, k, num_classes), float(peaks[r, c, k])))
    return found
