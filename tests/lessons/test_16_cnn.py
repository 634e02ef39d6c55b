"""Lesson 16: a convolution by hand, im2col, max pooling forward and backward."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "16-cnn"

_CONV = """
def conv2d_single(x, w):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    kh, kw = w.shape
    out = np.zeros(({H}, {W}))
    for i in range({RI}):
        for j in range({RJ}):
            out[i, j] = np.sum({WINDOW} * {FILTER})
    return out
"""


def conv(H="x.shape[0] - kh + 1", W="x.shape[1] - kw + 1", RI=None, RJ=None,
         WINDOW="x[i:i + kh, j:j + kw]", FILTER="w"):
    """A variant of the two-loop convolution with one part changed."""
    return _CONV.format(H=H, W=W, RI=RI or H, RJ=RJ or W, WINDOW=WINDOW, FILTER=FILTER)


_IM2COL = """
def im2col_single(x, kh, kw):
    x = np.asarray(x)
    C, H, W = x.shape
    H_out, W_out = H - kh + {PLUS}, W - kw + {PLUS}
    cols = np.empty((H_out * W_out, C * kh * kw), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            cols[{ROW}] = {FLAT}
    return cols{T}
"""


def im2col(PLUS="1", ROW="i * W_out + j", FLAT="x[:, i:i + kh, j:j + kw].reshape(-1)", T=""):
    return _IM2COL.format(PLUS=PLUS, ROW=ROW, FLAT=FLAT, T=T)


_POOL = """
def maxpool_forward(x):
    x = np.asarray(x, dtype=float)
    H, W = x.shape
    return {FORWARD}


def maxpool_backward(x, dout):
    x = np.asarray(x, dtype=float)
    H, W = x.shape
    dx = np.zeros((H, W))
    for i in range(H // 2):
        for j in range(W // 2):
            block = x[2 * i:2 * i + 2, 2 * j:2 * j + 2]
            a, c = np.unravel_index(np.argmax(block), (2, 2))
            {ROUTE}
    return dx
"""


def pool(FORWARD="x.reshape(H // 2, 2, W // 2, 2).max(axis=(1, 3))",
         ROUTE="dx[2 * i + a, 2 * j + c] = dout[i, j]"):
    return _POOL.format(FORWARD=FORWARD, ROUTE=ROUTE)


WRONG = [
    Wrong("ex1", "filter flipped (the true convolution)", conv(FILTER="w[::-1, ::-1]"),
          expect=("flipped",)),
    Wrong("ex1", "one row and column short", conv(H="x.shape[0] - kh", W="x.shape[1] - kw"),
          expect=("one row and one column short",)),
    Wrong("ex1", "output the size of the image", conv(H="x.shape[0]", W="x.shape[1]",
                                                      RI="x.shape[0] - kh + 1",
                                                      RJ="x.shape[1] - kw + 1"),
          expect=("image's shape", "smaller")),
    Wrong("ex1", "window multiplied by w.T", conv(FILTER="w.T"), expect=("w transposed",)),
    Wrong("ex1", "output indices swapped", conv(WINDOW="x[j:j + kh, i:i + kw]"),
          expect=("transpose",)),
    Wrong("ex1", "gdlib's Conv2D through the helper", """
def conv2d_single(x, w):
    return gdlib_conv_single(x, w)
""", expect=("switched off", "the convolution yourself")),
    Wrong("ex2", "windows in columns (transposed)", im2col(T=".T"), expect=("transposed",)),
    Wrong("ex2", "windows in column-major order", im2col(ROW="j * H_out + i"),
          expect=("column-major",)),
    Wrong("ex2", "windows flattened channel last",
          im2col(FLAT="x[:, i:i + kh, j:j + kw].transpose(1, 2, 0).reshape(-1)"),
          expect=("channel last",)),
    Wrong("ex2", "one window short per axis", im2col(PLUS="0"), expect=("one window short",)),
    Wrong("ex2", "gdlib's im2col", """
def im2col_single(x, kh, kw):
    return nn.im2col(np.asarray(x)[None], kh, kw)
""", expect=("switched off", "im2col yourself")),
    Wrong("ex3", "average pooling",
          pool(FORWARD="x.reshape(H // 2, 2, W // 2, 2).mean(axis=(1, 3))"),
          expect=("average pooling",)),
    Wrong("ex3", "blocks from the wrong reshape",
          pool(FORWARD="x.reshape(H // 2, W // 2, 2, 2).max(axis=(2, 3))"),
          expect=("not 2x2 squares",)),
    Wrong("ex3", "stride 1 instead of 2", pool(
        FORWARD="np.array([[x[i:i + 2, j:j + 2].max() for j in range(W - 1)] "
                "for i in range(H - 1)])"), expect=("stride 2",)),
    Wrong("ex3", "maximum over one axis of the block",
          pool(FORWARD="x.reshape(H // 2, 2, W // 2, 2).max(axis=1)"),
          expect=("both axes",)),
    Wrong("ex3", "gradient spread evenly (average pooling)",
          pool(ROUTE="dx[2 * i:2 * i + 2, 2 * j:2 * j + 2] = dout[i, j] / 4"),
          expect=("spread dout evenly",)),
    Wrong("ex3", "gradient copied to the whole block",
          pool(ROUTE="dx[2 * i:2 * i + 2, 2 * j:2 * j + 2] = dout[i, j]"),
          expect=("every pixel of the block",)),
    Wrong("ex3", "gradient always to the top-left pixel",
          pool(ROUTE="dx[2 * i, 2 * j] = dout[i, j]"), expect=("top-left",)),
    Wrong("ex3", "row and column inside the block swapped",
          pool(ROUTE="dx[2 * i + c, 2 * j + a] = dout[i, j]"), expect=("swapped",)),
    Wrong("ex3", "mask of the maxima without dout",
          pool(ROUTE="dx[2 * i + a, 2 * j + c] = 1.0"), expect=("0/1 mask",)),
    Wrong("ex3", "gdlib's MaxPool2D through the helper", """
def maxpool_forward(x):
    return gdlib_maxpool(x)


def maxpool_backward(x, dout):
    return gdlib_maxpool(x, dout)
""", expect=("switched off", "max pooling yourself")),
]
