"""Build the positive-control teacher pool of a GLUE task: teachers each right on one part of the input space and
systematically wrong everywhere else, so that per-example selection must matter.

    python bench/build_control.py --task sst2 --disjoint-from bench/sweeps/sst2_control.yaml --content-disjoint 1

The input space is cut into --regions parts by sentence length (whole words; cut points at the quantiles of the
student's training split). A base teacher, TF-IDF + logistic regression, is fitted with correct labels on a teacher
split disjoint from the sweep's student and reward splits (`build_zoo.disjoint_splits`, the same rule as the study's
zoo). Teacher k gives the base teacher's probabilities on the examples of region k and the same probabilities with
the classes rotated by one (for two classes: swapped) everywhere else: what a teacher trained with correct labels on
region k and rotated labels elsewhere would give if it fitted them exactly. The base teacher's log-probabilities are
first multiplied by --sharpen (4: a TF-IDF probability of 0.75 becomes 0.99; the predicted class is unchanged), since
a teacher that fitted wrong labels is confident about them; TF-IDF's own probabilities are mild, and at T=2 their
average over the three specialists is close to 0.5, which teaches nothing either way. On every example, one teacher
is right where the base teacher is right, and the other --regions - 1 agree on the same wrong class, so averaging
them teaches the wrong class, and only a per-example choice teaches the right one.

Writes runs/zoo/<task>-control/<region k>/ as `PredictionsTeacher` folders (the kit loads them like any teacher;
they hold the train, reward and dev examples of the sweep), and runs/zoo/<task>-control/zoo.json in
bench/build_zoo.py's format (with its committed copy results/zoo/<task>-control.json), then regenerates docs/zoo.md.
"""
from __future__ import annotations
import argparse, json, shlex, sys, time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_zoo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def n_words(texts) -> np.ndarray: return np.asarray([len(str(t).split()) for t in texts])


def region_of(texts, cuts) -> np.ndarray:
    "Region id of each text: how many cut points its word count exceeds."
    return np.searchsorted(np.asarray(cuts), n_words(texts), side="left")


def region_cuts(train_texts, regions: int) -> list:
    "Word-count cut points at the quantiles of the student's training texts (regions of about equal size)."
    return [float(np.quantile(n_words(train_texts), q)) for q in np.arange(1, regions) / regions]


def specialist_logits(base_logp: np.ndarray, region: np.ndarray, k: int, sharpen: float = 1.0) -> np.ndarray:
    "Teacher k: the base log-probabilities times `sharpen` on region k, rotated by one class everywhere else."
    z = sharpen * base_logp
    return np.where((region == k)[:, None], z, np.roll(z, 1, axis=1)).astype(np.float32)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", default="sst2")
    p.add_argument("--data-dir", default=str(ROOT.parent/"shared"/"data"/"glue"))
    p.add_argument("--out", default="runs/zoo")
    p.add_argument("--disjoint-from", required=True, metavar="SWEEP.yaml")
    p.add_argument("--content-disjoint", type=int, default=1, metavar="MIN_WORDS")
    p.add_argument("--teacher-dev", type=int, default=500)
    p.add_argument("--regions", type=int, default=3)
    p.add_argument("--sharpen", type=float, default=4.0,
                   help="the base teacher's log-probabilities are multiplied by this (its argmax kept): a teacher "
                        "trained on wrong labels is confident about them, and so is each specialist here")
    p.add_argument("--doc", default=str(ROOT/"docs"/"zoo.md"), help="markdown report to regenerate ('none': skip)")
    p.add_argument("--summaries", default=str(build_zoo.SUMMARIES), help="where the zoo's summary is kept")
    args = p.parse_args(argv)
    from rmkd_nb.data import compute_metrics, get_task, load_task
    from rmkd_nb.teachers import PredictionsTeacher, TfidfTeacher

    start, spec = time.time(), get_task(args.task)
    ds = load_task(spec.name, args.data_dir)
    ds, split_rec = build_zoo.disjoint_splits(ds, args.disjoint_from, None, args.teacher_dev, 0, args.content_disjoint)
    run = {"train": ds["student_train"], "reward": ds["student_reward"], "validation": ds["validation"]}  # a run's splits
    names = ds["train"].features["label"].names
    pool = ds["pool"]; pairs = "text_pair" in pool.column_names
    t0 = time.time()
    base = TfidfTeacher.fit(pool["text"], pool["label"], names, pool["text_pair"] if pairs else None, name="base")
    fit_s = time.time() - t0
    cuts = region_cuts(run["train"]["text"], args.regions)
    splits = run
    texts = [t for s in splits.values() for t in s["text"]]
    tpairs = [t for s in splits.values() for t in s["text_pair"]] if pairs else None
    base_logp = base.predict(texts, tpairs)["logits"]; region = region_of(texts, cuts)
    tdir = Path(args.out)/f"{spec.name}-control"; tdir.mkdir(parents=True, exist_ok=True)
    offs = np.cumsum([0] + [len(s) for s in splits.values()]); at = dict(zip(splits, zip(offs[:-1], offs[1:])))
    lo, hi = at["validation"]; dev_y = np.asarray(run["validation"]["label"])
    rows, preds, probs, on = [], [], [], {"student_train": [], "student_reward": []}
    for k in range(args.regions):
        name = f"region{k}"
        lg = specialist_logits(base_logp, region, k, args.sharpen)
        PredictionsTeacher(texts, lg, names, tpairs, name=name).save(tdir/name, overwrite=True)
        t = PredictionsTeacher.load(tdir/name, names)
        pr = lg[lo:hi].argmax(1); preds.append(pr); e = np.exp(lg[lo:hi]); probs.append(e / e.sum(1, keepdims=True))
        for s, sp in (("student_train", "train"), ("student_reward", "reward")): on[s].append(lg[slice(*at[sp])])
        m = compute_metrics(spec.name, pr, dev_y)
        b = [0] + cuts + [np.inf]
        about = (f"the base TF-IDF teacher (log-probabilities x {args.sharpen:g}) on region {k} ({b[k]:g} < words "
                 f"<= {b[k + 1]:g}), its classes rotated elsewhere")
        rows.append(dict(name=name, dir=str(tdir/name), kind="predictions", about=about, recipe=dict(region=k),
                         dev_accuracy=m["accuracy"], dev_metrics=m, train_examples=len(pool),
                         train_seconds=round(fit_s, 1), train_split=None, fingerprint=t.fingerprint(),
                         region_share_dev=float((region[lo:hi] == k).mean())))
        print(f"[{name}] dev " + " ".join(f"{a} {v:.4f}" for a, v in m.items()), flush=True)
    base_m = compute_metrics(spec.name, base_logp[lo:hi].argmax(1), dev_y)
    P = np.stack(preds, 1); D = build_zoo.pairwise_disagreement(P); K = args.regions
    correct = P == dev_y[:, None]
    zoo = dict(task=spec.name, tag="control", main_metric=spec.main_metric, data_dir=str(args.data_dir),
               pretrained="none (TF-IDF base teacher)", epochs=0, max_length=0, batch_size=0, threads=1,
               train_examples=len(pool), dev_examples=len(dev_y), train_subset=None, dev_subset=None,
               teachers=rows, disagreement=dict(names=[r["name"] for r in rows], matrix=D.round(4).tolist()),
               mean_pairwise_disagreement=float(D[~np.eye(K, dtype=bool)].mean()),
               ensemble_dev_accuracy=float((np.mean(probs, 0).argmax(1) == dev_y).mean()),
               oracle_dev_accuracy=float(correct.any(1).mean()), all_wrong_dev=float((~correct).all(1).mean()),
               splits=split_rec, teacher_dev_examples=len(ds["teacher_dev"]),
               right_on={s: build_zoo.right_share(on[s], run["train" if s == "student_train" else "reward"]["label"])
                         for s in on},
               control=dict(regions=K, word_cuts=cuts, sharpen=args.sharpen, base_dev_metrics=base_m,
                            region_share={s: np.bincount(region_of(sp["text"], cuts), minlength=K).tolist()
                                          for s, sp in splits.items()}),
               build_seconds=round(fit_s, 1), this_run_seconds=round(time.time() - start, 1),
               command="python bench/build_control.py "
                       + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])))
    build_zoo.keep_summary(zoo, tdir, args.summaries)
    print(f"base teacher dev {base_m}; ensemble dev accuracy {zoo['ensemble_dev_accuracy']:.4f}; oracle "
          f"{zoo['oracle_dev_accuracy']:.4f}; wrote {tdir/'zoo.json'}", flush=True)
    if args.doc != "none": build_zoo.write_zoo_doc(Path(args.out), Path(args.doc), Path(args.summaries))


if __name__ == "__main__":
    main()
