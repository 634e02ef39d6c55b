"""Reference average precision from pycocotools' COCOeval, for gdlib.detection's tests.

Run with a Python that has ``numpy`` and ``pycocotools`` (never a dependency of the
course)::

    python tools/reference/coco_map.py

A random detection problem is built: 40 images, each with one to four disjoint
ground-truth boxes of 5 classes, and detections that are jittered copies of them
(some with the wrong class, some duplicated), plus random false positives, all with
distinct random scores. COCOeval scores it at the single IoU threshold 0.5 with its
101-point interpolation; the per-class AP is what gdlib's
``mean_average_precision(..., interpolation=101)`` must reproduce.

With disjoint ground-truth boxes a detection can overlap at most one of them by more
than 0.5, so COCO's matching (best *unmatched* ground truth) and PASCAL VOC's (best
ground truth; a second detection of it is a false positive) agree, and no IoU equals 0.5
exactly (COCO counts IoU >= 0.5, VOC IoU > 0.5). Writes
``tests/fixtures/detection_coco.npz``.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "detection_coco.npz"
N_IMAGES, N_CLASSES = 40, 5


def disjoint_boxes(rng, k):
    boxes = []
    while len(boxes) < k:
        x0, y0 = rng.uniform(0, 80, size=2)
        w, h = rng.uniform(6, 20, size=2)
        box = (x0, y0, x0 + w, y0 + h)
        if all(box[0] >= q[2] or q[0] >= box[2] or box[1] >= q[3] or q[1] >= box[3]
               for q in boxes):
            boxes.append(box)
    return np.array(boxes)


def main() -> None:
    rng = np.random.default_rng(2017)
    gt_rows, det_rows = [], []          # (image, x0, y0, x1, y1, class[, score])
    for img in range(N_IMAGES):
        boxes = disjoint_boxes(rng, int(rng.integers(1, 5)))
        labels = rng.integers(0, N_CLASSES, size=len(boxes))
        for b, c in zip(boxes, labels):
            gt_rows.append((img, *b, c))
            for _ in range(int(rng.integers(0, 3))):             # 0-2 detections per object
                w, h = b[2] - b[0], b[3] - b[1]
                jitter = rng.normal(scale=0.12, size=4) * [w, h, w, h]
                cls = c if rng.random() < 0.8 else rng.integers(0, N_CLASSES)
                det_rows.append((img, *(b + jitter), cls, rng.random()))
        for _ in range(int(rng.integers(0, 3))):                 # false positives
            x0, y0 = rng.uniform(0, 90, size=2)
            det_rows.append((img, x0, y0, x0 + rng.uniform(4, 15), y0 + rng.uniform(4, 15),
                             rng.integers(0, N_CLASSES), rng.random()))
    gt = np.array(gt_rows, dtype=float)
    det = np.array(det_rows, dtype=float)
    det[:, 3:5] = np.maximum(det[:, 3:5], det[:, 1:3] + 0.5)     # keep x1 > x0, y1 > y0

    def xywh(r):
        return [float(r[1]), float(r[2]), float(r[3] - r[1]), float(r[4] - r[2])]

    dataset = {
        "images": [{"id": i} for i in range(N_IMAGES)],
        "categories": [{"id": c} for c in range(N_CLASSES)],
        "annotations": [{"id": k + 1, "image_id": int(r[0]), "category_id": int(r[5]),
                         "bbox": xywh(r), "area": float((r[3] - r[1]) * (r[4] - r[2])),
                         "iscrowd": 0} for k, r in enumerate(gt)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = dataset
        coco.createIndex()
        results = coco.loadRes([{"image_id": int(r[0]), "category_id": int(r[5]),
                                 "bbox": xywh(r), "score": float(r[6])} for r in det])
        ev = COCOeval(coco, results, "bbox")
        ev.params.iouThrs = np.array([0.5])
        ev.params.maxDets = [100]
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.evaluate()
        ev.accumulate()
    # precision: [T, R, K, A, M] = [1 IoU, 101 recalls, classes, 1 area, 1 maxDets]
    prec = ev.eval["precision"][0, :, :, 0, 0]
    ap = np.array([prec[:, k].mean() if (prec[:, k] > -1).all() else np.nan
                   for k in range(N_CLASSES)])
    np.savez_compressed(OUT, gt=gt, det=det, ap=ap, map=np.nanmean(ap))
    print(f"wrote {OUT}: {len(gt)} objects, {len(det)} detections, AP {np.round(ap, 4)}")


if __name__ == "__main__":
    main()
