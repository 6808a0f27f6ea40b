"""Readability figures of the kit: exported cell sizes, lines over 120 characters, saved figure outputs.

    python bench/readability.py [ROOT]

Prints the number of exported notebook cells with their mean and largest size in lines (the five largest), the share
of lines over 120 characters in rmkd_nb/, bench/ and tests/ (with and without nbdev's generated rmkd_nb/_modidx.py,
whose lines nbdev formats itself), and how many cells of nbs/11_viz.ipynb keep a saved output.
"""
import glob, json, statistics, sys


def exported_cells(root):
    "(lines, notebook, first code line) of every `#| export` / `#| exports` cell under root/nbs."
    cells = []
    for nb in sorted(glob.glob(f"{root}/nbs/*.ipynb")):
        for c in json.load(open(nb))["cells"]:
            src = "".join(c["source"]).splitlines()
            if c["cell_type"] == "code" and any(l.strip().startswith("#| export") for l in src[:3]):
                cells.append((len(src), nb.split("/")[-1], src[min(2, len(src) - 1)][:60]))
    return cells


def long_lines(path, limit=120):
    "(lines over `limit` characters, lines) of one file."
    lines = [len(l.rstrip("\n")) for l in open(path)]
    return sum(n > limit for n in lines), len(lines)


def main(root="."):
    cells = exported_cells(root)
    sizes = [n for n, *_ in cells]
    print(f"exported cells: {len(sizes)}, mean {statistics.mean(sizes):.1f} lines, max {max(sizes)}")
    for c in sorted(cells, reverse=True)[:5]: print("  ", c)
    total = over = 0
    for d in ("rmkd_nb", "bench", "tests"):
        counts = [long_lines(f) for f in glob.glob(f"{root}/{d}/**/*.py", recursive=True)]
        o, t = sum(c[0] for c in counts), sum(c[1] for c in counts)
        print(f"{d}: {o}/{t} lines over 120 ({100*o/max(t, 1):.1f}%)"); total += t; over += o
    print(f"all: {over}/{total} ({100*over/total:.2f}%)")
    mo, mt = long_lines(f"{root}/rmkd_nb/_modidx.py")
    print(f"all without the generated rmkd_nb/_modidx.py: {over-mo}/{total-mt} ({100*(over-mo)/(total-mt):.2f}%)")
    viz = json.load(open(f"{root}/nbs/11_viz.ipynb"))["cells"]
    print("11_viz cells with saved outputs:", sum(1 for c in viz if c.get("outputs")))


if __name__ == "__main__": main(*sys.argv[1:])
