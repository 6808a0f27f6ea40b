"""Keep the summaries of finished runs in the repository: what `rmkd report` and the docs need, no weights.

    python bench/keep_results.py runs/sst2_study runs/cola_study        # -> results/runs/sst2_study/..., ...

Run directories hold students, checkpoints and weight logs (hundreds of MB) that are never committed, and a new
machine starts without them. For each finished run (a result.json) under each sweep directory this copies its
result.json and the evaluation rows of its metrics.jsonl (evals.jsonl: the dev curve, to check convergence) to
results/runs/<sweep dir name>/<run name>/, and the sweep's sweep.json beside them. `rmkd report results/runs/<sweep>`
then works on a fresh clone (it reads result.json files and the task's data). Files are written atomically and only
when they changed, so running it again while a sweep goes on adds the runs finished since. A run that finished before
the kit recorded result.json["selection"] (what the agent decided) gets it in the kept copy, computed from its weight
log by the kit's own `rmkd_nb.experiment.selection_summary`, and marked `"selection_from": "keep_results"`; the run's
own result.json is never changed.
"""
import argparse, json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def keep(sweep_dir: Path, dest_root: Path) -> int:
    "Copy the summaries of `sweep_dir`'s finished runs under `dest_root/<sweep_dir.name>`; the number of runs kept."
    from rmkd_nb.core import atomic_write
    dest, n = dest_root/sweep_dir.name, 0
    def put(path: Path, text: str):
        if path.exists() and path.read_text() == text: return
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as f: f.write(text)
    from rmkd_nb.experiment import logged_run, selection_summary
    for res in sorted(sweep_dir.rglob("result.json")):
        run = res.parent; out = dest/run.relative_to(sweep_dir); text = res.read_text()
        r = json.loads(text)
        if "selection" not in r and (sel := selection_summary(logged_run(run))) is not None:
            text = json.dumps(r | {"selection": sel, "selection_from": "keep_results"}, indent=2) + "\n"
        put(out/"result.json", text)
        m = run/"metrics.jsonl"
        if m.exists():
            rows = [l for l in m.read_text().splitlines() if l.strip() and json.loads(l).get("type") == "eval"]
            put(out/"evals.jsonl", "".join(l + "\n" for l in rows))
        n += 1
    if (sweep_dir/"sweep.json").exists(): put(dest/"sweep.json", (sweep_dir/"sweep.json").read_text())
    return n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("sweeps", nargs="+", help="sweep directories (runs/<name>)")
    p.add_argument("--dest", default=str(ROOT/"results"/"runs"))
    a = p.parse_args(argv)
    for s in a.sweeps: print(f"{s}: {keep(Path(s), Path(a.dest))} finished runs kept in {Path(a.dest)/Path(s).name}")


if __name__ == "__main__":
    main()
