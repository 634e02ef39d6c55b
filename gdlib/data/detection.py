r"""A small object-detection data set: handwritten digits placed on a larger canvas.

Each canvas holds one to ``max_digits`` of scikit-learn's 8x8 digits (Alpaydin and
Kaynak, 1998), each resized to a random size and pasted at a random position, with
light Gaussian noise. Every digit comes with its **box** ``(x0, y0, x1, y1)`` in
pixels (the digit covers columns ``x0 <= x < x1`` and rows ``y0 <= y < y1``, so
``x1 - x0`` is its width: no "+1" convention) and its **label** 0-9.

Boxes of one canvas never overlap (they may touch). The 1,797 digit images are split
once, by a fixed permutation, into a training pool (80 %) and a test pool (20 %):
canvases of the ``"test"`` split are made only from the test pool, so a detector is
always evaluated on digit images it never saw.

Generating 2,000 canvases takes a second or two (one NumPy resize per digit); nothing is
downloaded (scikit-learn's digits ship with it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..optim.base import check_int, check_real
from .tabular import _check_float_dtype

__all__ = ["DetectionSet", "make_digit_canvases", "digit_pools", "resize_bilinear"]

#: Seed of the fixed split of the 1,797 digits into a training and a test pool.
POOL_SEED = 20140101
#: Fraction of the digits in the training pool.
TRAIN_FRACTION = 0.8
_POOLS = None


@dataclass
class DetectionSet:
    """Canvases with their boxes and labels.

    Attributes
    ----------
    images : ndarray, shape (n, 1, H, W)
        Pixel values, about 0 (background) to 1 (ink), plus noise.
    boxes : list of ndarray, each (k_i, 4)
        ``(x0, y0, x1, y1)`` per digit, in pixels, float.
    labels : list of ndarray, each (k_i,)
        The digits' classes 0-9 (int64).
    sources : list of ndarray, each (k_i,)
        Index of each digit in scikit-learn's ``load_digits()`` (to check the split).
    split : str
        ``"train"`` or ``"test"``.
    """

    images: np.ndarray
    boxes: list
    labels: list
    sources: list
    split: str

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_objects(self) -> int:
        """How many digits all canvases hold together."""
        return int(sum(len(b) for b in self.boxes))

    def __repr__(self) -> str:
        n, _, H, W = self.images.shape
        return (f"DetectionSet(split={self.split!r}, {n} canvases of {H}x{W}, "
                f"{self.num_objects} digits)")


def digit_pools():
    """The digits as (images (1797, 8, 8) in [0, 1], labels, train indices, test indices).

    The split is fixed (seed :data:`POOL_SEED`), the same for every call and every seed of
    :func:`make_digit_canvases`.
    """
    global _POOLS
    if _POOLS is None:
        from sklearn import datasets

        data = datasets.load_digits()
        images = np.asarray(data.images, dtype=np.float64) / 16.0
        labels = np.asarray(data.target, dtype=np.int64)
        order = np.random.default_rng(POOL_SEED).permutation(len(labels))
        cut = int(round(TRAIN_FRACTION * len(labels)))
        _POOLS = (images, labels, np.sort(order[:cut]), np.sort(order[cut:]))
    return _POOLS


def resize_bilinear(image, height: int, width: int) -> np.ndarray:
    r"""Resize a 2-D ``image`` to ``(height, width)`` by bilinear interpolation.

    Output pixel centres are mapped back onto the input grid,
    :math:`u = (i + \tfrac12)\,H_{in}/H_{out} - \tfrac12` (clamped to the image), and
    each value mixes the four nearest input pixels with weights
    :math:`(1 - a)(1 - b), a(1 - b), (1 - a)b, ab`, as ``cv2.INTER_LINEAR`` does.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or min(image.shape) < 1:
        raise ValueError(f"resize_bilinear: image must be a non-empty 2-D array, got shape "
                         f"{image.shape}.")
    height = check_int("height", height, minimum=1)
    width = check_int("width", width, minimum=1)
    h_in, w_in = image.shape

    def coords(n_out, n_in):
        u = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(u).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, u - lo

    r0, r1, a = coords(height, h_in)
    c0, c1, b = coords(width, w_in)
    top = image[r0][:, c0] * (1 - b) + image[r0][:, c1] * b
    bottom = image[r1][:, c0] * (1 - b) + image[r1][:, c1] * b
    return top * (1 - a)[:, None] + bottom * a[:, None]


def _overlaps(box, placed) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < q[2] and q[0] < x1 and y0 < q[3] and q[1] < y1 for q in placed)


def make_digit_canvases(n: int, split: str = "train", canvas_size: int = 32,
                        min_size: int = 8, max_size: int = 16, min_digits: int = 1,
                        max_digits: int = 3, noise: float = 0.05, seed: int = 0,
                        dtype="float64") -> DetectionSet:
    """Generate ``n`` canvases with one to ``max_digits`` non-overlapping digits each.

    Parameters
    ----------
    n : int >= 1
        How many canvases.
    split : {"train", "test"}
        Which pool of digit images to draw from (the pools share no image).
    canvas_size : int, default 32
        Canvases are ``canvas_size`` x ``canvas_size`` pixels.
    min_size, max_size : int, default 8 and 16
        Each digit is resized to a square of a side drawn uniformly from
        ``min_size..max_size`` (pixels), then pasted at a uniform random position
        where it overlaps no digit already placed (up to 50 tries; a digit that
        finds no room is left out, so a canvas may hold fewer than it drew).
    min_digits, max_digits : int, default 1 and 3
        The number of digits per canvas is uniform in ``min_digits..max_digits``.
    noise : float >= 0, default 0.05
        Standard deviation of the Gaussian noise added to every pixel.
    seed : int, default 0
        Seed of the generator: the same arguments give the same canvases.
    dtype : default "float64"
        Floating dtype of ``images``.

    Returns
    -------
    DetectionSet
    """
    n = check_int("n", n, minimum=1)
    if split not in ("train", "test"):
        raise ValueError(f"make_digit_canvases: split must be 'train' or 'test', got {split!r}.")
    canvas_size = check_int("canvas_size", canvas_size, minimum=8)
    min_size = check_int("min_size", min_size, minimum=2, maximum=canvas_size)
    max_size = check_int("max_size", max_size, minimum=2, maximum=canvas_size)
    if max_size < min_size:
        raise ValueError(f"Invalid max_size={max_size}: it must be >= min_size={min_size}.")
    min_digits = check_int("min_digits", min_digits, minimum=1)
    max_digits = check_int("max_digits", max_digits, minimum=1)
    if max_digits < min_digits:
        raise ValueError(f"Invalid max_digits={max_digits}: it must be >= "
                         f"min_digits={min_digits}.")
    noise = check_real("noise", noise, low=0.0)
    seed = check_int("seed", seed)
    dtype = _check_float_dtype(dtype)

    digits, digit_labels, train_pool, test_pool = digit_pools()
    pool = train_pool if split == "train" else test_pool
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 1, canvas_size, canvas_size))
    boxes, labels, sources = [], [], []
    for i in range(n):
        placed, chosen = [], []
        for _ in range(int(rng.integers(min_digits, max_digits + 1))):
            side = int(rng.integers(min_size, max_size + 1))
            for _try in range(50):
                x0, y0 = (int(v) for v in rng.integers(0, canvas_size - side + 1, size=2))
                box = (x0, y0, x0 + side, y0 + side)
                if not _overlaps(box, placed):
                    break
            else:
                continue
            k = int(pool[rng.integers(len(pool))])
            patch = resize_bilinear(digits[k], side, side)
            canvas = images[i, 0, y0:y0 + side, x0:x0 + side]
            np.maximum(canvas, patch, out=canvas)
            placed.append(box)
            chosen.append(k)
        boxes.append(np.array(placed, dtype=np.float64).reshape(-1, 4))
        labels.append(digit_labels[np.array(chosen, dtype=np.int64)])
        sources.append(np.array(chosen, dtype=np.int64))
    if noise:
        images += rng.normal(scale=noise, size=images.shape)
    return DetectionSet(images.astype(dtype, copy=False), boxes, labels, sources, split)
