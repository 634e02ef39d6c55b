r"""Object detection: boxes, IoU, a grid detector's targets and loss, NMS and mean AP.

A detector answers *what* and *where*: for each object a class and a box
``(x0, y0, x1, y1)`` (pixels; the box covers ``x0 <= x < x1``, so its width is
``x1 - x0``: no "+1" convention). This module holds what a one-stage, YOLO-style
detector (Redmon et al., 2016) needs around its network:

- :func:`box_iou`: intersection over union of every pair of boxes,
  :math:`\mathrm{IoU}(A, B) = |A \cap B| / (|A| + |B| - |A \cap B|)`;
- :class:`GridCoder`: the image is cut into ``S x S`` cells; the cell that holds a box's
  centre is responsible for it and regresses the box relative to itself and to an
  anchor size (the parametrisation of Girshick et al., 2014 and Ren et al., 2015);
- :class:`DetectionLoss`: objectness (binary cross-entropy on every cell) + box
  regression (smooth-L1, Girshick 2015) + classification (cross-entropy on the cells
  with an object), added, with an explicit backward pass;
- :func:`nms`: greedy non-maximum suppression, class by class;
- :func:`average_precision`, :func:`mean_average_precision`: PASCAL VOC's AP
  (Everingham et al., 2010): the area under the precision envelope, all points.

Box arithmetic runs on the backend's arrays (NumPy or CuPy); NMS and AP are sequential
bookkeeping over a few hundred detections and run on the host.
"""

from __future__ import annotations

import numpy

from .backend import array_module, to_host
from .nn.losses import _float_pred, _no_forward, _scalar_dout
from .nn.module import Module
from .optim.base import check_bool, check_int, check_positive, check_real

__all__ = [
    "box_area", "box_iou", "GridCoder", "DetectionLoss", "smooth_l1", "decode_predictions",
    "nms", "postprocess", "match_detections", "precision_recall", "average_precision",
    "mean_average_precision",
]


# ----------------------------------------------------------------------------
# Checks


def check_boxes(name: str, boxes, allow_empty: bool = True):
    """``boxes`` as a float array of shape (n, 4), finite, with ``x1 >= x0`` and ``y1 >= y0``."""
    if boxes is None or isinstance(boxes, str):
        raise TypeError(f"{name} must be an array of boxes (n, 4), got {boxes!r}.")
    mod = array_module(boxes)
    try:
        b = mod.asarray(boxes)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} is not a rectangular array of boxes ({err}).") from err
    if b.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold numbers, got dtype {b.dtype}.")
    if b.ndim == 1 and b.size == 0:
        b = b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n, 4), one row (x0, y0, x1, y1) per box, "
                         f"got shape {tuple(b.shape)}.")
    if not allow_empty and b.shape[0] == 0:
        raise ValueError(f"{name} holds no boxes.")
    b = b.astype(numpy.float64 if b.dtype.kind in "iu" else b.dtype, copy=False)
    if not bool(mod.isfinite(b).all()):
        raise ValueError(f"{name} contains NaN or infinity: every corner must be a number.")
    bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    if bool(bad.any()):
        i = int(to_host(mod.nonzero(bad)[0][0]))
        raise ValueError(f"{name}[{i}] = {to_host(b[i]).tolist()} has x1 < x0 or y1 < y0: boxes "
                         "are (x0, y0, x1, y1) with the top-left corner first.")
    return b


def _check_threshold(name: str, value) -> float:
    return check_real(name, value, low=0.0, high=1.0)


def _check_scores(name: str, scores, n: int):
    if scores is None or isinstance(scores, str):
        raise TypeError(f"{name} must be an array of numbers, one per box, got {scores!r}.")
    s = numpy.asarray(to_host(scores), dtype=numpy.float64).reshape(-1)
    if s.shape[0] != n:
        raise ValueError(f"{name} must hold one number per box ({n}), got {s.shape[0]}.")
    if not numpy.isfinite(s).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return s


# ----------------------------------------------------------------------------
# IoU


def box_area(boxes):
    """Areas ``(x1 - x0) * (y1 - y0)`` of boxes (n, 4)."""
    b = check_boxes("boxes", boxes)
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_iou(boxes_a, boxes_b):
    r"""Intersection over union of every box of ``boxes_a`` with every box of ``boxes_b``.

    .. math:: \mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A| + |B| - |A \cap B|},\quad
              |A \cap B| = \max(0, \min(x_1^A, x_1^B) - \max(x_0^A, x_0^B))
              \cdot \max(0, \min(y_1^A, y_1^B) - \max(y_0^A, y_0^B)).

    The ``max(0, .)`` matters: boxes apart in x *and* in y would otherwise multiply two
    negative widths into a positive "overlap". Two empty boxes (zero union) have IoU 0.

    Parameters
    ----------
    boxes_a : array (n, 4), boxes_b : array (m, 4)
        ``(x0, y0, x1, y1)`` with ``x1 >= x0`` and ``y1 >= y0``.

    Returns
    -------
    array (n, m)
        Values in [0, 1], on the backend of ``boxes_a``.
    """
    a = check_boxes("boxes_a", boxes_a)
    b = check_boxes("boxes_b", boxes_b)
    mod = array_module(a)
    b = mod.asarray(b)
    w = mod.maximum(mod.minimum(a[:, None, 2], b[None, :, 2])
                    - mod.maximum(a[:, None, 0], b[None, :, 0]), 0)
    h = mod.maximum(mod.minimum(a[:, None, 3], b[None, :, 3])
                    - mod.maximum(a[:, None, 1], b[None, :, 1]), 0)
    inter = w * h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return mod.where(union > 0, inter / mod.where(union > 0, union, 1.0), 0.0)


# ----------------------------------------------------------------------------
# The grid: targets and decoding


class GridCoder:
    r"""Encode boxes into a grid of cells, and decode a grid back into boxes.

    The image (``grid_size * cell_size`` pixels square) is cut into ``S x S`` cells.
    The cell ``(i, j)`` (row, column) holding a box's centre :math:`(c_x, c_y)` is
    responsible for it, with the regression targets

    .. math:: t_x = \frac{c_x}{s} - (j + \tfrac12),\quad
              t_y = \frac{c_y}{s} - (i + \tfrac12),\quad
              t_w = \log\frac{w}{a},\quad t_h = \log\frac{h}{a},

    (offsets from the cell's centre in cells, log-sizes against the anchor size
    :math:`a`: the parametrisation of R-CNN, Girshick et al. 2014, and Faster R-CNN's
    anchors, Ren et al. 2015). Decoding inverts it.

    Parameters
    ----------
    grid_size : int
        :math:`S`, cells per side.
    cell_size : float
        :math:`s`, pixels per cell.
    anchor : float
        :math:`a`, the anchor (prior) box side in pixels.
    """

    def __init__(self, grid_size: int = 4, cell_size: float = 8.0, anchor: float = 12.0):
        self.grid_size = check_int("grid_size", grid_size, minimum=1)
        self.cell_size = check_positive("cell_size", cell_size)
        self.anchor = check_positive("anchor", anchor)

    def __repr__(self) -> str:
        return (f"GridCoder(grid_size={self.grid_size}, cell_size={self.cell_size:g}, "
                f"anchor={self.anchor:g})")

    @property
    def image_size(self) -> float:
        """Side of the image the grid covers, in pixels."""
        return self.grid_size * self.cell_size

    def encode(self, boxes, labels) -> numpy.ndarray:
        """Targets ``(n, S, S, 6)``: per cell ``[object, t_x, t_y, t_w, t_h, class]``.

        Parameters
        ----------
        boxes : list of arrays (k_i, 4)
            The boxes of each image.
        labels : list of int arrays (k_i,)
            Their classes.

        Cells without an object hold zeros. Two boxes whose centres fall in one cell
        cannot both be encoded: that raises ``ValueError`` (use a finer grid).
        """
        if len(boxes) != len(labels):
            raise ValueError(f"encode: boxes and labels must be lists of the same length (one "
                             f"entry per image), got {len(boxes)} and {len(labels)}.")
        S, s = self.grid_size, self.cell_size
        out = numpy.zeros((len(boxes), S, S, 6))
        for n, (b, lab) in enumerate(zip(boxes, labels)):
            b = numpy.asarray(to_host(check_boxes(f"boxes[{n}]", b)))
            lab = numpy.asarray(to_host(lab)).reshape(-1)
            if lab.shape[0] != b.shape[0]:
                raise ValueError(f"labels[{n}] has {lab.shape[0]} entries for {b.shape[0]} "
                                 "boxes: one label per box.")
            if lab.size and (lab.dtype.kind not in "iu" or lab.min() < 0):
                raise ValueError(f"labels[{n}] must hold class indices >= 0, got {lab}.")
            cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
            w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
            if (w <= 0).any() or (h <= 0).any():
                raise ValueError(f"boxes[{n}] has a box of zero width or height: it has no "
                                 "log-size to regress.")
            j = numpy.clip(numpy.floor(cx / s).astype(int), 0, S - 1)
            i = numpy.clip(numpy.floor(cy / s).astype(int), 0, S - 1)
            if len(set(zip(i.tolist(), j.tolist()))) < len(i):
                raise ValueError(f"encode: two boxes of image {n} have their centres in one "
                                 "cell; a grid cell predicts one object (use a finer grid).")
            out[n, i, j] = numpy.stack([numpy.ones_like(cx), cx / s - (j + 0.5),
                                        cy / s - (i + 0.5), numpy.log(w / self.anchor),
                                        numpy.log(h / self.anchor), lab], axis=1)
        return out

    def decode(self, t) -> numpy.ndarray:
        """Boxes ``(..., S, S, 4)`` from offsets ``t`` of shape ``(..., S, S, 4)``
        ``[t_x, t_y, t_w, t_h]``: the inverse of :meth:`encode`."""
        mod = array_module(t)
        S, s = self.grid_size, self.cell_size
        if t.shape[-3:] != (S, S, 4):
            raise ValueError(f"decode: t must have shape (..., {S}, {S}, 4), got "
                             f"{tuple(t.shape)}.")
        j = mod.arange(S)[None, :]
        i = mod.arange(S)[:, None]
        cx = (j + 0.5 + t[..., 0]) * s
        cy = (i + 0.5 + t[..., 1]) * s
        w = self.anchor * mod.exp(mod.clip(t[..., 2], -10, 10))
        h = self.anchor * mod.exp(mod.clip(t[..., 3], -10, 10))
        return mod.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


# ----------------------------------------------------------------------------
# The loss


def smooth_l1(d, beta: float = 1.0):
    r"""Smooth-L1 (Huber) of each entry and its derivative (Girshick, 2015):

    .. math:: \ell(d) = \begin{cases} d^2 / (2\beta) & |d| < \beta \\
              |d| - \beta/2 & \text{otherwise} \end{cases},\qquad
              \ell'(d) = \mathrm{clip}(d/\beta, -1, 1).
    """
    mod = array_module(d)
    a = mod.abs(d)
    value = mod.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)
    return value, mod.clip(d / beta, -1.0, 1.0)


class DetectionLoss(Module):
    r"""The loss of a one-stage grid detector: objectness + box + class, added.

    The network's output has shape ``(n, 5 + C, S, S)``: per cell an objectness logit
    :math:`o`, four box offsets :math:`\hat t` and :math:`C` class logits :math:`z`.
    With the targets of :meth:`GridCoder.encode` (``1_obj`` marks the cells responsible
    for an object),

    .. math:: L = \frac1n \sum_{\text{cells}} \Big[
              \lambda_{obj}\, \mathrm{BCE}(o, 1_{obj})
              + 1_{obj} \big(\lambda_{box} \textstyle\sum_{k=1}^4
                \mathrm{smoothL1}(\hat t_k - t_k)
              + \lambda_{cls}\, \mathrm{CE}(z, c)\big)\Big],

    a sum over cells averaged over images, as YOLO's (Redmon et al., 2016) with its
    squared errors replaced by Fast R-CNN's smooth-L1 and YOLO's class squares by
    cross-entropy. The gradient is written out: :math:`\partial/\partial o =
    \lambda_{obj}(\sigma(o) - 1_{obj})/n`, :math:`\partial/\partial \hat t_k =
    \lambda_{box} 1_{obj}\,\mathrm{clip}((\hat t_k - t_k)/\beta, -1, 1)/n`,
    :math:`\partial/\partial z = \lambda_{cls} 1_{obj} (\mathrm{softmax}(z) - e_c)/n`.

    After each ``forward`` the three terms (already weighted) are in ``terms``.

    Parameters
    ----------
    num_classes : int
    obj_weight, box_weight, cls_weight : float >= 0
        :math:`\lambda_{obj}, \lambda_{box}, \lambda_{cls}`.
    beta : float > 0, default 1.0
        Where smooth-L1 turns from quadratic to linear.
    """

    def __init__(self, num_classes: int, obj_weight: float = 1.0, box_weight: float = 1.0,
                 cls_weight: float = 1.0, beta: float = 1.0):
        super().__init__()
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        self.obj_weight = check_real("obj_weight", obj_weight, low=0.0)
        self.box_weight = check_real("box_weight", box_weight, low=0.0)
        self.cls_weight = check_real("cls_weight", cls_weight, low=0.0)
        self.beta = check_positive("beta", beta)
        self.terms = {}
        self._cache = None

    def extra_repr(self) -> str:
        return (f"num_classes={self.num_classes}, obj_weight={self.obj_weight:g}, "
                f"box_weight={self.box_weight:g}, cls_weight={self.cls_weight:g}, "
                f"beta={self.beta:g}")

    def forward(self, output, target) -> float:
        out = _float_pred("DetectionLoss", output, "output")
        C = self.num_classes
        if out.ndim != 4 or out.shape[1] != 5 + C or out.shape[2] != out.shape[3]:
            raise ValueError(f"DetectionLoss: output must have shape (n, 5 + num_classes = "
                             f"{5 + C}, S, S), got {tuple(out.shape)}.")
        mod = array_module(out)
        n, _, S, _ = out.shape
        tgt = mod.asarray(target)
        if tuple(tgt.shape) != (n, S, S, 6):
            raise ValueError(f"DetectionLoss: target must have shape (n, S, S, 6) = "
                             f"{(n, S, S, 6)} (GridCoder.encode), got {tuple(tgt.shape)}.")
        if not bool(mod.isfinite(tgt).all()):
            raise ValueError("DetectionLoss: target contains NaN or infinity.")
        p = out.transpose(0, 2, 3, 1)                       # (n, S, S, 5 + C)
        obj = tgt[..., 0].astype(out.dtype)
        if bool(((obj != 0) & (obj != 1)).any()):
            raise ValueError("DetectionLoss: target[..., 0] (object or not) must be 0 or 1.")
        cls = tgt[..., 5].astype(numpy.int64)
        if bool((obj.astype(bool) & ((cls < 0) | (cls >= C))).any()):
            raise ValueError(f"DetectionLoss: a class in target[..., 5] is outside "
                             f"[0, {C}).")
        # objectness: stable BCE with logits on every cell
        o = p[..., 0]
        bce = mod.maximum(o, 0) - o * obj + mod.log1p(mod.exp(-mod.abs(o)))
        # box: smooth-L1 on the responsible cells
        diff = p[..., 1:5] - tgt[..., 1:5].astype(out.dtype)
        sl1, dsl1 = smooth_l1(diff, self.beta)
        # class: cross-entropy on the responsible cells
        z = p[..., 5:]
        shifted = z - z.max(axis=-1, keepdims=True)
        e = mod.exp(shifted)
        s = e.sum(axis=-1, keepdims=True)
        chosen = mod.take_along_axis(shifted, cls[..., None], axis=-1)[..., 0]
        ce = mod.log(s[..., 0]) - chosen
        self.terms = {
            "objectness": self.obj_weight * float(bce.sum()) / n,
            "box": self.box_weight * float((sl1.sum(axis=-1) * obj).sum()) / n,
            "class": self.cls_weight * float((ce * obj).sum()) / n,
        }
        self._cache = (o, obj, dsl1, e / s, cls, n, out.shape)
        return sum(self.terms.values())

    def backward(self, dout=1.0):
        if self._cache is None:
            raise _no_forward("DetectionLoss")
        o, obj, dsl1, prob, cls, n, shape = self._cache
        scale = _scalar_dout("DetectionLoss", dout) / n
        mod = array_module(o)
        sig = 1.0 / (1.0 + mod.exp(-o))
        d_obj = self.obj_weight * scale * (sig - obj)
        d_box = self.box_weight * scale * dsl1 * obj[..., None]
        onehot = (mod.arange(prob.shape[-1]) == cls[..., None]).astype(prob.dtype)
        d_cls = self.cls_weight * scale * (prob - onehot) * obj[..., None]
        grad = mod.concatenate([d_obj[..., None], d_box, d_cls], axis=-1)
        return mod.ascontiguousarray(grad.transpose(0, 3, 1, 2))


# ----------------------------------------------------------------------------
# From the network's output to detections


def decode_predictions(output, coder: GridCoder, score_threshold: float = 0.05,
                       top_class_only: bool = False):
    r"""Detections from a grid detector's raw output, before NMS.

    Each cell proposes its box once per class :math:`c`, with the class-specific score
    :math:`\sigma(o) \cdot p_c` (objectness times the class probability: YOLO's
    class-specific confidence, Redmon et al. 2016); proposals scoring below
    ``score_threshold`` are dropped. Keeping the runner-up classes, as YOLO's, SSD's and
    Faster R-CNN's evaluations do, lets a box whose class is uncertain still count for
    the right class, lower in the ranking.

    Parameters
    ----------
    output : array (n, 5 + C, S, S)
    coder : GridCoder
    score_threshold : float in [0, 1]
    top_class_only : bool, default False
        Propose each box only with its most probable class.

    Returns
    -------
    list of (boxes (k, 4), scores (k,), labels (k,)) NumPy arrays, one per image.
    """
    score_threshold = _check_threshold("score_threshold", score_threshold)
    top_class_only = check_bool("top_class_only", top_class_only)
    if not isinstance(coder, GridCoder):
        raise TypeError(f"decode_predictions: coder must be a GridCoder, got "
                        f"{type(coder).__name__}.")
    out = numpy.asarray(to_host(output), dtype=numpy.float64)
    S = coder.grid_size
    if out.ndim != 4 or out.shape[1] < 6 or out.shape[2:] != (S, S):
        raise ValueError(f"decode_predictions: output must have shape (n, 5 + C, {S}, {S}), "
                         f"got {out.shape}.")
    if not numpy.isfinite(out).all():
        raise ValueError("decode_predictions: output contains NaN or infinity.")
    p = out.transpose(0, 2, 3, 1)
    obj = 1.0 / (1.0 + numpy.exp(-p[..., 0]))
    z = p[..., 5:] - p[..., 5:].max(axis=-1, keepdims=True)
    prob = numpy.exp(z)
    prob /= prob.sum(axis=-1, keepdims=True)
    scores = obj[..., None] * prob                          # (n, S, S, C)
    if top_class_only:
        best = prob.argmax(axis=-1)[..., None]
        scores = numpy.where(numpy.arange(prob.shape[-1]) == best, scores, -1.0)
    boxes = coder.decode(p[..., 1:5])                       # (n, S, S, 4)
    result = []
    for k in range(len(p)):
        i, j, c = numpy.nonzero(scores[k] >= score_threshold)
        order = numpy.argsort(-scores[k][i, j, c], kind="stable")
        i, j, c = i[order], j[order], c[order]
        result.append((boxes[k][i, j], scores[k][i, j, c], c.astype(numpy.int64)))
    return result


def nms(boxes, scores, labels=None, iou_threshold: float = 0.5) -> numpy.ndarray:
    r"""Greedy non-maximum suppression, class by class.

    Take the highest-scoring box left, keep it, and drop every remaining box **of the
    same class** whose IoU with it exceeds ``iou_threshold``; repeat until no box is
    left (as in Girshick et al. 2014's R-CNN and torchvision's ``batched_nms``). Equal
    scores keep their input order.

    Parameters
    ----------
    boxes : array (k, 4)
    scores : array (k,)
    labels : int array (k,), optional
        Without labels every box is in one class.
    iou_threshold : float in [0, 1], default 0.5

    Returns
    -------
    ndarray of int
        Indices of the kept boxes, highest score first.
    """
    iou_threshold = _check_threshold("iou_threshold", iou_threshold)
    b = numpy.asarray(to_host(check_boxes("boxes", boxes)), dtype=numpy.float64)
    s = _check_scores("scores", scores, len(b))
    lab = numpy.zeros(len(b), dtype=numpy.int64) if labels is None \
        else numpy.asarray(to_host(labels)).reshape(-1)
    if lab.shape[0] != len(b):
        raise ValueError(f"labels must hold one class per box ({len(b)}), got {lab.shape[0]}.")
    order = numpy.argsort(-s, kind="stable")
    iou = box_iou(b, b)
    alive = numpy.ones(len(b), dtype=bool)
    keep = []
    for i in order:
        if not alive[i]:
            continue
        keep.append(i)
        alive &= ~((lab == lab[i]) & (iou[i] > iou_threshold))
    return numpy.array(keep, dtype=numpy.int64)


def postprocess(output, coder: GridCoder, score_threshold: float = 0.05,
                iou_threshold: float = 0.5):
    """:func:`decode_predictions` then :func:`nms` on each image: the final detections."""
    iou_threshold = _check_threshold("iou_threshold", iou_threshold)
    result = []
    for boxes, scores, labels in decode_predictions(output, coder, score_threshold):
        keep = nms(boxes, scores, labels, iou_threshold)
        result.append((boxes[keep], scores[keep], labels[keep]))
    return result


# ----------------------------------------------------------------------------
# Average precision


def match_detections(det_boxes, det_scores, gt_boxes, iou_threshold: float = 0.5):
    r"""Which detections of one class in one image are true positives (PASCAL VOC's rule).

    Detections are taken by decreasing score; each is assigned the ground-truth box it
    overlaps most. It is a true positive when that IoU exceeds ``iou_threshold`` and the
    ground truth is not already taken by a higher-scoring detection; otherwise (a second
    detection of one object, or a poor box) it is a false positive (Everingham et al.,
    2010, section 4.4).

    Returns
    -------
    ndarray of bool, shape (k,)
        In the order of ``det_boxes``.
    """
    iou_threshold = _check_threshold("iou_threshold", iou_threshold)
    d = numpy.asarray(to_host(check_boxes("det_boxes", det_boxes)), dtype=numpy.float64)
    g = numpy.asarray(to_host(check_boxes("gt_boxes", gt_boxes)), dtype=numpy.float64)
    s = _check_scores("det_scores", det_scores, len(d))
    tp = numpy.zeros(len(d), dtype=bool)
    if not len(d) or not len(g):
        return tp
    iou = box_iou(d, g)
    taken = numpy.zeros(len(g), dtype=bool)
    for i in numpy.argsort(-s, kind="stable"):
        j = int(numpy.argmax(iou[i]))
        if iou[i, j] > iou_threshold and not taken[j]:
            tp[i] = taken[j] = True
    return tp


def precision_recall(scores, is_tp, num_gt: int):
    r"""Precision and recall after each detection, ranked by decreasing score.

    .. math:: P_k = \frac{TP_k}{k}, \qquad R_k = \frac{TP_k}{N_{gt}}

    with :math:`TP_k` the true positives among the ``k`` highest-scoring detections and
    :math:`N_{gt}` the number of ground-truth objects (missed ones count against recall).

    Returns
    -------
    precision, recall : ndarrays (k,)
    """
    num_gt = check_int("num_gt", num_gt, minimum=0)
    s = numpy.asarray(to_host(scores), dtype=numpy.float64).reshape(-1)
    t = numpy.asarray(to_host(is_tp)).reshape(-1)
    if t.shape != s.shape:
        raise ValueError(f"is_tp must have one entry per score ({s.size}), got {t.size}.")
    if not numpy.isfinite(s).all():
        raise ValueError("scores contains NaN or infinity.")
    if t.dtype != bool and not numpy.isin(t, (0, 1)).all():
        raise ValueError("is_tp must hold True/False (or 1/0) per detection.")
    t = t.astype(bool)
    if int(t.sum()) > num_gt:
        raise ValueError(f"is_tp has {int(t.sum())} true positives for num_gt={num_gt} "
                         "objects: each object can be found once.")
    order = numpy.argsort(-s, kind="stable")
    tp = numpy.cumsum(t[order])
    k = numpy.arange(1, len(s) + 1)
    recall = tp / num_gt if num_gt else numpy.full(len(s), numpy.nan)
    return tp / k, recall


def _check_interpolation(interpolation) -> None:
    if not (isinstance(interpolation, str) and interpolation == "all"
            or interpolation == 101 and not isinstance(interpolation, (bool, str, float))):
        raise ValueError(f"interpolation must be 'all' (PASCAL VOC 2010+) or 101 (COCO), got "
                         f"{interpolation!r}.")


def average_precision(scores, is_tp, num_gt: int, interpolation="all") -> float:
    r"""Average precision of ranked detections: PASCAL VOC 2010+'s all-point definition.

    Rank the detections by score, compute precision :math:`P_k` and recall :math:`R_k`
    after each (:func:`precision_recall`), replace each precision by the best precision
    at any recall at least as large (the **precision envelope**
    :math:`\hat P(r) = \max_{r' \ge r} P(r')`), and take the area under that step
    curve:

    .. math:: \mathrm{AP} = \sum_k (R_k - R_{k-1})\, \hat P(R_k),\qquad R_0 = 0.

    This is the definition of the VOC devkit since 2010 (Everingham et al., 2010 and
    2015; ``voc_ap`` with ``use_07_metric=False`` in Girshick's py-faster-rcnn). COCO
    (Lin et al., 2014; ``pycocotools``' ``COCOeval.accumulate``) samples the same
    envelope at the 101 recall levels :math:`r = 0, 0.01, \dots, 1` instead, taking at
    each the envelope at the first detection whose recall reaches :math:`r` (0 beyond the
    largest recall): ``interpolation=101``. Missed objects simply cap the recall below 1.

    Parameters
    ----------
    scores : array (k,)
    is_tp : bool array (k,)
        Whether each detection is a true positive (:func:`match_detections`).
    num_gt : int
        Number of ground-truth objects of the class.
    interpolation : "all" or 101, default "all"
        VOC's area under the envelope at every recall step, or COCO's 101-point mean.

    Returns
    -------
    float
        In [0, 1]; NaN when ``num_gt`` is 0 (AP is undefined without objects; such a
        class is left out of the mean).
    """
    _check_interpolation(interpolation)
    precision, recall = precision_recall(scores, is_tp, num_gt)
    if num_gt == 0:
        return float("nan")
    if not len(precision):
        return 0.0
    envelope = numpy.maximum.accumulate(precision[::-1])[::-1]
    if interpolation == 101:
        first = numpy.searchsorted(recall, numpy.linspace(0.0, 1.0, 101), side="left")
        reached = first < len(recall)
        return float(numpy.sum(envelope[first[reached]]) / 101)
    steps = numpy.diff(numpy.concatenate([[0.0], recall]))
    return float(numpy.sum(steps * envelope))


def mean_average_precision(detections, ground_truth, num_classes: int,
                           iou_threshold: float = 0.5, interpolation="all"):
    r"""Mean over classes of the average precision at one IoU threshold (mAP@0.5 by default).

    For each class, detections of all images are pooled, matched per image with
    :func:`match_detections`, ranked by score and scored by :func:`average_precision`.
    Classes without any ground-truth object are left out of the mean.

    Parameters
    ----------
    detections : list of (boxes (k, 4), scores (k,), labels (k,)), one per image
        E.g. the output of :func:`postprocess`.
    ground_truth : list of (boxes (m, 4), labels (m,)), one per image
    num_classes : int
    iou_threshold : float in [0, 1], default 0.5
    interpolation : "all" or 101
        See :func:`average_precision`.

    Returns
    -------
    mAP : float
    ap : ndarray (num_classes,)
        Per-class AP (NaN for a class with no ground truth).
    """
    num_classes = check_int("num_classes", num_classes, minimum=1)
    iou_threshold = _check_threshold("iou_threshold", iou_threshold)
    _check_interpolation(interpolation)
    if len(detections) != len(ground_truth):
        raise ValueError(f"detections and ground_truth must have one entry per image, got "
                         f"{len(detections)} and {len(ground_truth)}.")
    scores = [[] for _ in range(num_classes)]
    hits = [[] for _ in range(num_classes)]
    num_gt = numpy.zeros(num_classes, dtype=int)
    for n, ((db, ds, dl), (gb, gl)) in enumerate(zip(detections, ground_truth)):
        db = numpy.asarray(to_host(check_boxes(f"detections[{n}] boxes", db)))
        gb = numpy.asarray(to_host(check_boxes(f"ground_truth[{n}] boxes", gb)))
        ds = _check_scores(f"detections[{n}] scores", ds, len(db))
        dl = numpy.asarray(to_host(dl)).reshape(-1)
        gl = numpy.asarray(to_host(gl)).reshape(-1)
        for name, lab, m in ((f"detections[{n}] labels", dl, len(db)),
                             (f"ground_truth[{n}] labels", gl, len(gb))):
            if lab.shape[0] != m or (m and (lab.dtype.kind not in "iu" or lab.min() < 0
                                            or lab.max() >= num_classes)):
                raise ValueError(f"{name} must hold one class in [0, {num_classes}) per box "
                                 f"({m}), got {lab.tolist()}.")
        for c in range(num_classes):
            dc, gc = dl == c, gl == c
            num_gt[c] += int(gc.sum())
            if dc.any():
                scores[c].append(ds[dc])
                hits[c].append(match_detections(db[dc], ds[dc], gb[gc], iou_threshold))
    ap = numpy.full(num_classes, numpy.nan)
    for c in range(num_classes):
        if num_gt[c]:
            s = numpy.concatenate(scores[c]) if scores[c] else numpy.zeros(0)
            h = numpy.concatenate(hits[c]) if hits[c] else numpy.zeros(0, dtype=bool)
            ap[c] = average_precision(s, h, int(num_gt[c]), interpolation)
    present = ~numpy.isnan(ap)
    return (float(ap[present].mean()) if present.any() else float("nan")), ap
