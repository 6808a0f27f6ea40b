"""How fast the viz figures and explorers are on an SST-2-sized weight log.

Builds a synthetic run with the trainer's WeightLog (67,349 examples x 3 epochs = 202,047 rows, K=4 teachers,
batch 32, select-mode agent with probs/actions/rewards), then times loading it, every figure, and the explorers'
redraws. Prints a markdown table: first call, median of the next `--repeat` calls, and the JSON payload a figure
sends to the browser.

    python bench/viz_speed.py                 # SST-2 size
    python bench/viz_speed.py --n 5000        # quicker
"""
import argparse, platform, statistics, tempfile, time
from pathlib import Path

import numpy as np

from rmkd_nb import viz


def timed(fn, repeat):
    t0 = time.perf_counter(); out = fn(); first = time.perf_counter() - t0
    rest = []
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); rest.append(time.perf_counter() - t0)
    return out, first, statistics.median(rest) if rest else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=67349, help="training examples (SST-2: 67349)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--teachers", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", default=None, help="where to write the synthetic run (default: a temp dir)")
    a = ap.parse_args()
    root = Path(a.dir or tempfile.mkdtemp(prefix="viz-speed-"))
    d = root/f"sst2-like-{a.n}"
    t0 = time.perf_counter()
    if not (d/"result.json").exists():
        viz.synthetic_run(d, n=a.n, K=a.teachers, epochs=a.epochs, batch_size=32, seed=0)
    t_make = time.perf_counter() - t0

    rows = []
    def add(name, fn, payload=True):
        out, first, med = timed(fn, a.repeat)
        kb = len(out.to_json()) / 1024 if payload and hasattr(out, "to_json") else None
        rows.append((name, first, med, kb)); return out

    run = add("load_run (read chunks, metrics, teachers, 67k texts)", lambda: viz.load_run(d), payload=False)
    t0 = time.perf_counter(); run.index; run.per_example(); t_index = time.perf_counter() - t0
    rows.append(("index: argsort by idx + teacher table join (once per run)", t_index, float("nan"), None))
    ex = run.index.examples
    rng = np.random.default_rng(1)
    pick = lambda k=1: [int(i) for i in rng.choice(ex, k, replace=False)]
    add("trajectory, 1 example", lambda: viz.trajectory(run, pick()))
    add("trajectory, 3 examples overlaid, probs, EMA 0.5", lambda: viz.trajectory(run, pick(3), "probs", .5))
    add("heatmap teacher 0, by step (300 x 300 bins)", lambda: viz.heatmap(run, 0))
    add("heatmap argmax, by step, sort by disagreement", lambda: viz.heatmap(run, "argmax", "disagreement"))
    add("heatmap teacher 1, by epoch, sort by label", lambda: viz.heatmap(run, 1, "label", by="epoch"))
    add("teacher_share (stacked, actions)", lambda: viz.teacher_share(run))
    add("teacher_share split by correct (probs)", lambda: viz.teacher_share(run, True, "probs"))
    add("agent_diagnostics", lambda: viz.agent_diagnostics(run))
    add("overview scatter (2000-point sample)", lambda: viz.overview(run))
    add("compare_runs (1 run)", lambda: viz.compare_runs([d]))

    t0 = time.perf_counter(); import ipywidgets, plotly.graph_objects as go; go.FigureWidget()
    t_imp = time.perf_counter() - t0
    rows.append(("one-time: import ipywidgets + plotly FigureWidget (anywidget, nbformat)", t_imp, float("nan"), None))
    tx = add("TrajectoryExplorer(run dir): open (load + index + figures)", lambda: viz.TrajectoryExplorer(d),
             payload=False)
    def sel():
        tx.index.value = pick()[0]
        return tx.fig
    add("TrajectoryExplorer redraw: type a new idx", sel)
    add("TrajectoryExplorer redraw: smoothing slider",
        lambda: (setattr(tx.smooth, "value", round(float(rng.uniform(.1, .9)), 2)), tx.fig)[1])
    def srch():
        tx.search.value = "witty tender " + str(rng.integers(100)); return tx.matches
    add("TrajectoryExplorer: text search over 67k texts", srch, payload=False)
    hx = viz.HeatmapExplorer(run)
    add("HeatmapExplorer redraw: change teacher",
        lambda: (setattr(hx.teacher, "value", run.teacher_names[int(rng.integers(run.num_teachers))]
                         if hx.teacher.value == "argmax" else "argmax"), hx.fig)[1])

    print(f"\nviz speed: {len(run.log['idx']):,} log rows ({a.n:,} examples x {a.epochs} epochs, K={a.teachers}); "
          f"synthetic run written in {t_make:.1f} s; {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}\n")
    print(f"| what | first call (ms) | median of next {a.repeat} (ms) | JSON to browser (kB) |")
    print("|---|---:|---:|---:|")
    for name, first, med, kb in rows:
        print(f"| {name} | {first * 1e3:.0f} | {'' if med != med else f'{med * 1e3:.0f}'} | "
              f"{'' if kb is None else f'{kb:.0f}'} |")


if __name__ == "__main__":
    main()
