"""How many of a sweep's student and reward rows occur verbatim (whole words) inside a teacher row of an idx-disjoint
pool: SST-2's train rows are phrases of shared sentences, so disjoint idx alone do not give disjoint text.

    python bench/text_overlap.py --sweep bench/sweeps/sst2_study.yaml
"""
import argparse, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_zoo  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sweep", default="bench/sweeps/sst2_study.yaml"); p.add_argument("--task", default="sst2")
    p.add_argument("--data-dir", default="../shared/data/glue"); p.add_argument("--max-train", type=int, default=4000)
    p.add_argument("--teacher-dev", type=int, default=500)
    a = p.parse_args(argv)
    from rmkd_nb.data import load_task
    ds, _ = build_zoo.disjoint_splits(load_task(a.task, a.data_dir), a.sweep, a.max_train, a.teacher_dev, 0)
    for name in ("pool", "train"):
        big = "\n".join(build_zoo._norm(t) for t in ds[name]["text"])
        for s in ("student_train", "student_reward"):
            xs = [build_zoo._norm(t) for t in ds[s]["text"]]
            print(f"{s}: {sum(x in big for x in xs)} of {len(xs)} rows occur inside a row of the idx-disjoint "
                  f"teacher {name} ({len(ds[name])} rows)", flush=True)


if __name__ == "__main__":
    main()
