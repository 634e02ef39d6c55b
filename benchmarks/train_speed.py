"""Time one training epoch in gdlib and in PyTorch on the CPU, in the same run.

Four models of the course, each trained for one epoch (every mini-batch of the
training split once: forward pass, loss, backward pass, optimizer step) with the
same architecture, data, batches, batch size, optimizer and dtype (float32) in
both libraries, at the sizes the lessons use:

- ``mlp``: the digits MLP of lesson 15, 64-128-10 with ReLU, Adam(lr=3e-3), batch 64;
- ``cnn``: the digits CNN of lesson 16 (conv 16 - pool - conv 32 - pool - dense),
  8x8 images, Adam(lr=1e-2), batch 64;
- ``rnn``: the sentiment classifier of lesson 18, embedding 32 + GRU 64 + dense,
  the shipped corpus padded with a mask, Adam(lr=1e-2), gradient clipping at
  norm 5, batch 64;
- ``seq2seq``: the translator of lesson 19, GRU encoder-decoder (embedding 48,
  hidden 96) with gdlib's default attention (``Seq2Seq(attention=True)``, Bahdanau's
  additive score) and teacher forcing, length-bucketed batches of 64, Adam(lr=1e-2),
  clipping at norm 5;
- ``transformer``: the character-level GPT of lesson 30 (2 pre-LN blocks, d_model 64,
  4 heads, context 32, 67 characters of *Macbeth*), 100 batches of 32 random windows
  (the lesson's batch, not 64),
  Adam(lr=3e-3); PyTorch's twin uses ``scaled_dot_product_attention(is_causal=True)``.

PyTorch starts from a copy of gdlib's initial weights, and the first batch's
loss is compared before any step (the ``same loss`` column: the absolute
difference; around 1e-6 means the two compute the same function). Each library
is timed on its own explicit loop (``zero_grad``, forward, loss, backward,
optimizer step); ``gdlib fit`` also times gdlib's :func:`gdlib.nn.fit` for one
epoch (it adds the per-step bookkeeping of its History). After a warm-up epoch,
gdlib and PyTorch epochs alternate, so a busy machine slows both alike, and the
median of ``--repeats`` epochs is reported.

The ratio ``gdlib/torch`` is gdlib's time over PyTorch's: below 1 means gdlib is
faster. Both use ``--threads`` threads: ``torch.set_num_threads`` and NumPy's
BLAS limited through threadpoolctl (default 1, what ``gdlib.nn.fit`` uses on
NumPy: for matrices this small, more BLAS threads cost more than they give).

PyTorch is not a dependency of the course; install the CPU build to compare
(``pip install torch==2.13.0``). Without it (or with ``--no-torch``) only gdlib is timed.

Run::

    python benchmarks/train_speed.py                      # all four models
    python benchmarks/train_speed.py --only mlp,rnn --repeats 9 --threads 2
    python benchmarks/train_speed.py --quick --no-torch   # a few batches, a smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gdlib import backend, nn, optim  # noqa: E402
from gdlib.clipping import clip_grad_norm_  # noqa: E402

TASKS = ("mlp", "cnn", "rnn", "seq2seq", "transformer")
BATCH = 64
QUICK_BATCHES = 3          # batches per "epoch" with --quick

torch = None               # imported in main() unless --no-torch


@dataclass
class Task:
    """One model, ready to train for an epoch in gdlib and (optionally) in PyTorch."""

    name: str
    description: str
    n_batches: int
    n_params: int
    gdlib_epoch: object = None
    torch_epoch: object = None
    fit_epoch: object = None
    model: object = None                # the gdlib model the epochs train
    loss_gap: float | None = None       # |first-batch loss gdlib - torch|, same weights
    note: str = ""
    times: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------
# The two training loops, written the same way.

def gdlib_trainer(model, loss_fn, batches, lr, clip=None):
    """One gdlib epoch: zero_grad, forward, loss, backward, (clip), Adam step, per batch."""
    opt = optim.Adam(model.parameters(), lr=lr)
    grads = model.gradients()

    def epoch():
        total = 0.0
        for inputs, target in batches:
            model.zero_grad()
            total += loss_fn(model(*inputs), target)
            model.backward(loss_fn.backward())
            if clip is not None:
                clip_grad_norm_(grads, clip)
            opt.step(grads)
        return total / len(batches)

    return epoch


def torch_trainer(model, loss_fn, batches, lr, clip=None):
    """The same epoch in PyTorch."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def epoch():
        total = 0.0
        for inputs, target in batches:
            opt.zero_grad(set_to_none=True)
            out = model(*inputs)
            loss = loss_fn(out.reshape(-1, out.shape[-1]), target.reshape(-1))
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            total += loss.item()
        return total / len(batches)

    return epoch


def fit_trainer(model, loss_fn, X, y, lr, clip, threads):
    """One epoch of gdlib.nn.fit (the path the lessons use), same batch size."""
    def epoch():
        nn.fit(model, loss_fn, X, y, optimizer="adam", lr=lr, epochs=1, batch_size=BATCH,
               clip_norm=clip, progress=False, threads=threads)
    return epoch


def pair(task, g_model, g_loss, t_model, t_loss, g_batches, t_batches, lr, clip=None):
    """Fill in both loops and compare the first batch's loss from the same weights."""
    lg = float(g_loss(g_model(*g_batches[0][0]), g_batches[0][1]))
    with torch.no_grad():
        out = t_model(*t_batches[0][0])
        lt = float(t_loss(out.reshape(-1, out.shape[-1]), t_batches[0][1].reshape(-1)))
    task.loss_gap = abs(lg - lt)
    task.torch_epoch = torch_trainer(t_model, t_loss, t_batches, lr, clip)


# ----------------------------------------------------------------------------
# Copying gdlib's weights into torch modules.

def tt(a, dtype=None):
    """A (host or device) array as a CPU torch tensor: float32, int64 or as asked."""
    a = np.ascontiguousarray(backend.to_host(a))
    t = torch.from_numpy(a.copy())
    if dtype is not None:
        return t.to(dtype)
    return t.float() if a.dtype.kind == "f" else t.long()


def put(param, array, transpose=False):
    with torch.no_grad():
        value = tt(array)
        param.copy_(value.T if transpose else value)


def copy_dense(dense, linear):
    """gdlib Dense (W: in x out, x @ W) into torch Linear (weight: out x in)."""
    put(linear.weight, dense.params["W"], transpose=True)
    put(linear.bias, dense.params["b"])


def copy_conv(conv, tconv):
    """Both keep (C_out, C_in, kh, kw)."""
    put(tconv.weight, conv.params["W"])
    put(tconv.bias, conv.params["b"])


def copy_gru(gru, tgru):
    """gdlib's GRU (x @ W_ih, W_ih: D x 3H, gates r, z, n) into torch's (3H x D, same order)."""
    p = gru.params
    put(tgru.weight_ih_l0, p["W_ih"], transpose=True)
    put(tgru.weight_hh_l0, p["W_hh"], transpose=True)
    put(tgru.bias_ih_l0, p["b_ih"])
    put(tgru.bias_hh_l0, p["b_hh"])


def torch_models():
    """PyTorch twins of the course's sequence models (built once torch is imported)."""
    T = torch.nn

    class Classifier(T.Module):
        """Embedding -> GRU -> state after the last real token -> linear."""

        def __init__(self, g):
            super().__init__()
            V, E = g.embedding.params["W"].shape
            H = g.rnn.hidden_size
            self.embedding = T.Embedding(V, E, padding_idx=g.padding_idx)
            self.rnn = T.GRU(E, H, batch_first=True)
            self.out = T.Linear(H, g.out.out_features)
            put(self.embedding.weight, g.embedding.params["W"])
            copy_gru(g.rnn, self.rnn)
            copy_dense(g.out, self.out)

        def forward(self, ids, last):
            states, _ = self.rnn(self.embedding(ids))            # (N, T, H)
            return self.out(states[torch.arange(ids.shape[0]), last])

    class Translator(T.Module):
        """GRU encoder-decoder with attention after the decoder step, as gdlib.nn.Seq2Seq."""

        def __init__(self, g):
            super().__init__()
            H = g.hidden_size
            Vs, E = g.src_embedding.params["W"].shape
            Vt = g.tgt_embedding.params["W"].shape[0]
            self.kind = g.attention_kind                 # "additive", "general", "dot", None
            self.src_embedding = T.Embedding(Vs, E, padding_idx=g.padding_idx)
            self.tgt_embedding = T.Embedding(Vt, E, padding_idx=g.padding_idx)
            self.encoder = T.GRU(E, H, batch_first=True)
            self.decoder = T.GRU(E, H, batch_first=True)
            self.attn = T.ParameterDict({
                k: T.Parameter(tt(v)) for k, v in (g.attention.params.items()
                                                   if g.attention is not None else ())})
            self.combine = T.Linear(2 * H if self.kind else H, H)
            self.out = T.Linear(H, Vt)
            put(self.src_embedding.weight, g.src_embedding.params["W"])
            put(self.tgt_embedding.weight, g.tgt_embedding.params["W"])
            copy_gru(g.encoder, self.encoder)
            copy_gru(g.decoder, self.decoder)
            copy_dense(g.combine, self.combine)
            copy_dense(g.out, self.out)

        def scores(self, h, keys):
            a = self.attn
            if self.kind == "additive":                  # v . tanh(h W_q + k W_k)
                pre = (h @ a["W_q"])[:, :, None, :] + (keys @ a["W_k"])[:, None, :, :]
                return torch.tanh(pre) @ a["v"]
            if self.kind == "general":                   # h W_a k
                return (h @ a["W"]) @ keys.transpose(1, 2)
            return h @ keys.transpose(1, 2)              # dot

        def forward(self, src, mask, last, tgt_in):
            keys, _ = self.encoder(self.src_embedding(src))        # (N, S, H)
            h0 = keys[torch.arange(src.shape[0]), last]            # last real source state
            h, _ = self.decoder(self.tgt_embedding(tgt_in), h0[None].contiguous())
            feats = h
            if self.kind:
                e = self.scores(h, keys).masked_fill(~mask[:, None, :], float("-inf"))
                feats = torch.cat([torch.softmax(e, dim=-1) @ keys, h], dim=-1)
            return self.out(torch.tanh(self.combine(feats)))

    return Classifier, Translator


# ----------------------------------------------------------------------------
# (a) The MLP of lesson 15 on digits.

def task_mlp(quick: bool, with_torch: bool, threads: int) -> Task:
    from gdlib.data import batches, load_digits

    lr = 3e-3
    d = load_digits(dtype="float32")
    X, y = d.X_train, d.y_train
    idx = batches(len(X), BATCH, seed=0)[:QUICK_BATCHES if quick else None]
    g_batches = [((backend.asarray(X[i]),), backend.asarray(y[i])) for i in idx]

    def make():
        return nn.Sequential(nn.Dense(64, 128, init="he", rng=0), nn.ReLU(),
                             nn.Dense(128, 10, rng=1))

    model, loss = make(), nn.SoftmaxCrossEntropy()
    task = Task("mlp", "digits MLP 64-128-10, ReLU", len(idx), model.num_parameters())
    if with_torch:
        tm = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                 torch.nn.Linear(128, 10))
        copy_dense(model[0], tm[0])
        copy_dense(model[2], tm[2])
        t_batches = [((tt(X[i]),), tt(y[i])) for i in idx]
        pair(task, model, loss, tm, torch.nn.CrossEntropyLoss(), g_batches, t_batches, lr)
    task.gdlib_epoch = gdlib_trainer(model, loss, g_batches, lr)
    task.model = model
    if not quick:
        task.fit_epoch = fit_trainer(make(), nn.SoftmaxCrossEntropy(), X, y, lr, None, threads)
    return task


# ----------------------------------------------------------------------------
# (b) The CNN of lesson 16 on 8x8 digit images.

def task_cnn(quick: bool, with_torch: bool, threads: int) -> Task:
    from gdlib.data import batches, load_digits

    lr = 1e-2
    d = load_digits(images=True, dtype="float32")
    X, y = d.X_train, d.y_train
    idx = batches(len(X), BATCH, seed=0)[:QUICK_BATCHES if quick else None]
    g_batches = [((backend.asarray(X[i]),), backend.asarray(y[i])) for i in idx]

    def make():
        return nn.Sequential(
            nn.Conv2D(1, 16, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2D(2),
            nn.Conv2D(16, 32, 3, padding=1, rng=1), nn.ReLU(), nn.MaxPool2D(2),
            nn.Flatten(), nn.Dense(32 * 2 * 2, 10, rng=2),
        )

    model, loss = make(), nn.SoftmaxCrossEntropy()
    task = Task("cnn", "digits CNN conv16-pool-conv32-pool-10", len(idx),
                model.num_parameters())
    if with_torch:
        T = torch.nn
        tm = T.Sequential(
            T.Conv2d(1, 16, 3, padding=1), T.ReLU(), T.MaxPool2d(2),
            T.Conv2d(16, 32, 3, padding=1), T.ReLU(), T.MaxPool2d(2),
            T.Flatten(), T.Linear(32 * 2 * 2, 10),
        )
        copy_conv(model[0], tm[0])
        copy_conv(model[3], tm[3])
        copy_dense(model[7], tm[7])
        t_batches = [((tt(X[i]),), tt(y[i])) for i in idx]
        pair(task, model, loss, tm, T.CrossEntropyLoss(), g_batches, t_batches, lr)
    task.gdlib_epoch = gdlib_trainer(model, loss, g_batches, lr)
    task.model = model
    if not quick:
        task.fit_epoch = fit_trainer(make(), nn.SoftmaxCrossEntropy(), X, y, lr, None, threads)
    return task


# ----------------------------------------------------------------------------
# (c) The sentiment classifier of lesson 18: embedding -> GRU -> last state -> dense.

def task_rnn(quick: bool, with_torch: bool, threads: int) -> Task:
    from gdlib.data import Vocab, batches, load_sentiment, pad_batch, tokenize

    lr, clip = 1e-2, 5.0
    train = load_sentiment("train")
    toks = [tokenize(ex.text) for ex in train]
    vocab = Vocab.build(toks)
    ids, mask = pad_batch([vocab.encode(t) for t in toks], pad_id=vocab.pad_id)
    y = np.array([ex.label for ex in train], dtype=np.int64)
    idx = batches(len(y), BATCH, seed=0)[:QUICK_BATCHES if quick else None]
    g_batches = [((backend.asarray(ids[i]), backend.asarray(mask[i])), backend.asarray(y[i]))
                 for i in idx]

    def make():
        return nn.SequenceClassifier(len(vocab), 32, 64, 2, cell="gru", pool="last",
                                     padding_idx=vocab.pad_id, rng=0)

    model, loss = make(), nn.SoftmaxCrossEntropy()
    task = Task("rnn", f"sentiment GRU, emb 32, hidden 64, V={len(vocab)}, "
                f"T={ids.shape[1]} (mean length {mask.sum(1).mean():.1f})",
                len(idx), model.num_parameters())
    if with_torch:
        Classifier, _ = torch_models()
        tm = Classifier(model)
        last = mask.sum(axis=1) - 1
        t_batches = [((tt(ids[i]), tt(last[i])), tt(y[i])) for i in idx]
        pair(task, model, loss, tm, torch.nn.CrossEntropyLoss(), g_batches, t_batches, lr, clip)
    task.gdlib_epoch = gdlib_trainer(model, loss, g_batches, lr, clip)
    task.model = model
    if not quick:
        task.fit_epoch = fit_trainer(make(), nn.SoftmaxCrossEntropy(), (ids, mask), y, lr, clip,
                                     threads)
    return task


# ----------------------------------------------------------------------------
# (d) The translator of lesson 19: GRU encoder-decoder with attention, teacher forcing.

def task_seq2seq(quick: bool, with_torch: bool, threads: int) -> Task:
    from gdlib.data import Vocab, bucket_batches, load_translation, pad_batch

    lr, clip, emb, hidden = 1e-2, 5.0, 48, 96
    pairs = load_translation("train")
    sv = Vocab.build([en.split() for en, _ in pairs])
    tv = Vocab.build([fr.split() for _, fr in pairs])
    src = [sv.encode(en.split()) for en, _ in pairs]
    tgt = [tv.encode(fr.split()) for _, fr in pairs]
    idx = bucket_batches([len(s) for s in src], BATCH, seed=0)[:QUICK_BATCHES if quick else None]
    host = []
    for i in idx:
        X, M = pad_batch([src[j] for j in i], pad_id=sv.pad_id)
        Y, _ = pad_batch([tgt[j] for j in i], pad_id=tv.pad_id, bos_id=tv.bos_id,
                         eos_id=tv.eos_id)
        host.append((X, M, Y[:, :-1], Y[:, 1:]))
    g_batches = [((backend.asarray(X), backend.asarray(Yi), backend.asarray(M)),
                  backend.asarray(Yo)) for X, M, Yi, Yo in host]
    model = nn.Seq2Seq(len(sv), len(tv), emb, hidden, attention=True, cell="gru", rng=0)
    loss = nn.SoftmaxCrossEntropy(ignore_index=tv.pad_id)
    words = sum(int((Yo != tv.pad_id).sum()) for *_, Yo in host)
    task = Task("seq2seq", f"translation GRU enc-dec, {model.attention_kind} attention, emb {emb}, "
                f"hidden {hidden}, "
                f"V={len(sv)}/{len(tv)}, {words} target tokens", len(idx),
                model.num_parameters())
    if with_torch:
        _, Translator = torch_models()
        tm = Translator(model)
        t_batches = [((tt(X), tt(M, torch.bool), tt(M.sum(1) - 1), tt(Yi)), tt(Yo))
                     for X, M, Yi, Yo in host]
        pair(task, model, loss, tm, torch.nn.CrossEntropyLoss(ignore_index=tv.pad_id),
             g_batches, t_batches, lr, clip)
    task.gdlib_epoch = gdlib_trainer(model, loss, g_batches, lr, clip)
    task.model = model
    return task


# ----------------------------------------------------------------------------
# (e) The character-level transformer of lesson 30.

def torch_gpt(g):
    """A PyTorch twin of ``gdlib.nn.GPT`` (pre-LN blocks, tanh GELU, untied head)."""
    T = torch.nn
    F = torch.nn.functional

    def layer_norm(ln):
        t = T.LayerNorm(ln.normalized_shape, eps=ln.eps)
        put(t.weight, ln.params["gamma"])
        put(t.bias, ln.params["beta"])
        return t

    def linear(dense):
        t = T.Linear(dense.in_features, dense.out_features, bias=dense.bias)
        put(t.weight, dense.params["W"], transpose=True)
        if dense.bias:
            put(t.bias, dense.params["b"])
        return t

    class Block(T.Module):
        def __init__(self, b):
            super().__init__()
            self.n_heads = b.attn.n_heads
            self.ln1, self.ln2 = layer_norm(b.ln1), layer_norm(b.ln2)
            self.qkv, self.proj = linear(b.attn.qkv), linear(b.attn.proj)
            self.fc1, self.fc2 = linear(b.fc1), linear(b.fc2)

        def forward(self, x):
            N, L, D = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(N, L, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(N, L, D))
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))

    class Model(T.Module):
        def __init__(self):
            super().__init__()
            self.tok = T.Embedding(g.vocab_size, g.d_model)
            put(self.tok.weight, g.tok.params["W"])
            self.pos = T.Parameter(tt(g.params["pos"]))
            self.blocks = T.ModuleList(Block(b) for b in g.blocks)
            self.ln_f = layer_norm(g.ln_f)
            self.head = linear(g.head)

        def forward(self, ids):
            x = self.tok(ids) + self.pos[:ids.shape[1]]
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    return Model()


def task_transformer(quick: bool, with_torch: bool, threads: int) -> Task:
    from gdlib.data.chars import CharVocab, load_macbeth, random_windows

    lr, steps, block, batch = 3e-3, 100, 32, 32           # the lesson's batch of 32 windows
    text = load_macbeth()
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    rng = np.random.default_rng(0)
    host = [random_windows(ids, batch, block, rng) for _ in range(QUICK_BATCHES if quick
                                                                  else steps)]
    g_batches = [((backend.asarray(x),), backend.asarray(y)) for x, y in host]
    model = nn.GPT(len(vocab), block, d_model=64, n_heads=4, n_layers=2, rng=0)
    loss = nn.SoftmaxCrossEntropy()
    task = Task("transformer", f"char GPT, 2 pre-LN blocks, d 64, 4 heads, context {block}, "
                f"V={len(vocab)}", len(host), model.num_parameters())
    if with_torch:
        tm = torch_gpt(model)
        t_batches = [((tt(x),), tt(y)) for x, y in host]
        pair(task, model, loss, tm, torch.nn.CrossEntropyLoss(), g_batches, t_batches, lr)
        with torch.no_grad():
            gap = np.abs(backend.to_host(model(*g_batches[0][0]))
                         - tm(*t_batches[0][0]).numpy()).max()
        task.note = f"batch {batch}; largest |logit gdlib - torch| on the first batch: {gap:.1e}"
    task.gdlib_epoch = gdlib_trainer(model, loss, g_batches, lr)
    task.model = model
    return task


BUILDERS = {"mlp": task_mlp, "cnn": task_cnn, "rnn": task_rnn, "seq2seq": task_seq2seq,
            "transformer": task_transformer}


# ----------------------------------------------------------------------------

def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS threads not controlled (threadpoolctl not installed)"
    libs = [f"{i['internal_api']} {i['version']}" for i in threadpool_info()
            if i["user_api"] == "blas"]
    return ", ".join(libs) or "no BLAS found"


def time_tasks(tasks: list, repeats: int) -> None:
    """Warm up, then alternate the loops epoch by epoch; keep each one's median."""
    for task in tasks:
        runs = {k: fn for k, fn in (("gdlib", task.gdlib_epoch), ("torch", task.torch_epoch),
                                    ("fit", task.fit_epoch)) if fn is not None}
        for fn in runs.values():
            fn()                                       # warm-up (allocations, caches)
        samples = {k: [] for k in runs}
        for _ in range(repeats):
            for k, fn in runs.items():
                t0 = time.perf_counter()
                fn()
                samples[k].append(time.perf_counter() - t0)
        task.times = {k: statistics.median(v) for k, v in samples.items()}


def main(argv=None) -> list:
    global torch
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per loop")
    parser.add_argument("--only", default=",".join(TASKS),
                        help="comma-separated subset of " + ",".join(TASKS))
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_BATCHES} batches per epoch, 1 repeat (a smoke run)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for both libraries (default 1, as gdlib.nn.fit)")
    parser.add_argument("--no-torch", action="store_true", help="time gdlib only")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(TASKS))
    if unknown or not only:
        parser.error(f"--only: unknown model(s) {unknown}; choose from {', '.join(TASKS)}")
    if args.threads < 1 or args.repeats < 1:
        parser.error("--threads and --repeats must be >= 1")
    repeats = 1 if args.quick else args.repeats

    why_no_torch = "--no-torch"
    if not args.no_torch:
        try:
            import torch as _torch
            torch = _torch
        except ImportError:
            why_no_torch = "not installed (pip install torch==2.13.0 to compare)"
    if torch is not None:
        torch.set_num_threads(args.threads)

    print(f"machine : {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; {args.threads} thread(s) for both libraries")
    print(f"gdlib   : {backend.describe()}, {blas_info()}")
    if torch is None:
        print(f"torch   : {why_no_torch}: gdlib only")
    else:
        print(f"torch   : {torch.__version__}, {torch.get_num_threads()} thread(s), "
              "torch.optim.Adam default (for-loop on CPU)")
    print(f"setup   : float32, batch {BATCH}, Adam; one epoch = every training batch once"
          f"{f' (--quick: {QUICK_BATCHES} batches)' if args.quick else ''}; median of "
          f"{repeats} epoch(s) after a warm-up")
    print()

    old = nn.set_default_dtype("float32")
    tasks = []
    try:
        with nn.training.blas_threads(args.threads):
            for name in only:
                tasks.append(BUILDERS[name](args.quick, torch is not None, args.threads))
            time_tasks(tasks, repeats)
    finally:
        nn.set_default_dtype(old)

    def col(t, width, fmt):
        return f"{t:{width}{fmt}}" if t is not None else f"{'-':>{width}}"

    head = (f"{'model':<11} {'params':>7} {'batches':>7} {'gdlib s':>8} {'torch s':>8} "
            f"{'gdlib/torch':>11} {'gdlib fit s':>11} {'same loss':>9}  what")
    print(head)
    print("-" * len(head))
    for t in tasks:
        g, tor, fit = t.times["gdlib"], t.times.get("torch"), t.times.get("fit")
        print(f"{t.name:<11} {t.n_params:>7} {t.n_batches:>7} {g:8.3f} {col(tor, 8, '.3f')} "
              f"{col(g / tor if tor else None, 11, '.2f')} {col(fit, 11, '.3f')} "
              f"{col(t.loss_gap, 9, '.1e')}  {t.description}")
        if t.note:
            print(f"  note: {t.note}")
    print()
    print("gdlib/torch < 1: gdlib is faster. same loss: |first-batch loss gdlib - torch| from "
          "the same initial weights.")
    return tasks


if __name__ == "__main__":
    main()
