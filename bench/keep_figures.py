"""Keep only the plotly figure outputs in a notebook: how nbs/11_viz.ipynb's saved figures are regenerated.

    nbdev-test nbs/11_viz.ipynb --save          # nbdev-test writes every cell's outputs back
    python bench/keep_figures.py nbs/11_viz.ipynb && nbdev-clean

A plain `--save` also stores widget views and reprs holding temporary paths; this keeps, in each code cell, only the
`application/vnd.plotly.v1+json` outputs (plotly's JSON, no plotly.js), so the notebook stays small and deterministic.
"""
import json, sys

FIGURE = "application/vnd.plotly.v1+json"


def keep_figures(path):
    "Rewrite the notebook at `path` with only its plotly JSON outputs."
    nb = json.load(open(path))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code": continue
        figs = [o for o in cell.get("outputs", []) if FIGURE in o.get("data", {})]
        for o in figs: o["data"], o["metadata"] = {FIGURE: o["data"][FIGURE]}, {}
        cell["outputs"], cell["execution_count"] = figs, None
    with open(path, "w") as f: json.dump(nb, f, indent=1, ensure_ascii=False); f.write("\n")


if __name__ == "__main__":
    for p in sys.argv[1:]: keep_figures(p)
