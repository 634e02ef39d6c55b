"""gdlib.detection and gdlib.data.detection: IoU, the grid coder, the loss, NMS, AP, the data."""

import time

import numpy as np
import pytest

from gdlib import backend
from gdlib.data import make_digit_canvases
from gdlib.data.detection import digit_pools, resize_bilinear
from gdlib.detection import (
    DetectionLoss,
    GridCoder,
    average_precision,
    box_area,
    box_iou,
    decode_predictions,
    match_detections,
    mean_average_precision,
    nms,
    postprocess,
    precision_recall,
    smooth_l1,
)
from gdlib.gradcheck import check_gradient

# ----------------------------------------------------------------------------
# IoU


def test_iou_hand_computed():
    # A = (0,0)-(4,4), area 16; B = (2,2)-(6,6), area 16: they share the 2x2 square
    # (2,2)-(4,4), so IoU = 4 / (16 + 16 - 4) = 1/7.
    # C = (5,5)-(7,7), area 4, lies beyond A in x and in y: the "overlap" widths are
    # min(4,7) - max(0,5) = -1 twice, whose product +1 must be clamped to 0: IoU(A, C) = 0.
    # B and C share (5,5)-(6,6), area 1: IoU = 1 / (16 + 4 - 1) = 1/19.
    a = np.array([[0.0, 0, 4, 4], [2, 2, 6, 6]])
    c = np.array([[5.0, 5, 7, 7], [0, 0, 4, 4]])
    want = np.array([[0.0, 1.0], [1 / 19, 1 / 7]])
    np.testing.assert_allclose(box_iou(a, c), want, rtol=1e-12)
    np.testing.assert_allclose(box_iou(c, a), want.T, rtol=1e-12)
    np.testing.assert_allclose(box_area(a), [16.0, 16.0])


def test_iou_edge_cases():
    assert box_iou(np.zeros((0, 4)), np.ones((3, 4)) * [0, 0, 1, 1]).shape == (0, 3)
    assert box_iou(np.zeros((2, 4)), np.zeros((0, 4))).shape == (2, 0)
    # touching boxes share an edge of zero area; empty boxes have IoU 0, not NaN
    np.testing.assert_array_equal(box_iou([[0, 0, 2, 2]], [[2, 0, 4, 2]]), [[0.0]])
    np.testing.assert_array_equal(box_iou([[1, 1, 1, 1]], [[1, 1, 1, 1]]), [[0.0]])
    # a box inside another: IoU = small area / large area
    np.testing.assert_allclose(box_iou([[0, 0, 10, 10]], [[2, 2, 7, 7]]), [[0.25]])


def test_iou_random_properties():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 20, size=(30, 2))
    b = np.hstack([xy, xy + rng.uniform(0.5, 8, size=(30, 2))])
    iou = box_iou(b, b)
    np.testing.assert_allclose(np.diag(iou), 1.0)
    np.testing.assert_allclose(iou, iou.T)
    assert iou.min() >= 0 and iou.max() <= 1 + 1e-12
    # against a loop over pairs written from the definition
    for i in range(5):
        for j in range(5):
            w = max(0.0, min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0]))
            h = max(0.0, min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1]))
            area = lambda q: (q[2] - q[0]) * (q[3] - q[1])  # noqa: E731
            assert iou[i, j] == pytest.approx(w * h / (area(b[i]) + area(b[j]) - w * h))


# ----------------------------------------------------------------------------
# Grid coder


def test_grid_coder_round_trip_and_cells():
    coder = GridCoder(grid_size=4, cell_size=8, anchor=12)
    boxes = [np.array([[2.0, 3, 14, 15], [20, 17, 30, 31]]), np.array([[0.0, 0, 8, 8]])]
    labels = [np.array([3, 7]), np.array([0])]
    t = coder.encode(boxes, labels)
    assert t.shape == (2, 4, 4, 6)
    # box 1: centre (8, 9) -> column 1, row 1; t_x = 8/8 - 1.5 = -0.5, t_y = 9/8 - 1.5
    np.testing.assert_allclose(t[0, 1, 1], [1, -0.5, 9 / 8 - 1.5, 0, 0, 3])
    assert t[0, 3, 3, 0] == 1 and t[0, 3, 3, 5] == 7 and t[1, 0, 0, 0] == 1
    assert t[..., 0].sum() == 3
    decoded = coder.decode(t[..., 1:5])
    np.testing.assert_allclose(decoded[0, 1, 1], boxes[0][0], atol=1e-12)
    np.testing.assert_allclose(decoded[0, 3, 3], boxes[0][1], atol=1e-12)
    np.testing.assert_allclose(decoded[1, 0, 0], boxes[1][0], atol=1e-12)


def test_grid_coder_refuses_two_centres_in_one_cell():
    coder = GridCoder(4, 8, 12)
    with pytest.raises(ValueError, match="one cell"):
        coder.encode([np.array([[0.0, 0, 4, 4], [1, 1, 5, 5]])], [np.array([1, 2])])
    with pytest.raises(ValueError, match="labels"):
        coder.encode([np.array([[0.0, 0, 4, 4]])], [np.array([1, 2])])
    with pytest.raises(ValueError, match="grid_size"):
        GridCoder(0, 8, 12)
    with pytest.raises(ValueError, match="anchor"):
        GridCoder(4, 8, -1)


# ----------------------------------------------------------------------------
# Loss


def _loss_case(seed=0, n=3, S=4, C=10):
    rng = np.random.default_rng(seed)
    out = rng.normal(size=(n, 5 + C, S, S)) * 1.5
    tgt = np.zeros((n, S, S, 6))
    cells = rng.random((n, S, S)) < 0.3
    tgt[..., 0] = cells
    tgt[..., 1:5] = rng.normal(size=(n, S, S, 4)) * cells[..., None]
    tgt[..., 5] = rng.integers(0, C, size=(n, S, S)) * cells
    return out, tgt


def test_loss_hand_computed():
    # One image, a 1x1 grid, 2 classes. Output: o = 0, t_hat = (0.5, 0, 2, 0), z = (0, 0);
    # target: an object of class 1 with t = 0.
    # objectness BCE(0, 1) = ln 2; box smooth-L1 (beta 1): 0.5^2/2 + 0 + (2 - 1/2) + 0 = 1.625;
    # class CE of two equal logits = ln 2. Total 2 ln 2 + 1.625.
    out = np.array([0.0, 0.5, 0.0, 2.0, 0.0, 0.0, 0.0]).reshape(1, 7, 1, 1)
    tgt = np.array([1.0, 0, 0, 0, 0, 1]).reshape(1, 1, 1, 6)
    loss = DetectionLoss(num_classes=2)
    assert loss(out, tgt) == pytest.approx(2 * np.log(2) + 1.625, rel=1e-12)
    assert loss.terms == pytest.approx({"objectness": np.log(2), "box": 1.625,
                                        "class": np.log(2)})
    # its gradient: sigma(0) - 1 = -0.5; clip(0.5), 0, clip(2) = 1, 0; softmax - onehot
    np.testing.assert_allclose(loss.backward().reshape(-1),
                               [-0.5, 0.5, 0.0, 1.0, 0.0, 0.5, -0.5])
    # no object: only objectness counts, BCE(0, 0) = ln 2
    tgt[..., 0] = 0
    assert loss(out, tgt) == pytest.approx(np.log(2))


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (0.5, 5.0, 2.0, 0.3)])
def test_loss_gradient_check_float64(weights):
    out, tgt = _loss_case()
    loss = DetectionLoss(10, obj_weight=weights[0], box_weight=weights[1],
                         cls_weight=weights[2], beta=weights[3])

    def f(x):
        return loss.forward(x, tgt)

    def grad(x):
        loss.forward(x, tgt)
        return loss.backward(1.0)

    # keep box differences away from smooth-L1's kinks at +-beta (not differentiable there)
    d = out.transpose(0, 2, 3, 1)[..., 1:5] - tgt[..., 1:5]
    assert np.abs(np.abs(d) - weights[3]).min() > 1e-4
    # atol: the loss is about 10, so central differences carry ~1e-9 of rounding
    result = check_gradient(f, grad, out, rtol=1e-6, atol=1e-7)
    assert result.ok, str(result)
    # dout scales the gradient
    loss.forward(out, tgt)
    np.testing.assert_allclose(loss.backward(2.5), 2.5 * grad(out))


def test_smooth_l1():
    v, g = smooth_l1(np.array([-3.0, -0.5, 0.0, 0.5, 3.0]), beta=1.0)
    np.testing.assert_allclose(v, [2.5, 0.125, 0.0, 0.125, 2.5])
    np.testing.assert_allclose(g, [-1, -0.5, 0, 0.5, 1])


def test_loss_bad_input():
    out, tgt = _loss_case()
    loss = DetectionLoss(10)
    with pytest.raises(ValueError, match="output must have shape"):
        loss(out[:, :-1], tgt)
    with pytest.raises(ValueError, match="target must have shape"):
        loss(out, tgt[..., :5])
    bad = tgt.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="target"):
        loss(out, bad)
    bad = out.copy()
    bad[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="output"):
        loss(bad, tgt)
    bad = tgt.copy()
    bad[0, 0, 0] = [1, 0, 0, 0, 0, 12]
    with pytest.raises(ValueError, match="class"):
        loss(out, bad)
    with pytest.raises(RuntimeError, match="forward first"):
        DetectionLoss(3).backward()
    for name, kw in [("obj_weight", {"obj_weight": -1}), ("beta", {"beta": 0}),
                     ("num_classes", {"num_classes": 0})]:
        kw = {"num_classes": 3, **kw}
        with pytest.raises(ValueError, match=name):
            DetectionLoss(**kw)


# ----------------------------------------------------------------------------
# NMS


def test_nms_hand_computed():
    # A (0,0)-(10,10) score .9 class 0; B (1,1)-(11,11) .8 class 0: IoU 81/119 = 0.68 > 0.5,
    # so B goes; C (1,0)-(11,10) .95 class 1 overlaps A (IoU 90/110) but is another class:
    # both stay; D far away stays. Kept, by score: C, A, D.
    boxes = np.array([[0.0, 0, 10, 10], [1, 1, 11, 11], [1, 0, 11, 10], [20, 20, 30, 30]])
    scores = np.array([0.9, 0.8, 0.95, 0.7])
    labels = np.array([0, 0, 1, 0])
    np.testing.assert_array_equal(nms(boxes, scores, labels, 0.5), [2, 0, 3])
    # without labels C suppresses A and B (one class)
    np.testing.assert_array_equal(nms(boxes, scores, None, 0.5), [2, 3])
    # a threshold above 0.68 keeps B too; threshold 1 keeps everything
    np.testing.assert_array_equal(nms(boxes, scores, labels, 0.7), [2, 0, 1, 3])
    np.testing.assert_array_equal(nms(boxes, scores, labels, 1.0), [2, 0, 1, 3])


def test_nms_edge_cases():
    assert nms(np.zeros((0, 4)), np.zeros(0)).shape == (0,)
    # ties keep the input order
    boxes = np.array([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    np.testing.assert_array_equal(nms(boxes, [0.5, 0.5]), [0])
    np.testing.assert_array_equal(nms(boxes[::-1], [0.5, 0.5]), [0])
    # threshold 0 suppresses any overlap at all, but not touching boxes
    touching = np.array([[0.0, 0, 2, 2], [2, 0, 4, 2], [1, 1, 3, 3]])
    np.testing.assert_array_equal(nms(touching, [0.9, 0.8, 0.7], iou_threshold=0.0), [0, 1])


# ----------------------------------------------------------------------------
# Average precision


def voc_ap_reference(recall, precision):
    """PASCAL VOC 2010+'s AP, re-derived here from the devkit's description.

    Pad the curve with recall 0 and 1 (precision 0 at both ends), make precision
    non-increasing from the right (the envelope), and sum the rectangles under it at
    every point where recall changes.
    """
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    for i in range(len(p) - 2, -1, -1):
        p[i] = max(p[i], p[i + 1])
    changes = np.where(r[1:] != r[:-1])[0]
    return float(np.sum((r[changes + 1] - r[changes]) * p[changes + 1]))


def test_average_precision_hand_computed():
    # Five detections ranked .9 ... .5, hits T F F T T, three objects.
    # precision 1, 1/2, 1/3, 1/2, 3/5; recall 1/3, 1/3, 1/3, 2/3, 1.
    # Envelope at the recall steps: 1 (k=1), max(1/2, 3/5) = 3/5 (k=4), 3/5 (k=5):
    # AP = (1 + 3/5 + 3/5) / 3 = 11/15. Without the envelope: (1 + 1/2 + 3/5) / 3 = 0.7.
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    hits = np.array([True, False, False, True, True])
    p, r = precision_recall(scores, hits, 3)
    np.testing.assert_allclose(p, [1, 1 / 2, 1 / 3, 1 / 2, 3 / 5])
    np.testing.assert_allclose(r, [1 / 3, 1 / 3, 1 / 3, 2 / 3, 1])
    assert average_precision(scores, hits, 3) == pytest.approx(11 / 15, rel=1e-12)
    # the order of the inputs does not matter, the scores do
    perm = [3, 0, 4, 2, 1]
    assert average_precision(scores[perm], hits[perm], 3) == pytest.approx(11 / 15)
    # a fourth object never found caps recall at 3/4: AP = (1 + 3/5 + 3/5) / 4
    assert average_precision(scores, hits, 4) == pytest.approx(0.55)


def test_average_precision_edge_cases():
    assert average_precision([], [], 3) == 0.0                  # no detections
    assert np.isnan(average_precision([0.5], [False], 0))        # no ground truth
    assert average_precision([0.9, 0.1], [True, True], 2) == 1.0
    assert average_precision([0.9, 0.1], [False, False], 2) == 0.0
    # ties: equal scores keep the input order (a stable sort)
    assert average_precision([0.5, 0.5], [True, False], 1) == 1.0
    assert average_precision([0.5, 0.5], [False, True], 1) == 0.5
    with pytest.raises(ValueError, match="num_gt"):
        average_precision([0.9, 0.8], [True, True], 1)


def test_average_precision_matches_voc_definition():
    rng = np.random.default_rng(3)
    for _trial in range(200):
        k = int(rng.integers(1, 30))
        scores = rng.random(k)
        hits = rng.random(k) < rng.random()
        num_gt = int(hits.sum()) + int(rng.integers(0, 4))
        if num_gt == 0:
            continue
        order = np.argsort(-scores, kind="stable")
        tp = np.cumsum(hits[order])
        want = voc_ap_reference(tp / num_gt, tp / np.arange(1, k + 1))
        assert average_precision(scores, hits, num_gt) == pytest.approx(want, abs=1e-12)


def test_match_detections_voc_rule():
    gt = np.array([[0.0, 0, 10, 10], [20, 0, 30, 10]])
    det = np.array([[0.0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10], [40, 40, 50, 50]])
    # the .95 detection takes object 0; the .9 duplicate of it is a false positive
    np.testing.assert_array_equal(match_detections(det, [0.9, 0.95, 0.8, 0.7], gt),
                                  [False, True, True, False])
    assert match_detections(det, [0.9, 0.95, 0.8, 0.7], np.zeros((0, 4))).tolist() == [False] * 4
    assert match_detections(np.zeros((0, 4)), [], gt).shape == (0,)
    # IoU exactly 0.5 does not exceed 0.5 (VOC: "must exceed")
    half = np.array([[0.0, 0, 10, 5]])         # inside object 0, half its area: IoU 0.5
    assert match_detections(half, [1.0], gt, 0.5).tolist() == [False]
    assert match_detections(half, [1.0], gt, 0.49).tolist() == [True]


def test_mean_average_precision_hand_computed():
    # image 0: a 3 found exactly, a 5 found by a poor box (IoU 25/175 < .5), a spurious 3;
    # image 1: the 3 found. Class 3: detections .9 T (img 0), .8 T (img 1), .4 F -> AP 1.
    # Class 5: one detection, a miss, one object -> AP 0. Class 7: no objects -> left out.
    gt = [(np.array([[0.0, 0, 10, 10], [20, 20, 30, 30]]), np.array([3, 5])),
          (np.array([[5.0, 5, 15, 15]]), np.array([3]))]
    dets = [(np.array([[0.0, 0, 10, 10], [25, 25, 35, 35], [40, 0, 50, 10]]),
             np.array([0.9, 0.6, 0.4]), np.array([3, 5, 3])),
            (np.array([[5.0, 5, 15, 15], [0, 0, 4, 4]]), np.array([0.8, 0.3]), np.array([3, 7]))]
    m, ap = mean_average_precision(dets, gt, num_classes=10)
    assert ap[3] == 1.0 and ap[5] == 0.0 and np.isnan(ap[7]) and np.isnan(ap[0])
    assert m == pytest.approx(0.5)
    # a looser threshold counts the poor 5: IoU 25/175 = 1/7
    m, ap = mean_average_precision(dets, gt, num_classes=10, iou_threshold=0.1)
    assert ap[5] == 1.0 and m == 1.0


def test_decode_and_postprocess():
    coder = GridCoder(2, 8, 8)
    out = np.full((1, 7, 2, 2), -20.0)           # 2 classes; every cell says "nothing"
    out[0, 1:5] = 0.0
    out[0, 0, 0, 1] = 20.0                       # cell (row 0, col 1): an object...
    out[0, 6, 0, 1] = 20.0                       # ... of class 1, box (8, 0)-(16, 8)
    dets = decode_predictions(out, coder, score_threshold=0.5)
    boxes, scores, labels = dets[0]
    np.testing.assert_allclose(boxes, [[8.0, 0, 16, 8]])
    assert scores[0] == pytest.approx(1.0) and labels.tolist() == [1]
    assert len(postprocess(out, coder, 0.5, 0.5)[0][0]) == 1
    assert len(decode_predictions(out, coder, 0.0, top_class_only=True)[0][0]) == 4
    assert len(decode_predictions(out, coder, 0.0)[0][0]) == 8        # every class of each cell
    # an uncertain cell proposes its box for both classes, ranked by sigma(o) * p_c
    out[0, 5, 0, 1] = 20.0 + np.log(0.5)                   # p = (1/3, 2/3)
    boxes, scores, labels = decode_predictions(out, coder, score_threshold=0.2)[0]
    np.testing.assert_allclose(scores, [2 / 3, 1 / 3])
    assert labels.tolist() == [1, 0] and np.allclose(boxes[0], boxes[1])
    assert decode_predictions(out, coder, 0.2, top_class_only=True)[0][2].tolist() == [1]


# ----------------------------------------------------------------------------
# Bad input: messages name the parameter


@pytest.mark.parametrize("call, name", [
    (lambda: box_iou([[0, 0, -1, 1]], [[0, 0, 1, 1]]), "boxes_a"),
    (lambda: box_iou([[0, 0, 1, 1]], [[0, 2, 1, 1]]), "boxes_b"),
    (lambda: box_iou([[0, 0, 1]], [[0, 0, 1, 1]]), "boxes_a"),
    (lambda: box_iou([[0, 0, 1, np.nan]], [[0, 0, 1, 1]]), "boxes_a"),
    (lambda: box_iou("boxes", [[0, 0, 1, 1]]), "boxes_a"),
    (lambda: nms([[0, 0, 1, 1]], [0.5], iou_threshold=1.5), "iou_threshold"),
    (lambda: nms([[0, 0, 1, 1]], [0.5], iou_threshold=-0.1), "iou_threshold"),
    (lambda: nms([[0, 0, 1, 1]], [0.5, 0.4]), "scores"),
    (lambda: nms([[0, 0, 1, 1]], [np.nan]), "scores"),
    (lambda: nms([[0, 0, 1, 1]], [0.5], labels=[0, 1]), "labels"),
    (lambda: decode_predictions(np.zeros((1, 7, 2, 2)), GridCoder(2, 8, 8), 2.0),
     "score_threshold"),
    (lambda: decode_predictions(np.zeros((1, 7, 3, 3)), GridCoder(2, 8, 8)), "output"),
    (lambda: decode_predictions(np.zeros((1, 7, 2, 2)), GridCoder(2, 8, 8), 0.1, "yes"),
     "top_class_only"),
    (lambda: postprocess(np.zeros((1, 7, 2, 2)), GridCoder(2, 8, 8), 0.1, np.nan),
     "iou_threshold"),
    (lambda: match_detections([[0, 0, 1, 1]], [1.0], [[0, 0, 1, 1]], 2), "iou_threshold"),
    (lambda: average_precision([0.5], [True, False], 1), "is_tp"),
    (lambda: average_precision([np.nan], [True], 1), "scores"),
    (lambda: average_precision([0.5], [True], -1), "num_gt"),
    (lambda: mean_average_precision([], [], 10, iou_threshold=-1), "iou_threshold"),
    (lambda: mean_average_precision([(np.zeros((1, 4)), [1.0], [12])],
                                    [(np.zeros((0, 4)), [])], 10), "labels"),
    (lambda: mean_average_precision([], [(np.zeros((0, 4)), [])], 10), "ground_truth"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


# ----------------------------------------------------------------------------
# Data


def test_canvases_are_seeded_and_consistent():
    a = make_digit_canvases(40, seed=5)
    b = make_digit_canvases(40, seed=5)
    c = make_digit_canvases(40, seed=6)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)
    images, labels, _, _ = digit_pools()
    assert a.images.shape == (40, 1, 32, 32)
    for boxes, lab, src in zip(a.boxes, a.labels, a.sources):
        assert 1 <= len(boxes) <= 3 and len(lab) == len(boxes) == len(src)
        np.testing.assert_array_equal(lab, labels[src])
        assert boxes.min() >= 0 and boxes.max() <= 32
        sides = boxes[:, 2:] - boxes[:, :2]
        assert (sides >= 8).all() and (sides <= 16).all()
        iou = box_iou(boxes, boxes)
        assert np.allclose(iou - np.diag(np.diag(iou)), 0)      # no overlap
    # every canvas's centres fall in distinct cells of the 4x4 grid of 8-pixel cells
    GridCoder(4, 8, 12).encode(a.boxes, a.labels)


def test_ink_lies_inside_the_boxes():
    d = make_digit_canvases(30, noise=0.0, seed=1)
    for img, boxes in zip(d.images[:, 0], d.boxes):
        mask = np.zeros_like(img, dtype=bool)
        for x0, y0, x1, y1 in boxes.astype(int):
            mask[y0:y1, x0:x1] = True
        assert img[~mask].max() == 0 and img[mask].max() > 0.5


def test_test_split_never_reuses_a_training_digit():
    tr = make_digit_canvases(500, "train", seed=0)
    te = make_digit_canvases(200, "test", seed=0)
    assert not set(np.concatenate(tr.sources)) & set(np.concatenate(te.sources))
    _, _, train_pool, test_pool = digit_pools()
    assert len(train_pool) + len(test_pool) == 1797
    assert not set(train_pool) & set(test_pool)


def test_canvases_are_fast():
    digit_pools()
    t0 = time.perf_counter()
    make_digit_canvases(1000, seed=0)
    assert time.perf_counter() - t0 < 5.0       # about 0.3 s on a quiet machine


def test_resize_bilinear():
    img = np.arange(4.0).reshape(2, 2)
    np.testing.assert_allclose(resize_bilinear(img, 2, 2), img)
    big = resize_bilinear(img, 4, 4)
    assert big.shape == (4, 4)
    np.testing.assert_allclose(big[0], [0, 0.25, 0.75, 1.0])     # cv2.INTER_LINEAR's values
    assert resize_bilinear(np.ones((8, 8)), 13, 5).shape == (13, 5)


@pytest.mark.parametrize("kw, name", [
    ({"n": 0}, "n"), ({"split": "val"}, "split"), ({"canvas_size": 4}, "canvas_size"),
    ({"min_size": 12, "max_size": 10}, "max_size"), ({"max_size": 40}, "max_size"),
    ({"min_digits": 3, "max_digits": 2}, "max_digits"), ({"noise": -0.1}, "noise"),
    ({"noise": np.nan}, "noise"), ({"seed": 1.5}, "seed"), ({"dtype": "int32"}, "dtype"),
])
def test_canvases_bad_input(kw, name):
    kw = {"n": 5, **kw}
    with pytest.raises((ValueError, TypeError), match=name):
        make_digit_canvases(**kw)


# ----------------------------------------------------------------------------
# CuPy


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(),
                    reason="no usable GPU (gdlib.backend.gpu_available() is False)")
def test_iou_and_loss_agree_on_cupy_and_numpy():
    out, tgt = _loss_case(seed=2)
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 20, size=(10, 2))
    boxes = np.hstack([xy, xy + rng.uniform(1, 8, size=(10, 2))])
    previous = backend.device()
    res = {}
    try:
        for dev in ("cpu", "gpu"):
            backend.use(dev)
            loss = DetectionLoss(10)
            value = loss(backend.asarray(out), backend.asarray(tgt))
            res[dev] = (value, backend.to_host(loss.backward()),
                        backend.to_host(box_iou(backend.asarray(boxes), backend.asarray(boxes))))
    finally:
        backend.use(previous)
    assert res["gpu"][0] == pytest.approx(res["cpu"][0], rel=1e-12)
    np.testing.assert_allclose(res["gpu"][1], res["cpu"][1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res["gpu"][2], res["cpu"][2], rtol=1e-12)


# ----------------------------------------------------------------------------
# Against pycocotools (tools/reference/coco_map.py wrote the fixture)


def test_map_matches_pycocotools_cocoeval():
    from pathlib import Path

    ref = np.load(Path(__file__).parent / "fixtures" / "detection_coco.npz")
    gt, det = ref["gt"], ref["det"]
    images = range(int(gt[:, 0].max()) + 1)
    truth = [(gt[gt[:, 0] == i, 1:5], gt[gt[:, 0] == i, 5].astype(int)) for i in images]
    dets = [(det[det[:, 0] == i, 1:5], det[det[:, 0] == i, 6], det[det[:, 0] == i, 5].astype(int))
            for i in images]
    m, ap = mean_average_precision(dets, truth, num_classes=len(ref["ap"]), interpolation=101)
    np.testing.assert_allclose(ap, ref["ap"], rtol=1e-12, atol=1e-14)
    assert m == pytest.approx(float(ref["map"]), rel=1e-12)
    # VOC's all-point area differs from COCO's 101 samples, but only a little
    m_voc, _ = mean_average_precision(dets, truth, num_classes=len(ref["ap"]))
    assert m_voc != m and abs(m_voc - m) < 0.01


def test_coco_101_point_hand_computed():
    # The ranking T F F T T with 3 objects (see test_average_precision_hand_computed):
    # envelope 1 up to recall 1/3, 3/5 up to recall 1. Of the 101 levels r = 0, .01, ..., 1,
    # 34 (r <= .33) read 1 and 67 read 3/5: AP = (34 + 67 * 3/5) / 101.
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    hits = np.array([True, False, False, True, True])
    assert average_precision(scores, hits, 3, interpolation=101) == \
        pytest.approx((34 + 67 * 0.6) / 101, rel=1e-12)
    # a fourth object never found: recall stops at 3/4, levels above read 0
    assert average_precision(scores, hits, 4, interpolation=101) == \
        pytest.approx((26 + 50 * 0.6) / 101, rel=1e-12)
    for bad in ("101", 11, True, "voc"):
        with pytest.raises(ValueError, match="interpolation"):
            average_precision(scores, hits, 3, interpolation=bad)
