"""QNLI as a study task without its training file: split the GLUE QNLI dev file (5,463 pairs) in two, by a fixed seed.

    python bench/split_qnli.py --glue ../shared/data/glue --out runs/glue_qnli

Only QNLI's dev file is available offline. This writes a GLUE-style directory <out>/QNLI/ whose train.tsv holds
--train rows of that file (the student's, reward and teachers' splits are drawn from it as for any task) and whose
dev.tsv holds the other rows, the report split. Rows are copied unchanged (header, columns, quoting), so the kit reads
them as GLUE QNLI; the two files share no row (checked), and the same seed gives the same files.
"""
import argparse
from pathlib import Path

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--glue", default="../shared/data/glue"); p.add_argument("--out", default="runs/glue_qnli")
    p.add_argument("--train", type=int, default=3463); p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    lines = (Path(a.glue)/"QNLI"/"dev.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    if not 0 < a.train < len(rows): raise SystemExit(f"--train {a.train}: the dev file has {len(rows)} rows")
    perm = np.random.default_rng(a.seed).permutation(len(rows))
    tr, dev = sorted(perm[:a.train]), sorted(perm[a.train:])
    assert not set(tr) & set(dev)
    out = Path(a.out)/"QNLI"; out.mkdir(parents=True, exist_ok=True)
    for name, ix in (("train.tsv", tr), ("dev.tsv", dev)):
        tmp = out/(name + ".tmp"); tmp.write_text(header + "".join(rows[i] for i in ix), encoding="utf-8")
        tmp.replace(out/name)
        print(f"{out/name}: {len(ix)} rows", flush=True)


if __name__ == "__main__":
    main()
