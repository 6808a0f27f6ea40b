"""`rmkd report` for sweeps that run `single:best`: the same report, with `single:best` left out of the teacher table.

    python bench/report_study.py runs/sst2_study --out docs/results.md --csv docs/results.csv

Workaround: rmkd_nb.report._teacher_table reads `single:k` as an integer k and stops with a ValueError on
`single:best` (the strategy that picks the best teacher on the reward split). Every other table, the CSV and the
paired intervals are `rmkd report`'s own; `single:best` keeps its rows there.
"""
import argparse, shlex, sys

import rmkd_nb.report as R


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dirs", nargs="+"); p.add_argument("--out", default="docs/results.md")
    p.add_argument("--csv", default="docs/results.csv")
    a = p.parse_args(argv); orig = R._teacher_table
    R._teacher_table = lambda results, task, metric: orig(
        [r for r in results if not r["strategy"].startswith("single:") or r["strategy"][7:].isdigit()], task, metric)
    given = argv if argv is not None else sys.argv[1:]
    R.write_report(a.dirs, a.out, a.csv, command="python bench/report_study.py " + " ".join(map(shlex.quote, given)))


if __name__ == "__main__":
    main()
