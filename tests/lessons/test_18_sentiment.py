"""Lesson 18: a bag-of-words vectoriser, padding with a mask, masked mean pooling."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "18-sentiment"

_BOW = """
def bag_of_words_counts(id_lists, vocab_size):
    B = np.zeros((len(id_lists), vocab_size))
    for i, ids in enumerate(id_lists):
        for v in ids:
            if v != 0:
                {COUNT}
    return B{AFTER}
"""


def bow(COUNT="B[i, v] += 1.0", AFTER=""):
    return _BOW.format(COUNT=COUNT, AFTER=AFTER)


_PAD = """
def pad_and_mask(id_lists, pad_id=0):
    T = {T}
    ids = {IDS}
    mask = np.zeros((len(id_lists), T), dtype={MASK_DTYPE})
    for i, s in enumerate(id_lists):
        {FILL}
        mask[i, :len(s)] = True
    return ids, {MASK}
"""


def pad(T="max(len(s) for s in id_lists)",
        IDS="np.full((len(id_lists), T), pad_id, dtype=np.int64)",
        FILL="ids[i, :len(s)] = s", MASK_DTYPE="bool", MASK="mask"):
    return _PAD.format(T=T, IDS=IDS, FILL=FILL, MASK_DTYPE=MASK_DTYPE, MASK=MASK)


_POOL = """
def masked_mean(H, mask):
    m = mask.astype(H.dtype)[:, :, None]
    return {FORWARD}


def masked_mean_backward(dpooled, mask):
    m = mask.astype(dpooled.dtype)[:, :, None]
    return {BACKWARD}
"""


def pooling(FORWARD="(H * m).sum(axis=1) / m.sum(axis=1)",
            BACKWARD="dpooled[:, None, :] * m / m.sum(axis=1, keepdims=True)"):
    return _POOL.format(FORWARD=FORWARD, BACKWARD=BACKWARD)


WRONG = [
    Wrong("ex1", "presence only (fancy-index +=)", """
def bag_of_words_counts(id_lists, vocab_size):
    B = np.zeros((len(id_lists), vocab_size))
    for i, ids in enumerate(id_lists):
        ids = [v for v in ids if v != 0]
        B[i, ids] += 1.0
    return B
""", expect=("not only presence", "np.add.at")),
    Wrong("ex1", "padding counted", """
def bag_of_words_counts(id_lists, vocab_size):
    B = np.zeros((len(id_lists), vocab_size))
    for i, ids in enumerate(id_lists):
        for v in ids:
            B[i, v] += 1.0
    return B
""", expect=("skip the padding",)),
    Wrong("ex1", "columns shifted by one", bow(COUNT="B[i, v - 1] += 1.0"),
          expect=("shifted by one",)),
    Wrong("ex1", "frequencies instead of counts",
          bow(AFTER=" / np.maximum(B.sum(axis=1, keepdims=True), 1)"),
          expect=("not frequencies",)),
    Wrong("ex1", "one row per word (transposed)", bow(AFTER=".T"), expect=("transposed",)),
    Wrong("ex1", "gdlib's bag_of_words", """
def bag_of_words_counts(id_lists, vocab_size):
    return bag_of_words(id_lists, vocab_size)
""", expect=("switched off", "the bag of words yourself")),
    Wrong("ex2", "padding at the front", pad(FILL="ids[i, T - len(s):] = s"),
          expect=("not before",)),
    Wrong("ex2", "T from the first row", pad(T="len(id_lists[0])"),
          expect=("longest",)),
    Wrong("ex2", "mask inverted", pad(MASK="~mask"), expect=("True at the real",)),
    Wrong("ex2", "mask of integers", pad(MASK_DTYPE="np.int64"), expect=("bool array",)),
    Wrong("ex2", "ids of floats", pad(IDS="np.full((len(id_lists), T), float(pad_id))"),
          expect=("integers",)),
    Wrong("ex2", "pad_id ignored", pad(IDS="np.zeros((len(id_lists), T), dtype=np.int64)"),
          expect=("pad_id argument",)),
    Wrong("ex2", "gdlib's pad_batch", """
def pad_and_mask(id_lists, pad_id=0):
    return pad_batch(id_lists, pad_id=pad_id)
""", expect=("switched off", "padding yourself")),
    Wrong("ex3", "padding averaged in", pooling(FORWARD="H.mean(axis=1)"),
          expect=("leave the padded positions out",)),
    Wrong("ex3", "divided by T", pooling(FORWARD="(H * m).sum(axis=1) / H.shape[1]"),
          expect=("own length", "not by T")),
    Wrong("ex3", "divided by the batch's token count",
          pooling(FORWARD="(H * m).sum(axis=1) / m.sum()"), expect=("whole batch",)),
    Wrong("ex3", "mask without a feature axis", """
def masked_mean(H, mask):
    return (H * mask).sum(axis=1) / mask.sum(axis=1)


def masked_mean_backward(dpooled, mask):
    m = mask.astype(dpooled.dtype)[:, :, None]
    return dpooled[:, None, :] * m / m.sum(axis=1, keepdims=True)
""", expect=(r"mask\[:, :, None\]",)),
    Wrong("ex3", "mean over the features", pooling(FORWARD="(H * m).mean(axis=2)"),
          expect=("axis 2", "axis 1")),
    Wrong("ex3", "gradient sent into padding",
          pooling(BACKWARD="np.broadcast_to(dpooled[:, None, :] / m.sum(axis=1, keepdims=True),"
                           " (m.shape[0], m.shape[1], dpooled.shape[1])).copy()"),
          expect=("padded positions got a gradient",)),
    Wrong("ex3", "gradient divided by T", pooling(BACKWARD="dpooled[:, None, :] * m / m.shape[1]"),
          expect=("not by T",)),
    Wrong("ex3", "gradient not divided", pooling(BACKWARD="dpooled[:, None, :] * m"),
          expect=("divides by the length",)),
    Wrong("ex3", "the notebook's reference_masked_mean", """
def masked_mean(H, mask):
    return reference_masked_mean(H, mask)


def masked_mean_backward(dpooled, mask):
    m = mask.astype(dpooled.dtype)[:, :, None]
    return dpooled[:, None, :] * m / m.sum(axis=1, keepdims=True)
""", expect=("switched off", "masked mean pooling yourself")),
]
