"""Neural-network building blocks with an explicit backward pass per layer.

Each layer is a :class:`Module` that computes ``forward`` and, given the
gradient of the loss for its output, ``backward``: the chain rule written out
by hand, layer by layer, which is what backpropagation is. The arrays live on
the current backend (NumPy or CuPy) and any :mod:`gdlib.optim` optimizer
trains ``model.parameters()`` in place.
"""

from . import init
from .attention import AdditiveAttention, DotAttention, masked_softmax
from .check import ModuleCheck, check_module
from .conv import AvgPool2D, Conv2D, MaxPool2D, col2im, im2col
from .layers import (
    GELU,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Tanh,
    log_softmax,
    sigmoid,
    softmax,
)
from .losses import BCEWithLogits, MSELoss, SoftmaxCrossEntropy
from .module import Module, Sequential, get_default_dtype, resolve_dtype, set_default_dtype
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .recurrent import GRU, LSTM, RNN, Embedding
from .seq2seq import LanguageModel, Seq2Seq, SequenceClassifier
from .training import accuracy, fit, predict
from .transformer import GPT, CausalSelfAttention, OptimizerGroups, TransformerBlock

__all__ = [
    "Module", "Sequential", "get_default_dtype", "set_default_dtype", "resolve_dtype",
    "init", "check_module", "ModuleCheck",
    "Dense", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Dropout", "Flatten",
    "softmax", "log_softmax", "sigmoid", "SoftmaxCrossEntropy", "MSELoss", "BCEWithLogits",
    "Conv2D", "MaxPool2D", "AvgPool2D", "im2col", "col2im", "fit", "predict", "accuracy",
    "Embedding", "RNN", "GRU", "LSTM", "AdditiveAttention", "DotAttention", "masked_softmax",
    "SequenceClassifier", "LanguageModel", "Seq2Seq",
    "LayerNorm", "BatchNorm1d", "BatchNorm2d",
    "CausalSelfAttention", "TransformerBlock", "GPT", "OptimizerGroups",
]
