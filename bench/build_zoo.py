"""Build a diverse pool of teachers for one GLUE task from what is available offline (all-MiniLM-L6-v2 + scikit-learn).

    python bench/build_zoo.py --task mrpc --data-dir ../shared/data/glue --out runs/zoo

Writes runs/zoo/<task>/<teacher>/ (save_pretrained or TF-IDF directories), runs/zoo/<task>/zoo.json (dev accuracy
and task metric per teacher, pairwise disagreement on dev, build times) and regenerates docs/zoo.md from every
zoo.json (and cache_speed.json, see bench/cache_speed.py) under --out. Teachers already built are skipped, so an
interrupted build resumes where it stopped.
"""
from __future__ import annotations
import argparse, json, shlex, sys, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# The recipe: four kinds of diversity from one pretrained encoder and one classical model.
RECIPES = {
    "t0": dict(kind="hf", lr=5e-5, seed=0, train_fraction=1.0, num_layers=None, freeze_layers=0,
               about="MiniLM-L6, all of train, lr 5e-5, seed 0"),
    "t1": dict(kind="hf", lr=1e-4, seed=1, train_fraction=0.5, num_layers=None, freeze_layers=0,
               about="MiniLM-L6, 50% of train, lr 1e-4, seed 1"),
    "t2": dict(kind="hf", lr=1e-4, seed=2, train_fraction=1.0, num_layers=3, freeze_layers=0,
               about="MiniLM-L6 truncated to its first 3 layers, lr 1e-4, seed 2"),
    "t3": dict(kind="tfidf", seed=0, about="TF-IDF (1-2 grams) + logistic regression"),
}


def pairwise_disagreement(preds: np.ndarray) -> np.ndarray:
    "(N, K) predicted labels -> (K, K) share of examples on which two teachers disagree."
    return (preds[:, :, None] != preds[:, None, :]).mean(0)


def build_one(name, recipe, ds, task, tdir, args):
    from rmkd_nb.teachers import TfidfTeacher, finetune_teacher, pretrained_path
    if recipe["kind"] == "tfidf":
        t0 = time.time(); tr = ds["train"]
        t = TfidfTeacher.fit(tr["text"], tr["label"], tr.features["label"].names,
                             text_pairs=tr["text_pair"] if "text_pair" in tr.column_names else None, name=name,
                             seed=recipe["seed"])
        t.save(tdir)
        return {"seconds": round(time.time() - t0, 1), "train_examples": len(tr)}
    info = finetune_teacher(pretrained_path("minilm-l6", args.pretrained), ds, tdir, epochs=args.epochs,
                            lr=recipe["lr"],
                            batch_size=args.batch_size, max_length=args.max_length, seed=recipe["seed"],
                            train_fraction=recipe["train_fraction"], freeze_layers=recipe["freeze_layers"],
                            num_layers=recipe["num_layers"], task=task, device="cpu")
    return {"seconds": info["seconds"], "train_examples": info["train_examples"], "history": info["history"]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True)
    p.add_argument("--data-dir", default=str(ROOT.parent/"shared"/"data"/"glue"))
    p.add_argument("--out", default="runs/zoo")
    p.add_argument("--teachers", default=",".join(RECIPES), help="comma-separated subset of " + ",".join(RECIPES))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-train", type=int, default=None, help="fixed-seed training subset (e.g. 4000 for sst2)")
    p.add_argument("--max-eval", type=int, default=None, help="fixed-seed dev subset (quick checks only)")
    p.add_argument("--subset-seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--pretrained", default=None, help="MiniLM-L6 directory (default: the installed package)")
    p.add_argument("--doc", default=str(ROOT/"docs"/"zoo.md"), help="markdown report to regenerate ('none': skip)")
    args = p.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)
    import datasets, transformers
    transformers.utils.logging.disable_progress_bar(); transformers.utils.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    from rmkd_nb.core import write_json
    from rmkd_nb.data import compute_metrics, get_task, load_task
    from rmkd_nb.teachers import load_teacher

    spec = get_task(args.task); start = time.time()
    ds = load_task(spec.name, args.data_dir, max_train_examples=args.max_train, max_eval_examples=args.max_eval,
                   seed=args.subset_seed)
    names = ds["train"].features["label"].names
    tdir = Path(args.out)/spec.name; tdir.mkdir(parents=True, exist_ok=True)
    want = [t.strip() for t in args.teachers.split(",") if t.strip()]
    for t in want:
        if t not in RECIPES: p.error(f"unknown teacher {t!r}; the recipe has {', '.join(RECIPES)}")
    built = {}
    for t in want:
        d = tdir/t; log = d/"build.json"
        if (d/"config.json").exists() or (d/"tfidf.json").exists():
            print(f"[{spec.name}] {t}: already built, skipping", flush=True)
            ft = d/"finetune.json"
            built[t] = (json.loads(log.read_text()) if log.exists()
                        else json.loads(ft.read_text()) if ft.exists() else {})
            continue
        print(f"[{spec.name}] {t}: {RECIPES[t]['about']} ({len(ds['train'])} training examples)", flush=True)
        built[t] = build_one(t, RECIPES[t], ds, spec.name, d, args)
        write_json(log, built[t])
        print(f"[{spec.name}] {t}: built in {built[t]['seconds']:.0f} s", flush=True)

    dev = ds["validation"]; labels = np.asarray(dev["label"])
    pairs = dev["text_pair"] if "text_pair" in dev.column_names else None
    rows, preds, probs = [], [], []
    for t in want:
        teacher = load_teacher(tdir/t, names, max_length=args.max_length, batch_size=128, device="cpu", name=t)
        t0 = time.time(); logits = teacher.predict(dev["text"], pairs)["logits"]; dt = time.time() - t0
        pr = logits.argmax(1); preds.append(pr)
        e = np.exp(logits - logits.max(1, keepdims=True)); probs.append(e / e.sum(1, keepdims=True))
        m = compute_metrics(spec.name, pr, labels)
        rows.append(dict(name=t, dir=str(tdir/t), kind=RECIPES[t]["kind"], about=RECIPES[t]["about"],
                         recipe={k: v for k, v in RECIPES[t].items() if k != "about"}, dev_accuracy=m["accuracy"],
                         dev_metrics=m,
                         train_examples=built[t].get("train_examples"), train_seconds=built[t].get("seconds"),
                         dev_predict_seconds=round(dt, 2), fingerprint=teacher.fingerprint()))
        print(f"[{spec.name}] {t}: dev " + " ".join(f"{k} {v:.4f}" for k, v in m.items()), flush=True)
    P = np.stack(preds, 1); D = pairwise_disagreement(P); K = len(want)
    off = D[~np.eye(K, dtype=bool)]
    correct = P == labels[:, None]
    ens = np.mean(probs, 0).argmax(1)
    zoo = dict(task=spec.name, main_metric=spec.main_metric, data_dir=str(args.data_dir), pretrained="minilm-l6",
               epochs=args.epochs, max_length=args.max_length, batch_size=args.batch_size, threads=args.threads,
               train_examples=len(ds["train"]), dev_examples=len(dev),
               train_subset=None if args.max_train is None
               else dict(max_train_examples=args.max_train, seed=args.subset_seed,
                         note="fixed-seed random subset of the training set"),
               dev_subset=None if args.max_eval is None
               else dict(max_eval_examples=args.max_eval, seed=args.subset_seed),
               teachers=rows, disagreement=dict(names=want, matrix=D.round(4).tolist()),
               mean_pairwise_disagreement=float(off.mean()) if K > 1 else 0.0,
               ensemble_dev_accuracy=float((ens == labels).mean()),
               oracle_dev_accuracy=float(correct.any(1).mean()), all_wrong_dev=float((~correct).all(1).mean()),
               build_seconds=round(sum(r["train_seconds"] or 0 for r in rows), 1),
               this_run_seconds=round(time.time() - start, 1),
               command="python bench/build_zoo.py "
                       + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])))
    write_json(tdir/"zoo.json", zoo)
    print(f"[{spec.name}] wrote {tdir/'zoo.json'}; mean pairwise disagreement {zoo['mean_pairwise_disagreement']:.3f}",
          flush=True)
    if args.doc != "none": write_zoo_doc(Path(args.out), Path(args.doc))


def checkpoint_choice(row) -> str:
    """Which dev metric picked a fine-tuned teacher's epoch (teachers built before the choice was recorded used
    accuracy)."""
    ft = Path(row["dir"])/"finetune.json"
    if row["kind"] != "hf" or not ft.exists(): return "–"
    f = json.loads(ft.read_text())
    # first best, as that code kept it
    epoch = f.get("best_epoch") or 1 + int(np.argmax([h["dev_accuracy"] for h in f["history"]]))
    return f"dev {f.get('selection_metric', 'accuracy')}, epoch {epoch} of {f['epochs']}"


def write_zoo_doc(out_root: Path, doc: Path):
    "Regenerate the markdown report from every zoo.json / cache_speed.json under `out_root`."
    from rmkd_nb.core import atomic_write
    lines = ["# Teacher zoo", "",
             "Generated by `bench/build_zoo.py` (and `bench/cache_speed.py`); do not edit by hand.", "",
             "Teachers built offline from all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384) and scikit-learn, on a 2-core "
             "CPU, one torch thread. Times are wall-clock on that CPU while other jobs shared it (load average often "
             "5-10), so read them as upper bounds (a MiniLM-L6 training step at batch 32 x 64 tokens takes about 1.5 s "
             "on an idle core pair). "
             "Recipe per task:", ""]
    for k, r in RECIPES.items(): lines.append(f"- `{k}`: {r['about']}")
    lines += ["",
              "Disagreement = share of dev examples on which two teachers predict different labels. Oracle = share of "
              "dev examples that at least one teacher gets right; ensemble = argmax of the averaged probabilities.", ""]
    for zf in sorted(out_root.glob("*/zoo.json")):
        z = json.loads(zf.read_text())
        sub = (f", training subset of {z['train_subset']['max_train_examples']} examples (seed "
               f"{z['train_subset']['seed']})") if z.get("train_subset") else ""
        dsub = f", dev subset of {z['dev_subset']['max_eval_examples']}" if z.get("dev_subset") else ""
        lines += [f"## {z['task']}", "",
                  f"{z['train_examples']} training examples{sub}; {z['dev_examples']} dev examples{dsub}; "
                  f"{z['epochs']} epochs, max length {z['max_length']}, batch {z['batch_size']}.", "",
                  f"Command: `{z['command']}`", ""]
        mm = [m for m in z["teachers"][0]["dev_metrics"] if m != "accuracy"]     # the task metric, when not accuracy
        lines += ["| teacher | recipe | train examples | dev accuracy | " + "".join(f"dev {m} | " for m in mm)
                  + "checkpoint chosen on | build time (s) |",
                  "|---|---|---:|---:|" + "---:|" * len(mm) + "---|---:|"]
        for r in z["teachers"]:
            lines.append(f"| {r['name']} | {r['about']} | {r['train_examples']} | {r['dev_accuracy']:.4f} | "
                         + "".join(f"{r['dev_metrics'][m]:.4f} | " for m in mm) + f"{checkpoint_choice(r)} | "
                         + f"{r['train_seconds'] if r['train_seconds'] is not None else '?'} |")
        names = z["disagreement"]["names"]
        lines += ["", "Pairwise disagreement on dev:", "", "| | " + " | ".join(names) + " |",
                  "|---|" + "---:|" * len(names)]
        for n, row in zip(names, z["disagreement"]["matrix"]):
            lines.append(f"| {n} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
        lines += ["", f"Mean pairwise disagreement {z['mean_pairwise_disagreement']:.3f}; ensemble dev accuracy "
                  f"{z['ensemble_dev_accuracy']:.4f}; oracle {z['oracle_dev_accuracy']:.4f}; all teachers wrong on "
                  f"{z['all_wrong_dev']:.3f} of dev. Total teacher build time {z['build_seconds']:.0f} s.", ""]
        cs = zf.parent/"cache_speed.json"
        if cs.exists():
            c = json.loads(cs.read_text())
            lines += [f"### Teacher cache ({z['task']})", "", f"Command: `{c['command']}`", "", "| measure | value |",
                      "|---|---:|"]
            lines += [f"| {k} | {v} |" for k, v in c["table"].items()] + [""]
    with atomic_write(doc) as f: f.write("\n".join(lines) + "\n")
    print(f"wrote {doc}", flush=True)


if __name__ == "__main__":
    main()
