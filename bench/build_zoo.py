"""Build a diverse pool of teachers for one GLUE task from what is available offline (all-MiniLM-L6-v2 + scikit-learn).

    python bench/build_zoo.py --task mrpc --data-dir ../shared/data/glue --out runs/zoo
    python bench/build_zoo.py --task sst2 --disjoint-from bench/sweeps/sst2_study.yaml \
        --teachers minilm6,minilm3,tfidf --max-train 4000 --epochs 1

With --disjoint-from SWEEP.yaml the teachers train on a teacher split of the training file that is disjoint, by
construction, from the student's training split and the reward split of that sweep (rebuilt with the kit's own
`rmkd_nb.experiment.load_data`, so the same rows a run trains on are excluded); fine-tuned teachers pick their
checkpoint on a teacher-dev split carved from the same remainder (never on the report split). zoo.json records every
split as in result.json["splits"] (size + sha256 of the sorted idx), and how often each teacher is right on the
student's training and reward examples. --check-run RUN_DIR (with --doc-only: no teacher is loaded) compares a
finished run's result.json["splits"] with the splits the zoo excluded.

Writes runs/zoo/<task>/<teacher>/ (save_pretrained or TF-IDF directories), runs/zoo/<task>/zoo.json (dev accuracy
and task metric per teacher, pairwise disagreement on dev, build times), a copy of that summary as
results/zoo/<task>.json (committed: it outlives the machine, the teachers do not), and regenerates docs/zoo.md from
every summary in results/zoo/ (and the step_times.md / cache_speed.json beside a zoo under --out, when present).
Teachers already built are skipped, so an interrupted build resumes where it stopped.
"""
from __future__ import annotations
import argparse, json, shlex, sys, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SUMMARIES = ROOT/"results"/"zoo"      # committed copies of every zoo.json: docs/zoo.md is regenerated from them


def keep_summary(zoo: dict, tdir: Path, summaries: Path = SUMMARIES):
    "Write the zoo's summary to <tdir>/zoo.json and its committed copy <summaries>/<tdir.name>.json."
    from rmkd_nb.core import write_json
    write_json(tdir/"zoo.json", zoo); Path(summaries).mkdir(parents=True, exist_ok=True)
    write_json(Path(summaries)/f"{tdir.name}.json", zoo)

# The recipe: four kinds of diversity from one pretrained encoder and one classical model.
RECIPES = {
    "t0": dict(kind="hf", lr=5e-5, seed=0, train_fraction=1.0, num_layers=None, freeze_layers=0,
               about="MiniLM-L6, all of train, lr 5e-5, seed 0"),
    "t1": dict(kind="hf", lr=1e-4, seed=1, train_fraction=0.5, num_layers=None, freeze_layers=0,
               about="MiniLM-L6, 50% of train, lr 1e-4, seed 1"),
    "t2": dict(kind="hf", lr=1e-4, seed=2, train_fraction=1.0, num_layers=3, freeze_layers=0,
               about="MiniLM-L6 truncated to its first 3 layers, lr 1e-4, seed 2"),
    "t3": dict(kind="tfidf", seed=0, about="TF-IDF (1-2 grams) + logistic regression"),
    # the issue-16 pool (use with --disjoint-from): architecture and size differ, not only seeds
    "minilm6": dict(kind="hf", lr=1e-4, seed=0, train_fraction=1.0, num_layers=None, freeze_layers=0,
                    about="MiniLM-L6 (6 layers), the teacher split, lr 1e-4, seed 0"),
    "minilm3": dict(kind="hf", lr=1e-4, seed=1, train_fraction=1.0, num_layers=3, freeze_layers=0,
                    about="MiniLM-L6 truncated to its first 3 layers, the teacher split, lr 1e-4, seed 1"),
    "tfidf": dict(kind="tfidf", seed=0, pool=True,
                  about="TF-IDF (1-2 grams) + logistic regression, on the whole teacher pool (all rows not excluded)"),
    "mpnet": dict(kind="hf", pretrained="mpnet", lr=3e-5, seed=2, train_fraction=1.0, num_layers=None, freeze_layers=0,
                  about="all-mpnet-base-v2 (MPNet, 12 layers), the teacher split, lr 3e-5, seed 2"),
}


def pairwise_disagreement(preds: np.ndarray) -> np.ndarray:
    "(N, K) predicted labels -> (K, K) share of examples on which two teachers disagree."
    return (preds[:, :, None] != preds[:, None, :]).mean(0)


def build_one(name, recipe, ds, task, tdir, args):
    from rmkd_nb.data import split_record
    from rmkd_nb.teachers import TfidfTeacher, finetune_teacher, pretrained_path
    if recipe["kind"] == "tfidf":
        t0 = time.time(); tr = ds["pool"] if recipe.get("pool") and "pool" in ds else ds["train"]
        pairs = tr["text_pair"] if "text_pair" in tr.column_names else None
        t = TfidfTeacher.fit(tr["text"], tr["label"], tr.features["label"].names, text_pairs=pairs, name=name,
                             seed=recipe["seed"])
        t.save(tdir)
        return {"seconds": round(time.time() - t0, 1), "train_examples": len(tr),
                "split": split_record(tr, "pool" if tr is ds.get("pool") else "teacher_train", "train")}
    model = args.mpnet if recipe.get("pretrained") == "mpnet" else pretrained_path("minilm-l6", args.pretrained)
    if model is None: raise SystemExit(f"teacher {name}: give --mpnet DIR (see the issue-16 notes in docs/zoo.md)")
    info = finetune_teacher(model, ds, tdir, epochs=args.epochs, lr=recipe["lr"],
                            batch_size=args.batch_size, max_length=args.max_length, seed=recipe["seed"],
                            train_fraction=recipe["train_fraction"], freeze_layers=recipe["freeze_layers"],
                            num_layers=recipe["num_layers"], task=task, device="cpu",
                            eval_split="teacher_dev" if "teacher_dev" in ds else "validation")
    return {"seconds": info["seconds"], "train_examples": info["train_examples"], "history": info["history"],
            "split": split_record(ds["train"], "teacher_train", "train") if recipe["train_fraction"] >= 1 else None}


def _norm(t): return " " + " ".join(str(t).lower().split()) + " "


def text_overlap(rows, taken_texts, min_words=1) -> np.ndarray:
    """Which of `rows` contain, or are contained in, one of `taken_texts` (whole words, case and spacing ignored;
    both texts of at least `min_words` words). SST-2's train file holds phrases of the same sentences: disjoint idx
    still share text."""
    import bisect
    pool = [_norm(t) for t in rows]; ex = [_norm(t) for t in taken_texts]
    big = "".join(pool); starts = np.cumsum([0] + [len(t) for t in pool])[:-1].tolist(); exbig = "\n".join(ex)
    bad = np.zeros(len(pool), bool)
    for e in ex:
        if len(e.split()) < min_words: continue
        i = big.find(e)
        while i >= 0: bad[bisect.bisect_right(starts, i) - 1] = True; i = big.find(e, i + 1)
    for j, t in enumerate(pool):
        if not bad[j] and len(t.split()) >= min_words and t in exbig: bad[j] = True
    return bad


def disjoint_splits(ds, sweep_file, n_train, n_dev, seed, content_words=0):
    """Replace ds["train"] by a teacher split disjoint from the sweep's student and reward splits.

    content_words > 0: also drop rows whose text contains or is contained in a student/reward row's text (both of at
    least that many words). Returns (ds with train / teacher_dev / pool / student_train / student_reward, record)."""
    import yaml
    from datasets import DatasetDict
    from rmkd_nb.core import DistillConfig
    from rmkd_nb.data import split_record
    from rmkd_nb.experiment import load_data
    base = (yaml.safe_load(Path(sweep_file).read_text()) or {}).get("base", {})
    keys = ("task", "data_dir", "max_train_examples", "reward_examples", "subset_seed", "max_eval_examples")
    cfg = DistillConfig(**{k: base[k] for k in keys if k in base})
    run = load_data(cfg)                                   # the kit's own split code: the rows a run trains on
    taken = np.asarray(list(run["train"]["idx"]) + (list(run["reward"]["idx"]) if "reward" in run else []), np.int64)
    full = ds["train"]; idx = np.asarray(list(full["idx"]), dtype=np.int64)
    rest = np.flatnonzero(~np.isin(idx, taken)); n_idx_rest = len(rest)
    if content_words:
        texts = list(run["train"]["text"]) + (list(run["reward"]["text"]) if "reward" in run else [])
        alltext = list(full["text"]); rest = rest[~text_overlap([alltext[i] for i in rest], texts, content_words)]
    perm = rest[np.random.default_rng([seed, 2]).permutation(len(rest))]
    if n_dev + (n_train or 0) > len(perm):
        raise SystemExit(f"--teacher-dev {n_dev} + --max-train {n_train} > {len(perm)} rows left after the exclusion")
    dev_rows = np.sort(perm[:n_dev]); train_rows = np.sort(perm[n_dev:n_dev + n_train] if n_train else perm[n_dev:])
    out = DatasetDict(dict(ds))
    out["teacher_dev"], out["train"] = full.select(dev_rows), full.select(train_rows)
    out["pool"] = full.select(np.sort(perm[n_dev:]))
    out["student_train"] = run["train"]
    if "reward" in run: out["student_reward"] = run["reward"]
    mine = np.concatenate([idx[dev_rows], idx[perm[n_dev:]]])
    overlap = int(np.isin(mine, taken).sum())
    assert overlap == 0 and len(np.unique(taken)) == len(taken), "teacher and student splits overlap"
    rec = dict(sweep=str(sweep_file), student_config={k: base.get(k) for k in keys[2:]},
               rule=f"train rows not in the sweep's train or reward split, permuted by default_rng([{seed}, 2]): "
                    f"the first {n_dev} are teacher_dev, the next {n_train or 'rest'} the teacher split; "
                    "pool = all of them except teacher_dev",
               excluded=[split_record(run["train"], "train")] + ([split_record(run["reward"], "reward", "train")]
                                                                 if "reward" in run else []),
               teacher=[split_record(out[k], n, "train") for k, n in
                        (("train", "teacher_train"), ("teacher_dev", "teacher_dev"), ("pool", "pool"))],
               overlap_with_excluded=overlap, train_file_rows=len(full), rows_after_idx_exclusion=n_idx_rest,
               content_disjoint_min_words=content_words, rows_after_text_exclusion=len(rest) if content_words else None)
    return out, rec


def right_share(logits_by_teacher, labels):
    "Share of examples each teacher gets right, the oracle (some teacher right) and all-wrong."
    c = np.stack([l.argmax(1) for l in logits_by_teacher], 1) == np.asarray(labels)[:, None]
    return dict(per_teacher=c.mean(0).round(4).tolist(), oracle=float(c.any(1).mean()),
                all_wrong=float((~c).all(1).mean()), n=len(labels))


def check_runs(zoo, run_dirs):
    "Compare finished runs' result.json['splits'] with the splits the zoo excluded (hash equality)."
    ex = {r["name"]: r for r in (zoo.get("splits") or {}).get("excluded", [])}; out = []
    for d in run_dirs:
        res = json.loads((Path(d)/"result.json").read_text())
        rs = {r["name"]: r for r in res.get("splits", [])}
        out.append(dict(run=str(d), **{f"{k}_matches": rs.get(k, {}).get("idx_sha256") == v["idx_sha256"]
                                        and rs.get(k, {}).get("n") == v["n"] for k, v in ex.items()},
                        splits=[{k: r[k] for k in ("name", "n", "idx_sha256")} for r in res.get("splits", [])]))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", default=None, help="the GLUE task (needed unless --doc-only)")
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
    p.add_argument("--summaries", default=str(SUMMARIES),
                   help="where each zoo's summary is kept (docs/zoo.md's source)")
    p.add_argument("--disjoint-from", default=None, metavar="SWEEP.yaml",
                   help="train on a teacher split disjoint from this sweep's student and reward splits")
    p.add_argument("--teacher-dev", type=int, default=500,
                   help="with --disjoint-from: rows of the remainder held out to pick fine-tuned teachers' checkpoints")
    p.add_argument("--content-disjoint", type=int, default=0, metavar="MIN_WORDS",
                   help="with --disjoint-from: also drop rows sharing text with a student/reward row (0: off)")
    p.add_argument("--tag", default=None, help="build into <out>/<task>-<tag> (a second zoo beside the first)")
    p.add_argument("--mpnet", default=None, help="all-mpnet-base-v2 directory (for the mpnet teacher)")
    p.add_argument("--check-run", action="append", default=[], metavar="RUN_DIR",
                   help="compare this finished run's result.json['splits'] with the excluded splits (repeatable)")
    p.add_argument("--doc-only", action="store_true", help="no teacher is loaded: update run checks, rewrite the doc")
    args = p.parse_args(argv)
    if args.doc_only and args.task is None:   # only regenerate docs/zoo.md from the kept summaries
        if args.doc != "none": write_zoo_doc(Path(args.out), Path(args.doc), Path(args.summaries))
        return
    if args.task is None: p.error("--task is required (except with --doc-only)")
    if args.doc_only:
        from rmkd_nb.core import write_json
        from rmkd_nb.data import get_task
        zf = Path(args.out)/(get_task(args.task).name + (f"-{args.tag}" if args.tag else ""))/"zoo.json"
        zoo = json.loads(zf.read_text())
        if args.check_run:
            zoo["run_checks"] = check_runs(zoo, args.check_run); keep_summary(zoo, zf.parent, args.summaries)
        if args.doc != "none": write_zoo_doc(Path(args.out), Path(args.doc), Path(args.summaries))
        return

    import torch
    torch.set_num_threads(args.threads)
    import datasets, transformers
    transformers.utils.logging.disable_progress_bar(); transformers.utils.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    from rmkd_nb.core import write_json
    from rmkd_nb.data import compute_metrics, get_task, load_task
    from rmkd_nb.teachers import load_teacher

    spec = get_task(args.task); start = time.time()
    split_rec = None
    if args.disjoint_from:
        ds = load_task(spec.name, args.data_dir, max_eval_examples=args.max_eval, seed=args.subset_seed)
        ds, split_rec = disjoint_splits(ds, args.disjoint_from, args.max_train, args.teacher_dev, args.subset_seed,
                                        args.content_disjoint)
    else: ds = load_task(spec.name, args.data_dir, max_train_examples=args.max_train, max_eval_examples=args.max_eval,
                         seed=args.subset_seed)
    names = ds["train"].features["label"].names
    tdir = Path(args.out)/(spec.name + (f"-{args.tag}" if args.tag else "")); tdir.mkdir(parents=True, exist_ok=True)
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
        n = len(ds["pool" if RECIPES[t].get("pool") and "pool" in ds else "train"])
        print(f"[{spec.name}] {t}: {RECIPES[t]['about']} ({n} training examples)", flush=True)
        built[t] = build_one(t, RECIPES[t], ds, spec.name, d, args)
        write_json(log, built[t])
        print(f"[{spec.name}] {t}: built in {built[t]['seconds']:.0f} s", flush=True)

    dev = ds["validation"]; labels = np.asarray(dev["label"])
    pairs = dev["text_pair"] if "text_pair" in dev.column_names else None
    rows, preds, probs = [], [], []
    extra = [s for s in ("student_train", "student_reward") if s in ds]; on = {s: [] for s in extra}
    for t in want:
        teacher = load_teacher(tdir/t, names, max_length=args.max_length, batch_size=128, device="cpu", name=t)
        t0 = time.time(); logits = teacher.predict(dev["text"], pairs)["logits"]; dt = time.time() - t0
        for sname in extra:
            sp = ds[sname]; on[sname].append(teacher.predict(sp["text"], sp["text_pair"] if pairs is not None else None)
                                             ["logits"])
        pr = logits.argmax(1); preds.append(pr)
        e = np.exp(logits - logits.max(1, keepdims=True)); probs.append(e / e.sum(1, keepdims=True))
        m = compute_metrics(spec.name, pr, labels)
        rows.append(dict(name=t, dir=str(tdir/t), kind=RECIPES[t]["kind"], about=RECIPES[t]["about"],
                         recipe={k: v for k, v in RECIPES[t].items() if k != "about"}, dev_accuracy=m["accuracy"],
                         dev_metrics=m,
                         train_examples=built[t].get("train_examples"), train_seconds=built[t].get("seconds"),
                         train_split=built[t].get("split"),
                         dev_predict_seconds=round(dt, 2), fingerprint=teacher.fingerprint()))
        print(f"[{spec.name}] {t}: dev " + " ".join(f"{k} {v:.4f}" for k, v in m.items()), flush=True)
    P = np.stack(preds, 1); D = pairwise_disagreement(P); K = len(want)
    off = D[~np.eye(K, dtype=bool)]
    correct = P == labels[:, None]
    ens = np.mean(probs, 0).argmax(1)
    zoo = dict(task=spec.name, tag=args.tag, main_metric=spec.main_metric, data_dir=str(args.data_dir),
               pretrained="minilm-l6" + (", all-mpnet-base-v2" if "mpnet" in want else ""),
               epochs=args.epochs, max_length=args.max_length, batch_size=args.batch_size, threads=args.threads,
               train_examples=len(ds["train"]), dev_examples=len(dev),
               train_subset=None if args.max_train is None or split_rec
               else dict(max_train_examples=args.max_train, seed=args.subset_seed,
                         note="fixed-seed random subset of the training set"),
               dev_subset=None if args.max_eval is None
               else dict(max_eval_examples=args.max_eval, seed=args.subset_seed),
               teachers=rows, disagreement=dict(names=want, matrix=D.round(4).tolist()),
               mean_pairwise_disagreement=float(off.mean()) if K > 1 else 0.0,
               ensemble_dev_accuracy=float((ens == labels).mean()),
               oracle_dev_accuracy=float(correct.any(1).mean()), all_wrong_dev=float((~correct).all(1).mean()),
               splits=split_rec, teacher_dev_examples=len(ds["teacher_dev"]) if "teacher_dev" in ds else None,
               right_on={s: right_share(on[s], ds[s]["label"]) for s in extra},
               build_seconds=round(sum(r["train_seconds"] or 0 for r in rows), 1),
               this_run_seconds=round(time.time() - start, 1),
               command="python bench/build_zoo.py "
                       + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])))
    if args.check_run: zoo["run_checks"] = check_runs(zoo, args.check_run)
    keep_summary(zoo, tdir, args.summaries)
    print(f"[{spec.name}] wrote {tdir/'zoo.json'}; mean pairwise disagreement {zoo['mean_pairwise_disagreement']:.3f}",
          flush=True)
    if args.doc != "none": write_zoo_doc(Path(args.out), Path(args.doc), Path(args.summaries))


def checkpoint_choice(row, on="dev") -> str:
    """Which dev metric picked a fine-tuned teacher's epoch (teachers built before the choice was recorded used
    accuracy)."""
    ft = Path(row["dir"])/"finetune.json"
    if row["kind"] != "hf" or not ft.exists(): return "–"
    f = json.loads(ft.read_text())
    # first best, as that code kept it
    epoch = f.get("best_epoch") or 1 + int(np.argmax([h["dev_accuracy"] for h in f["history"]]))
    return f"{on} {f.get('selection_metric', 'accuracy')}, epoch {epoch} of {f['epochs']}"


def split_lines(z) -> list[str]:
    "The leak-free section of one zoo: its splits, the run checks, how often each teacher is right on them."
    sp = z.get("splits")
    if not sp: return []
    c = sp["student_config"]
    txt = sp.get("content_disjoint_min_words")
    L = [f"### Splits ({z['task']}" + (f", {z['tag']}" if z.get("tag") else "") + "): disjoint idx"
         + (" and disjoint text" if txt else " only"), "",
         f"Excluded: the rows of `{sp['sweep']}` (max_train_examples {c['max_train_examples']}, reward_examples "
         f"{c['reward_examples']}, subset_seed {c['subset_seed']}), rebuilt with the kit's "
         "`rmkd_nb.experiment.load_data`. "
         f"Rule: {sp['rule']}. Rows of the training file: {sp['train_file_rows']}; overlap of the teachers' rows "
         f"with the excluded rows: {sp['overlap_with_excluded']} (checked with `np.isin` at build time). "
         + (f"Rows left after the idx exclusion: {sp['rows_after_idx_exclusion']}; after also dropping every row "
            "whose text contains or is contained in (whole words) a student or reward row's text of at least "
            f"{sp['content_disjoint_min_words']} word(s): {sp['rows_after_text_exclusion']}. "
            if sp.get("content_disjoint_min_words") else "")
         + ("The report split is the GLUE dev file, a different file. " if Path(z["data_dir"]).name == "glue" else
            f"The report split is {z['data_dir']}/*/dev.tsv, rows of the GLUE dev file that its train.tsv does not "
            "hold (bench/split_qnli.py). ")
         + "Hash = sha256 of the sorted idx (int64), "
         "as in result.json[\"splits\"]."
         + ("" if txt or z["task"] != "sst2" else " Only idx are excluded: a row of another idx can hold the same "
                           "words (SST-2's train rows are phrases of shared sentences), so compare these right-shares "
                           "with a --content-disjoint zoo's."),
         "", "| split | examples | idx sha256 (first 16) |", "|---|---:|---|"]
    L += [f"| {r['name']} (excluded) | {r['n']} | `{r['idx_sha256'][:16]}` |" for r in sp["excluded"]]
    L += [f"| {r['name']} | {r['n']} | `{r['idx_sha256'][:16]}` |" for r in sp["teacher"]]
    for chk in z.get("run_checks", []):
        ok = ", ".join(f"{k.removesuffix('_matches')} {'matches' if v else 'DIFFERS'}" for k, v in chk.items()
                       if k.endswith("_matches"))
        L += ["", f"Finished run `{chk['run']}`: result.json[\"splits\"] {ok} (same size and hash as the excluded "
                  "split above), so that run's training and reward rows are disjoint from every teacher's rows."]
    names = [t["name"] for t in z["teachers"]]
    L += ["", "How often each teacher is right on the student's examples (the signal an agent can learn from):", "",
          "| split | examples | " + " | ".join(names) + " | oracle (some teacher right) | all wrong |",
          "|---|---:|" + "---:|" * (len(names) + 2)]
    for s, r in (z.get("right_on") or {}).items():
        L.append(f"| {s} | {r['n']} | " + " | ".join(f"{v:.4f}" for v in r["per_teacher"])
                 + f" | {r['oracle']:.4f} | {r['all_wrong']:.4f} |")
    return L + [""]


def write_zoo_doc(out_root: Path, doc: Path, summaries: Path = SUMMARIES):
    "Regenerate the markdown report from every zoo summary in `summaries` (and step/cache files under `out_root`)."
    from rmkd_nb.core import atomic_write
    lines = ["# Teacher zoo", "",
             "Generated by `bench/build_zoo.py` (and `bench/cache_speed.py`); do not edit by hand.", "",
             "Teachers built offline from all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384) and scikit-learn, on a 2-core "
             "CPU, one torch thread. Times are wall-clock on that CPU while other jobs shared it (load average often "
             "5-10), so read them as upper bounds (a MiniLM-L6 training step at batch 32 x 64 tokens takes about 1.5 s "
             "on an idle core pair). "
             "Recipe per task:", ""]
    files = sorted(Path(summaries).glob("*.json"))
    zoos = [json.loads(zf.read_text()) for zf in files]
    used = {t["name"] for z in zoos for t in z["teachers"]}
    for k, r in RECIPES.items():
        if k in used: lines.append(f"- `{k}`: {r['about']}")
    lines += ["",
              "Disagreement = share of dev examples on which two teachers predict different labels. Oracle = share of "
              "dev examples that at least one teacher gets right; ensemble = argmax of the averaged probabilities.", ""]
    for zf, z in zip(files, zoos):
        here = out_root/zf.stem
        sub = (f", training subset of {z['train_subset']['max_train_examples']} examples (seed "
               f"{z['train_subset']['seed']})") if z.get("train_subset") else ""
        dsub = f", dev subset of {z['dev_subset']['max_eval_examples']}" if z.get("dev_subset") else ""
        c = z.get("control")
        about = (f"A positive control (bench/build_control.py): one base teacher, TF-IDF + logistic regression fitted "
                 f"with correct labels on {z['train_examples']} teacher-pool rows (dev "
                 + ", ".join(f"{k} {v:.4f}" for k, v in c["base_dev_metrics"].items())
                 + f"), and {c['regions']} specialists, each the base teacher (log-probabilities x {c['sharpen']:g}) "
                 f"on one length region (word-count cuts {c['word_cuts']}, quantiles of the student's training split) "
                 "and its classes rotated on the others. Examples per region: "
                 + "; ".join(f"{s} {v}" for s, v in c["region_share"].items()) + f". {z['dev_examples']} dev examples."
                 if c else f"{z['train_examples']} training examples{sub}; {z['dev_examples']} dev examples{dsub}; "
                 f"{z['epochs']} epochs, max length {z['max_length']}, batch {z['batch_size']}.")
        lines += [f"## {z['task']}" + (f" ({z['tag']})" if z.get("tag") else ""), "", about, "",
                  f"Command: `{z['command']}`", ""]
        mm = [m for m in z["teachers"][0]["dev_metrics"] if m != "accuracy"]     # the task metric, when not accuracy
        lines += ["| teacher | recipe | train examples | dev accuracy | " + "".join(f"dev {m} | " for m in mm)
                  + "checkpoint chosen on | build time (s) |",
                  "|---|---|---:|---:|" + "---:|" * len(mm) + "---|---:|"]
        for r in z["teachers"]:
            lines.append(f"| {r['name']} | {r['about']} | {r['train_examples']} | {r['dev_accuracy']:.4f} | "
                         + "".join(f"{r['dev_metrics'][m]:.4f} | " for m in mm)
                         + f"{checkpoint_choice(r, 'teacher_dev' if z.get('splits') else 'dev')} | "
                         + f"{r['train_seconds'] if r['train_seconds'] is not None else '?'} |")
        names = z["disagreement"]["names"]
        lines += ["", "Pairwise disagreement on dev:", "", "| | " + " | ".join(names) + " |",
                  "|---|" + "---:|" * len(names)]
        for n, row in zip(names, z["disagreement"]["matrix"]):
            lines.append(f"| {n} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
        lines += ["", f"Mean pairwise disagreement {z['mean_pairwise_disagreement']:.3f}; ensemble dev accuracy "
                  f"{z['ensemble_dev_accuracy']:.4f}; oracle {z['oracle_dev_accuracy']:.4f}; all teachers wrong on "
                  f"{z['all_wrong_dev']:.3f} of dev. Total teacher build time {z['build_seconds']:.0f} s.", ""]
        lines += split_lines(z)
        st = here/"step_times.md"
        if st.exists():
            lines += [f"### Step times ({z['task']}, measured before planning the pool)", "", st.read_text(), ""]
        cs = here/"cache_speed.json"
        if cs.exists():
            c = json.loads(cs.read_text())
            lines += [f"### Teacher cache ({z['task']})", "", f"Command: `{c['command']}`", "", "| measure | value |",
                      "|---|---:|"]
            lines += [f"| {k} | {v} |" for k, v in c["table"].items()] + [""]
    with atomic_write(doc) as f: f.write("\n".join(lines) + "\n")
    print(f"wrote {doc}", flush=True)


if __name__ == "__main__":
    main()
