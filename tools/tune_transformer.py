"""The learning-rate sweep behind lesson 30 (a small transformer, AdamW and Muon).

Both optimizers get the same budget: four learning rates each, one seed, the
lesson's model, batches and warm-up-stable-decay schedule for ``STEPS`` steps.
AdamW's rates are swept first; Muon's runs then use AdamW's best rate for the
parameters AdamW keeps (embeddings, position table, head, gains, biases), and
sweep Muon's own rate for the hidden matrices. The validation loss curves go
to ``lessons/30-transformer/lr_sweep.json``, which the lesson's explorer draws
and from which it takes the two tuned rates.

Run ``python tools/tune_transformer.py`` (about 2-3 minutes on 2 busy cores).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from gdlib import optim
from gdlib.data.chars import CharVocab, load_macbeth
from gdlib.nn.transformer import GPT, muon_adamw, train_lm, wsd_schedule

OUT = Path(__file__).resolve().parents[1] / "lessons" / "30-transformer" / "lr_sweep.json"

#: The lesson's recipe (the notebook states the same numbers).
RECIPE = dict(d_model=64, n_heads=4, n_layers=2, block_size=32, batch_size=32, steps=300,
              warmup=30, decay=60, weight_decay=0.01, betas=(0.9, 0.99), eval_every=20)
ADAMW_LRS = [1e-3, 3e-3, 1e-2, 3e-2]
MUON_LRS = [3e-3, 1e-2, 3e-2, 1e-1]


def run(make_opt, seed=0, r=RECIPE):
    text = load_macbeth()
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    cut = int(0.9 * ids.size)
    model = GPT(len(vocab), r["block_size"], r["d_model"], r["n_heads"], r["n_layers"], rng=seed)
    return train_lm(model, ids[:cut], ids[cut:], make_opt, r["steps"], r["batch_size"],
                    schedule=lambda o: wsd_schedule(o, r["steps"], r["warmup"], r["decay"]),
                    eval_every=r["eval_every"], seed=seed, progress=False)


def main():
    r = RECIPE
    out = {"recipe": r, "adamw": {}, "muon": {}}
    for lr in ADAMW_LRS:
        t = time.perf_counter()
        res = run(lambda p, lr=lr: optim.AdamW(p, lr=lr, betas=r["betas"],
                                               weight_decay=r["weight_decay"]))
        out["adamw"][repr(lr)] = {"step": res["eval_steps"].tolist(),
                                  "val_loss": res["val_loss"].round(4).tolist()}
        print(f"adamw lr={lr:g}: final val {res['val_loss'][-1]:.3f} "
              f"({time.perf_counter() - t:.0f} s)", flush=True)
    best = min(ADAMW_LRS, key=lambda lr: out["adamw"][repr(lr)]["val_loss"][-1])
    out["muon_adamw_lr"] = best
    for lr in MUON_LRS:
        t = time.perf_counter()
        res = run(lambda p, lr=lr: muon_adamw(p, lr=lr, adamw_lr=best, adamw_betas=r["betas"],
                                              weight_decay=r["weight_decay"]))
        out["muon"][repr(lr)] = {"step": res["eval_steps"].tolist(),
                                 "val_loss": res["val_loss"].round(4).tolist()}
        print(f"muon lr={lr:g} (adamw part {best:g}): final val {res['val_loss'][-1]:.3f} "
              f"({time.perf_counter() - t:.0f} s)", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
