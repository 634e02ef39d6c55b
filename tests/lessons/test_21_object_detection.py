"""Lesson 21: IoU of two box sets, class-wise NMS, average precision from ranked detections."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "21-object-detection"


def _iou(inter: str, union: str, w: str = "np.minimum(a[:, None, 2], b[None, :, 2]) - "
                                          "np.maximum(a[:, None, 0], b[None, :, 0])",
         h: str = "np.minimum(a[:, None, 3], b[None, :, 3]) - "
                  "np.maximum(a[:, None, 1], b[None, :, 1])",
         area_a: str = "(a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])",
         area_b: str = "(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])") -> str:
    return f"""
def iou_matrix(boxes_a, boxes_b):
    a = np.asarray(boxes_a, dtype=float)
    b = np.asarray(boxes_b, dtype=float)
    w = {w}
    h = {h}
    area_a = {area_a}
    area_b = {area_b}
    inter = {inter}
    return inter / ({union})
"""


CLAMPED = "np.maximum(w, 0) * np.maximum(h, 0)"
UNION = "area_a[:, None] + area_b[None, :] - inter"


def _nms(condition: str, order: str = "np.argsort(-np.asarray(scores), kind='stable')",
         ret: str = "np.array(keep, dtype=int)") -> str:
    return f"""
def nms_classwise(boxes, scores, labels, iou_threshold):
    boxes = np.asarray(boxes, dtype=float)
    order = {order}
    iou = iou_matrix(boxes, boxes)
    keep = []
    for i in order:
        if all({condition} for j in keep):
            keep.append(i)
    return {ret}
"""


SAME_CLASS_OK = "labels[j] != labels[i] or iou[i, j] <= iou_threshold"


def _ap(order: str = "np.argsort(-np.asarray(scores, dtype=float), kind='stable')",
        recall: str = "tp / num_gt", envelope: str = "np.maximum.accumulate(precision[::-1])[::-1]",
        ret: str = "np.sum(np.diff(np.concatenate([[0.0], recall])) * envelope)") -> str:
    return f"""
def ranked_average_precision(scores, is_tp, num_gt):
    order = {order}
    hits = np.asarray(is_tp, dtype=bool)[order]
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = {recall}
    envelope = {envelope}
    return float({ret})
"""


WRONG = [
    # Exercise 1: IoU
    Wrong("ex1", "intersection not clamped at 0", _iou("w * h", UNION), expect=("clamp",)),
    Wrong("ex1", "union counts the intersection twice", _iou(CLAMPED, "area_a[:, None] + "
                                                                 "area_b[None, :]"),
          expect=("subtract the intersection",)),
    Wrong("ex1", "+1 pixel convention",
          _iou("np.maximum(w + 1, 0) * np.maximum(h + 1, 0)", UNION,
               area_a="(a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)",
               area_b="(b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)"),
          expect=(r"\+1 pixel",)),
    Wrong("ex1", "divided by the smaller area",
          _iou(CLAMPED, "np.minimum(area_a[:, None], area_b[None, :])"),
          expect=("smaller box",)),
    Wrong("ex1", "divided by the first box's area", _iou(CLAMPED, "area_a[:, None]"),
          expect=("boxes_a's box only",)),
    Wrong("ex1", "min and max swapped (enclosing box)",
          _iou(CLAMPED, UNION,
               w="np.maximum(a[:, None, 2], b[None, :, 2]) - "
                 "np.minimum(a[:, None, 0], b[None, :, 0])",
               h="np.maximum(a[:, None, 3], b[None, :, 3]) - "
                 "np.minimum(a[:, None, 1], b[None, :, 1])"),
          expect=("encloses both",)),
    Wrong("ex1", "transposed result", _iou(CLAMPED, UNION) + "\n_iou_rows = iou_matrix\n"
          "iou_matrix = lambda a, b: _iou_rows(a, b).T\n", expect=("transpose",)),
    Wrong("ex1", "boxes read as (x, y, width, height)", """
def iou_matrix(boxes_a, boxes_b):
    a = np.asarray(boxes_a, dtype=float)
    b = np.asarray(boxes_b, dtype=float)
    ax1, ay1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx1, by1 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    w = np.minimum(ax1[:, None], bx1[None, :]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(ay1[:, None], by1[None, :]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(w, 0) * np.maximum(h, 0)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return inter / union
""", expect=("corners", "width is x1 - x0")),
    Wrong("ex1", "the product clamped instead of each side",
          _iou("np.maximum(w * h, 0)", UNION), expect=("clamp each side",)),
    Wrong("ex1", "library's box_iou", """
def iou_matrix(boxes_a, boxes_b):
    return box_iou(np.asarray(boxes_a, dtype=float), np.asarray(boxes_b, dtype=float))
""", expect=("switched off",)),
    # Exercise 2: NMS
    Wrong("ex2", "never suppresses", _nms("True"), expect=("nothing was suppressed",)),
    Wrong("ex2", "suppresses across classes", _nms("iou[i, j] <= iou_threshold"),
          expect=("another\\* class|another class",)),
    Wrong("ex2", "not sorted by score", _nms(SAME_CLASS_OK, order="range(len(boxes))"),
          expect=("input order",)),
    Wrong("ex2", "comparison inverted",
          _nms("labels[j] != labels[i] or iou[i, j] >= iou_threshold"),
          expect=("overlap \\*little\\*",)),
    Wrong("ex2", "returned in index order", _nms(SAME_CLASS_OK, ret="np.sort(keep)"),
          expect=("index order",)),
    Wrong("ex2", "suppresses at IoU == threshold (>= instead of >)",
          _nms("labels[j] != labels[i] or iou[i, j] < iou_threshold"),
          expect=("equals iou_threshold", "greater than")),
    Wrong("ex2", "compared with every higher-scoring box, kept or not", """
def nms_classwise(boxes, scores, labels, iou_threshold):
    boxes = np.asarray(boxes, dtype=float)
    order = np.argsort(-np.asarray(scores), kind="stable")
    iou = iou_matrix(boxes, boxes)
    keep = []
    for n, i in enumerate(order):
        if all(labels[j] != labels[i] or iou[i, j] <= iou_threshold for j in order[:n]):
            keep.append(i)
    return np.array(keep, dtype=int)
""", expect=("itself been suppressed", "already \\*kept")),
    Wrong("ex2", "a boolean mask instead of indices", """
def nms_classwise(boxes, scores, labels, iou_threshold):
    boxes = np.asarray(boxes, dtype=float)
    order = np.argsort(-np.asarray(scores), kind="stable")
    iou = iou_matrix(boxes, boxes)
    keep = np.zeros(len(boxes), dtype=bool)
    for i in order:
        if all(labels[j] != labels[i] or iou[i, j] <= iou_threshold for j in np.flatnonzero(keep)):
            keep[i] = True
    return keep
""", expect=("boolean mask", "indices")),
    Wrong("ex2", "library's nms", """
def nms_classwise(boxes, scores, labels, iou_threshold):
    return nms(np.asarray(boxes, dtype=float), scores, labels, iou_threshold)
""", expect=("switched off",)),
    # Exercise 3: average precision
    Wrong("ex3", "no precision envelope", _ap(envelope="precision"),
          expect=("envelope",)),
    Wrong("ex3", "recall over the detections", _ap(recall="tp / len(hits)"),
          expect=("number of true objects",)),
    Wrong("ex3", "not sorted by score", _ap(order="np.arange(len(scores))"),
          expect=("input order",)),
    Wrong("ex3", "sorted ascending", _ap(order="np.argsort(scores, kind='stable')"),
          expect=("increasing",)),
    Wrong("ex3", "mean of the precisions", _ap(ret="np.mean(precision)"),
          expect=("mean of the precisions",)),
    Wrong("ex3", "VOC 2007's 11 points", """
def ranked_average_precision(scores, is_tp, num_gt):
    order = np.argsort(-np.asarray(scores, dtype=float), kind='stable')
    tp = np.cumsum(np.asarray(is_tp, dtype=bool)[order])
    p, r = tp / np.arange(1, len(tp) + 1), tp / num_gt
    return float(np.mean([p[r >= t].max() if np.any(r >= t) else 0.0
                          for t in np.linspace(0, 1, 11)]))
""", expect=("11-point",)),
    Wrong("ex3", "envelope taken forwards (running max from the top)",
          _ap(envelope="np.maximum.accumulate(precision)"),
          expect=("higher", r"precision\[::-1\]")),
    Wrong("ex3", "first recall step R_1 - R_0 dropped",
          _ap(ret="np.sum(np.diff(recall) * envelope[1:])"),
          expect=("first recall step", "prepend 0")),
    Wrong("ex3", "library's average_precision", """
def ranked_average_precision(scores, is_tp, num_gt):
    return average_precision(scores, is_tp, num_gt)
""", expect=("switched off",)),
]
