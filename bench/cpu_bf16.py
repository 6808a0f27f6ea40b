#!/usr/bin/env python
"""CPU bf16 benchmark: fp32 against bf16 autocast on one real task, several seeds, ratios measured in the same run.

Setting: SST-2, a `--size`-sentence training subset (subset seed 0), the full dev split, max length 64, batch 32,
`--epochs` epochs, the 3-layer MiniLM student (`minilm-l6:3`), the kit's three TF-IDF teachers, strategy `uniform`
(the student is the part precision changes; the teachers are cached in float32 either way). For every seed the two
precisions run back to back (the order alternates between seeds, so a load change on a shared machine hits both),
each through `run_experiment` in this process with `torch.set_num_threads(--threads)`.

Per run: seconds per optimizer step from the end of step 1 to the end of the last step (wall clock, and this
process's CPU time, which a shared machine's load disturbs less), and the dev accuracy after the last epoch. The
table gives the mean over seeds of each, the bf16/fp32 ratio of the step time per seed, and the dev accuracy
difference against the fp32 seed-to-seed std.

Run: `python bench/cpu_bf16.py --seeds 3` (about 15 min on 2 shared cores). The last line is one JSON object.
"""
from __future__ import annotations
import argparse, json, statistics, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    p = argparse.ArgumentParser("bench/cpu_bf16.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--size", type=int, default=1000, help="SST-2 training sentences")
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--data-dir", default=None,
                   help="GLUE directory (default: shared/data/glue beside or above the repo)")
    p.add_argument("--out", default=None, help="run directories go here (default: a temporary directory)")
    return p.parse_args(argv)


class StepClock:
    "on_step: wall and process CPU time at the end of every step; per-step means from the end of step 1 on."
    def __init__(self): self.t = []
    def on_step(self, trainer, record): self.t.append((time.perf_counter(), time.process_time()))
    def per_step(self) -> dict:
        n = len(self.t) - 1
        return {"step_s": (self.t[-1][0] - self.t[0][0]) / n, "cpu_s_per_step": (self.t[-1][1] - self.t[0][1]) / n}


def one_run(prec: str, seed: int, args, root: Path) -> dict:
    import torch
    from rmkd_nb.experiment import run_experiment
    cfg = dict(task="sst2", data_dir=args.data_dir, max_train_examples=args.size, subset_seed=0, max_length=64,
               student="minilm-l6:3", strategy="uniform", epochs=args.epochs, batch_size=32, lr=2e-4, temperature=2.0,
               alpha=0.5, seed=seed, precision=prec, device="cpu", keep_checkpoints="none", log_weights=False,
               output_dir=str(root / f"{prec}-s{seed}"), cache_dir=str(root / "cache"))
    clock = StepClock()
    res = run_experiment(cfg, callbacks=[clock], figures=False, where=f"cpu_bf16 {prec} seed {seed}")
    tr = res["train"]
    return {"precision": prec, "seed": seed, "steps": tr["steps"]} | clock.per_step() | {
            "accuracy": res["final"]["accuracy"], "mixed_precision": tr["mixed_precision"],
            "torch_threads": torch.get_num_threads()}


def table(rows: list, args) -> list[str]:
    by = {(r["precision"], r["seed"]): r for r in rows}
    seeds = sorted({r["seed"] for r in rows})
    mean = lambda p, k: statistics.mean(by[p, s][k] for s in seeds)
    sd = lambda p, k: statistics.stdev([by[p, s][k] for s in seeds]) if len(seeds) > 1 else 0.0
    ratio = [by["bf16", s]["step_s"] / by["fp32", s]["step_s"] for s in seeds]
    L = [f"| precision | s / step (wall) | CPU s / step | dev accuracy (mean ± std, {len(seeds)} seeds) |",
         "|---|---|---|---|"]
    for p in ("fp32", "bf16"):
        L.append(f"| {p} | {mean(p, 'step_s'):.3f} | {mean(p, 'cpu_s_per_step'):.3f} | "
                 f"{100 * mean(p, 'accuracy'):.1f} ± {100 * sd(p, 'accuracy'):.1f} |")
    d = [by["bf16", s]["accuracy"] - by["fp32", s]["accuracy"] for s in seeds]
    L += ["",
          f"bf16 / fp32 step time, per seed: {', '.join(f'{x:.2f}' for x in ratio)} (median "
          f"{statistics.median(ratio):.2f}); "
          f"dev accuracy bf16 - fp32, per seed: {', '.join(f'{100 * x:+.1f}' for x in d)} points "
          f"(fp32 seed std {100 * sd('fp32', 'accuracy'):.1f})"]
    return L


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))
    import torch
    torch.set_num_threads(args.threads)
    from rmkd_nb.experiment import find_glue_dir
    args.data_dir = args.data_dir or str(find_glue_dir(REPO))
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="rmkd-bf16-"))
    rows = []
    for s in range(args.seeds):
        for prec in (("fp32", "bf16") if s % 2 == 0 else ("bf16", "fp32")):
            r = one_run(prec, s, args, root); rows.append(r)
            print(json.dumps(r), flush=True)
    flags = open("/proc/cpuinfo").read() if Path("/proc/cpuinfo").exists() else ""
    print(f"\nCPU: avx512_bf16={'avx512_bf16' in flags}, amx_bf16={'amx_bf16' in flags}; torch {torch.__version__}, "
          f"{args.threads} thread(s); command: python bench/cpu_bf16.py " + " ".join(sys.argv[1:]))
    print("\n".join(table(rows, args)))
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
