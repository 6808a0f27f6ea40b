"""Teacher cache vs. running the teachers: build time, size on disk, and the time to get one epoch of teacher outputs.

    python bench/cache_speed.py --task mrpc --zoo runs/zoo

Needs the zoo of bench/build_zoo.py. Builds (or reuses) the cache of the task's zoo under runs/zoo/<task>/cache,
times one epoch of `TeacherCache.gather` in shuffled batches (memory-mapped, and after `cache.to("cpu")`), and times
the teachers' forward passes on shuffled batches of the same size (a sample of batches, scaled to an epoch).
Prints a table, writes runs/zoo/<task>/cache_speed.json and regenerates docs/zoo.md.
"""
from __future__ import annotations
import argparse, json, shlex, sys, time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_zoo import ROOT, SUMMARIES, write_zoo_doc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", default="mrpc")
    p.add_argument("--zoo", default="runs/zoo")
    p.add_argument("--batch-size", type=int, default=32, help="training batch size of the simulated epoch")
    p.add_argument("--forward-batches", type=int, default=10, help="batches of teacher forward passes to time")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--doc", default=str(ROOT/"docs"/"zoo.md"))
    p.add_argument("--summaries", default=str(SUMMARIES), help="the zoo summaries docs/zoo.md is made from")
    args = p.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)
    import datasets, transformers
    transformers.utils.logging.disable_progress_bar(); transformers.utils.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    from rmkd_nb.core import write_json
    from rmkd_nb.data import load_task
    from rmkd_nb.cache import TeacherCache
    from rmkd_nb.teachers import load_teacher

    zdir = Path(args.zoo)/args.task
    zoo = json.loads((zdir/"zoo.json").read_text())
    sub, dsub = zoo.get("train_subset") or {}, zoo.get("dev_subset") or {}
    ds = load_task(args.task, zoo["data_dir"], max_train_examples=sub.get("max_train_examples"),
                   max_eval_examples=dsub.get("max_eval_examples"), seed=sub.get("seed", dsub.get("seed", 0)))
    names = ds["train"].features["label"].names
    teachers = [load_teacher(r["dir"], names, max_length=zoo["max_length"], batch_size=64, device="cpu",
                             name=r["name"]) for r in zoo["teachers"]]

    before = {p.name for p in (zdir/"cache").glob("*")} if (zdir/"cache").is_dir() else set()
    cache = TeacherCache.build(teachers, ds, zdir/"cache", batch_size=64)
    reused = cache.path.name in before
    n = len(ds["train"]); B = args.batch_size
    perm = np.random.default_rng(0).permutation(np.asarray(ds["train"]["idx"]))
    batches = [torch.as_tensor(perm[i:i + B]) for i in range(0, n, B)]

    def epoch(c):
        t = time.perf_counter()
        for b in batches: c.gather(b)
        return time.perf_counter() - t
    fresh = TeacherCache.open(cache.path)
    t_mmap = epoch(fresh)
    t_mem = epoch(TeacherCache.open(cache.path).to("cpu"))

    tr = ds["train"]; pos = {int(i): j for j, i in enumerate(tr["idx"])}
    pairs = tr["text_pair"] if "text_pair" in tr.column_names else None
    texts = tr["text"]; sample = batches[:args.forward_batches]
    per_teacher = {}
    for t in teachers:
        s = time.perf_counter()
        for b in sample:
            rows = [pos[int(i)] for i in b]
            t.predict([texts[r] for r in rows], [pairs[r] for r in rows] if pairs is not None else None)
        per_teacher[t.name] = (time.perf_counter() - s) / len(sample) * len(batches)
    t_fwd = sum(per_teacher.values())
    size = sum(f.stat().st_size for f in cache.path.rglob("*") if f.is_file())

    table = {
        "teachers": ", ".join(cache.teacher_names),
        "training examples / dev examples": f"{n} / {len(ds['validation'])}",
        "cache build time, train + dev (s)": f"{cache.meta['build_seconds']:.1f}",
        "cache size on disk (MB)": f"{size / 1e6:.2f}",
        f"gather one epoch, batch {B}, memory-mapped (s)": f"{t_mmap:.3f}",
        f"gather one epoch, batch {B}, after to('cpu') (s)": f"{t_mem:.3f}",
        f"run the teachers for one epoch, batch {B} (s, from {len(sample)} batches)": f"{t_fwd:.1f}",
        **{f"  of which {k} (s)": f"{v:.1f}" for k, v in per_teacher.items()},
        "speed-up of the memory-mapped gather": f"{t_fwd / t_mmap:,.0f}x",
        "torch threads": str(args.threads),
    }
    w = max(len(k) for k in table)
    print("\n".join(f"{k:<{w}}  {v}" for k, v in table.items()))
    write_json(zdir/"cache_speed.json", dict(task=args.task, cache=str(cache.path), reused_cache=reused, table=table,
                                             seconds=dict(build=cache.meta["build_seconds"], gather_mmap=t_mmap,
                                                          gather_mem=t_mem,
                                                          forward=t_fwd, per_teacher=per_teacher), bytes=size,
                                             command="python bench/cache_speed.py "
                                             + " ".join(shlex.quote(a) for a in (argv if argv is not None
                                                                                  else sys.argv[1:]))))
    if args.doc != "none": write_zoo_doc(Path(args.zoo), Path(args.doc), Path(args.summaries))


if __name__ == "__main__":
    main()
