"""Lesson 15: ReLU backward, dense backward, the softmax cross-entropy gradient."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "15-backprop"

WRONG = [
    Wrong("ex1", "multiplied by the ReLU's output", """
def relu_backward(dout, z):
    return dout * np.maximum(z, 0)
""", expect=("derivative of ReLU", "not by ReLU's output")),
    Wrong("ex1", "mask z >= 0 lets the gradient through at 0", """
def relu_backward(dout, z):
    return dout * (z >= 0)
""", expect=("z > 0, not z >= 0",)),
    Wrong("ex1", "the mask alone, dout forgotten", """
def relu_backward(dout, z):
    return (z > 0).astype(float)
""", expect=("mask alone",)),
    Wrong("ex1", "mask taken from dout", """
def relu_backward(dout, z):
    return dout * (dout > 0)
""", expect=("ReLU's input z, not from",)),
    Wrong("ex1", "dout zeroed in place", """
def relu_backward(dout, z):
    dout[z <= 0] = 0.0
    return dout
""", expect=("in place",)),
    Wrong("ex1", "gdlib's nn.ReLU", """
def relu_backward(dout, z):
    relu = nn.ReLU()
    relu(z)
    return relu.backward(dout)
""", expect=("switched off", "the ReLU backward rule yourself")),
    Wrong("ex2", "db is the mean over the batch", """
def dense_backward(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.mean(axis=0)
""", expect=("not the mean",)),
    Wrong("ex2", "db summed over the wrong axis", """
def dense_backward(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.sum(axis=1)
""", expect=("axis 1", "axis 0")),
    Wrong("ex2", "db summed over every axis", """
def dense_backward(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.sum()
""", expect=("every axis",)),
    Wrong("ex2", "dW transposed (dout.T @ x)", """
def dense_backward(dout, x, W):
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)
""", expect=("dW", "transposed")),
    Wrong("ex2", "dx with W instead of W.T", """
def dense_backward(dout, x, W):
    return dout @ W, x.T @ dout, dout.sum(axis=0)
""", expect=("Follow the shapes", r"dout @ W\.T")),
    Wrong("ex2", "dW from the first example only", """
def dense_backward(dout, x, W):
    return dout @ W.T, np.outer(x[0], dout[0]), dout.sum(axis=0)
""", expect=("all examples",)),
    Wrong("ex2", "gdlib's nn.Dense", """
def dense_backward(dout, x, W):
    layer = nn.Dense(W.shape[0], W.shape[1], dtype="float64")
    layer.params["W"][...] = W
    layer(x)
    dx = layer.backward(dout)
    return dx, layer.grads["W"], layer.grads["b"]
""", expect=("switched off", "the dense layer's backward rule yourself")),
    Wrong("ex3", "not divided by N", """
def softmax_ce_grad(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p
""", expect=("divide by N",)),
    Wrong("ex3", "probabilities without the one-hot", """
def softmax_ce_grad(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return p / len(y)
""", expect=("subtract 1 at the true class",)),
    Wrong("ex3", "sign flipped (onehot - p)", """
def softmax_ce_grad(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return -p / len(y)
""", expect=("sign is flipped",)),
    Wrong("ex3", "max subtracted per column", """
def softmax_ce_grad(logits, y):
    z = logits - logits.max(axis=0, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)
""", expect=("each row's maximum", "not each column's")),
    Wrong("ex3", "normalized over the batch axis", """
def softmax_ce_grad(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=0, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)
""", expect=("normalize each row",)),
    Wrong("ex3", "p[:, y] -= 1", """
def softmax_ce_grad(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[:, y] -= 1.0
    return p / len(y)
""", expect=(r"np\.arange\(N\), y",)),
    Wrong("ex3", "no max subtracted", """
def softmax_ce_grad(logits, y):
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)
""", expect=("overflows", "maximum")),
    Wrong("ex3", "gdlib's nn.SoftmaxCrossEntropy", """
def softmax_ce_grad(logits, y):
    ce = nn.SoftmaxCrossEntropy()
    ce(logits, y)
    return ce.backward()
""", expect=("switched off", "the softmax cross-entropy gradient yourself")),
]
