"""Keep the summaries of finished runs in the repository: what `rmkd report` and the docs need, no weights.

    python bench/keep_results.py runs/sst2_study runs/cola_study        # -> results/runs/sst2_study/..., ...

Run directories hold students, checkpoints and weight logs (hundreds of MB) that are never committed, and a new
machine starts without them. For each finished run (a result.json) under each sweep directory this copies its
result.json and the evaluation rows of its metrics.jsonl (evals.jsonl: the dev curve, to check convergence) to
results/runs/<sweep dir name>/<run name>/, and the sweep's sweep.json beside them. `rmkd report results/runs/<sweep>`
then works on a fresh clone (it reads result.json files and the task's data). Files are written atomically and only
when they changed, so running it again while a sweep goes on adds the runs finished since.
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
    for res in sorted(sweep_dir.rglob("result.json")):
        run = res.parent; out = dest/run.relative_to(sweep_dir)
        put(out/"result.json", res.read_text())
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
