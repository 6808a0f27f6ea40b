"""RL-KD on real data: what the agent selects, and which of its options change the student.

    python bench/rl_real.py --task sst2 --workers 2

Runs RL-KD variants (agent learning rate, the paper's schedule, the paper's rewards, no label features, a bigger
training subset, training examples the teachers did not train on) with the
settings of the task's reproduction sweep (bench/sweeps/<task>.yaml) x its seeds into runs/rl_real/<task>/<variant>/
(finished runs are skipped), takes the default `rl` and `uniform` runs from the reproduction sweep itself
(runs/<task>/), and writes docs/rl_real.md: the dev metric per variant, and what the agent did on the last epoch:
the mean weight it gave each teacher and how well its selection probabilities separate the teachers that are right
on a training example from those that are wrong (ROC AUC; 0.5 is no separation; `rmkd_nb.viz.selection_auc`, whose
figure `selection_diagnostics` shows it per epoch).
"""
from __future__ import annotations
import argparse, json, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# name -> (strategy, options, config overrides, what it tests)
VARIANTS = {
    "agent_lr_0.05": ("rl", {"lr": 0.05}, {},
                      "agent learning rate 0.05 instead of 0.01: does the agent learn too slowly in ~100 steps?"),
    "paper_schedule": ("rl", {"warmup_epochs": 1, "pretrain_epochs": 1}, {"epochs": 4.0},
                       "the paper's schedule: 1 epoch uniform KD, 1 epoch agent pre-training with the student frozen, "
                       "2 joint (4 epochs, so the student still gets 3 epochs of updates)"),
    "reward_ce_after": ("rl", {"reward": "ce_after", "credit": "example"}, {},
                        "the paper's first reward: minus the student's CE on the gold label after the step, one reward "
                        "per example"),
    "reward_loss": ("rl", {"reward": "loss", "credit": "example"}, {},
                    "the paper's second reward: minus the distillation loss, one reward per example"),
    "no_label_features": ("rl", {"features": "repr"}, {},
                          "state of the student's and teachers' representations only (no gold-label CE, no teacher "
                          "probabilities)"),
    "uniform_4000_examples": ("uniform", {}, {"max_train_examples": 4000},
                              "uniform with 4,000 training examples instead of the sweep's subset: a bigger budget for "
                              "the student"),
    "rl_4000_examples": ("rl", {}, {"max_train_examples": 4000},
                         "the default agent with 4,000 training examples: does it pull away from uniform with more "
                         "steps?"),
    # subset_seed 1 draws 1,000 other training examples; docs/rl_real.md counts how many the teachers trained on
    "heldout_uniform": ("uniform", {}, {"subset_seed": 1},
                        "uniform on 1,000 examples the teachers (mostly) did not train on (subset_seed 1)"),
    "heldout_rl": ("rl", {}, {"subset_seed": 1},
                   "the default agent on those examples: teacher-right on them reflects how the teachers generalise"),
    "heldout_rl_soft": ("rl_soft", {}, {"subset_seed": 1}, "the same, soft mode"),
}


def spec_base(task: str) -> tuple[dict, list]:
    import yaml
    spec = yaml.safe_load((ROOT/"bench"/"sweeps"/f"{task}.yaml").read_text())
    return dict(spec["base"]), list(spec["grid"]["seed"])


def run_variants(task, names, workers, runs_root):
    from rmkd_nb.sweep import run_sweep
    base, seeds = spec_base(task)
    for name in names:
        strategy, opts, over, _ = VARIANTS[name]
        spec = {"name": f"{task}/{name}", "engine": "direct", "png": False, "workers": workers,
                "base": base | over | {"strategy": strategy, "strategy_options": opts}, "grid": {"seed": seeds}}
        s = run_sweep(spec, runs_root=runs_root)
        print(f"{task}/{name}: {len(s['done'])} done, {s['skipped']} skipped, {len(s['failed'])} failed, "
              f"{s['wall_s']:.0f} s", flush=True)


def diagnose(run_dir) -> dict:
    "`selection_stats` of a finished run: its weight log against its teacher cache's training split."
    from rmkd_nb.cache import TeacherCache
    from rmkd_nb.weightlog import WeightLog
    r = json.loads((Path(run_dir)/"result.json").read_text())
    return selection_stats(WeightLog.read(run_dir), TeacherCache.open(r["cache"]).arrays("train"))


def selection_stats(log:dict,    # `WeightLog.read` output: epoch, idx, weights, probs (optional)
                    arrays:dict, # the teacher cache's training arrays: idx, labels, logits
                   ) -> dict:
    "On the log's last epoch: mean weight per teacher, and the AUC of the selection probabilities vs teacher-right."
    from rmkd_nb.viz import Run, selection_auc
    logits, labels = np.asarray(arrays["logits"], np.float64), np.asarray(arrays["labels"])
    logp = logits - logits.max(-1, keepdims=True); logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    teachers = {"idx": arrays["idx"], "labels": labels, "teacher_pred": logits.argmax(-1),
                "teacher_ce": -np.take_along_axis(logp, labels[:, None, None].repeat(logits.shape[1], 1), -1)[..., 0]}
    log = dict(log); log.setdefault("step", log["epoch"])   # steps only order an example's rows
    t = selection_auc(Run(log, teachers=teachers), "probs" if "probs" in log else "weights")
    return {"weights": t["weights"][-1], "auc": t["auc"][-1], "auc_per_teacher": t["auc_per_teacher"][-1]}


def values(rs, metric): return rs, np.array([r["final"][metric] for r in rs])


def zoo_overlap(task):
    """`f(config)`: how many of a run's training examples the teacher zoo trained on (None without
    runs/zoo/<task>/zoo.json)."""
    zf = ROOT/"runs"/"zoo"/task/"zoo.json"
    if not zf.exists(): return lambda config: None
    from rmkd_nb.data import load_task
    z = json.loads(zf.read_text()); sub = z.get("train_subset") or {}
    ids = lambda n, seed: set(load_task(task, z["data_dir"], max_train_examples=n, seed=seed)["train"]["idx"])
    zoo = ids(sub.get("max_train_examples"), sub.get("seed", 0))
    return lambda config: len(ids(config.get("max_train_examples"), config.get("subset_seed", 0)) & zoo)


def fmt(v):
    return f"{100*v.mean():.1f} ± {100*v.std(ddof=1):.1f}" if len(v) > 1 else (f"{100*v[0]:.1f}" if len(v) else "–")


def report(tasks, runs_root, out, command):
    from rmkd_nb.data import get_task
    from rmkd_nb.report import collect_results
    L = ["# RL-KD on real data: what the agent selects, and what changes the student", "",
         f"Generated by `{command}`. Each variant uses its task's reproduction-sweep settings "
         f"(`bench/sweeps/<task>.yaml`) "
         "and seeds; `rl` and `uniform` are the reproduction sweep's own runs. *weights*: the mean KD weight the agent "
         "gave each "
         "teacher on the last epoch. *selection AUC*: how well the agent's per-example selection probabilities "
         "separate "
         "(example, teacher) pairs where the teacher's prediction is right from those where it is wrong, on the last "
         "epoch (0.5: no separation; the synthetic benchmark reaches 0.93, `docs/synthetic.md`).", ""]
    for task in tasks:
        metric, sweep = get_task(task).main_metric, collect_results(ROOT/"runs"/task)
        plain = lambda s: values([r for r in sweep if r["strategy"] == s and not r["config"].get("strategy_options")],
                                 metric)
        rows = [("uniform", "fixed equal weights (reference)", plain("uniform")),
                ("rl", "the default: kd_lookahead reward, per-teacher credit, lr 0.01, no warm-up", plain("rl")),
                ("rl_soft", "the default agent in soft mode: its probabilities, normalised, are the weights",
                 plain("rl_soft"))]
        for name, (_, _, _, about) in VARIANTS.items():
            d = Path(runs_root)/task/name
            rs, v = values(collect_results(d) if d.exists() else [], metric)
            if len(rs): rows.append((name, about, (rs, v)))
        shared = zoo_overlap(task)
        accs = {}   # the training examples a variant drew -> the teachers' accuracy on them
        L += [f"## {task}", "",
              f"| variant | what it tests | dev {metric} | seeds | weights ({', '.join(teacher_names(rows))}) | "
              f"selection AUC | AUC per teacher |",
              "|---|---|---|---|---|---|---|"]
        for name, about, (rs, v) in rows:
            diag = [diagnose(r["_dir"]) for r in rs] if rs and rs[0]["strategy"] != "uniform" else []
            wt = " / ".join(f"{x:.2f}" for x in np.mean([d["weights"] for d in diag], 0)) if diag else "equal"
            auc = f"{np.nanmean([d['auc'] for d in diag]):.3f}" if diag else "–"
            per = " / ".join(f"{x:.2f}" for x in np.nanmean([d["auc_per_teacher"] for d in diag], 0)) if diag else "–"
            L.append(f"| {name} | {about} | {fmt(v)} | {len(v)} | {wt} | {auc} | {per} |")
            for r in rs[:1]:
                c, acc = r["config"], r["teachers"]["accuracy"]
                key = f"train: {c.get('max_train_examples') or 'all'} examples, subset_seed {c.get('subset_seed')}"
                if key not in accs: accs[key] = acc["train"] + [shared(c)]
                accs["dev"] = acc["validation"] + [None]
        if accs:
            L += ["",
                  "Teacher accuracy on the training examples a variant draws (what the agent sees) and on dev (what "
                  "the student "
                  "is judged on), and how many of those examples are in the teacher zoo's training subset "
                  "(`runs/zoo/<task>/zoo.json`; t1 trained on half of that subset):", "",
                  "| examples | " + " | ".join(teacher_names(rows)) + " | in the zoo's training subset |",
                  "|---|" + "---|" * (len(teacher_names(rows)) + 1)]
            for split, a in sorted(accs.items(), key=lambda kv: kv[0] == "dev"):
                L.append(f"| {split} | " + " | ".join(f"{x:.3f}"
                                                      for x in a[:-1]) + f" | {'–' if a[-1] is None else a[-1]} |")
        L.append("")
    from rmkd_nb.core import atomic_write
    with atomic_write(out) as f: f.write("\n".join(L) + "\n")
    print(f"wrote {out}")


def teacher_names(rows):
    for _, _, (rs, _) in rows:
        if rs: return rs[0]["teachers"]["names"]
    return []


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", action="append", required=True, help="repeatable; a task with a bench/sweeps/<task>.yaml")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ",".join(VARIANTS))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--runs-root", default="runs/rl_real")
    p.add_argument("--out", default="docs/rl_real.md")
    p.add_argument("--report-only", action="store_true", help="only rewrite the report from finished runs")
    args = p.parse_args(argv)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in names:
        if v not in VARIANTS: p.error(f"unknown variant {v!r}; known: {', '.join(VARIANTS)}")
    t0 = time.time()
    if not args.report_only:
        for task in args.task: run_variants(task, names, args.workers, args.runs_root)
    command = "python bench/rl_real.py " + " ".join(f"--task {t}" for t in args.task) + " --report-only"
    report(args.task, args.runs_root, args.out, command)
    print(f"wall time {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
