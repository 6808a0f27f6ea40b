"""Helper of tests/test_robustness.py: `rmkd_nb.sweep.run_sweep(engine="direct")` in a fresh process.

    python tests/_robust_sweep.py SPEC_JSON RUNS_ROOT [KILL_AT_FIGURES]   (the tests call `run(...)` in a forked child)

Figures are saved as HTML only (no PNG: kaleido takes seconds per figure and is not what is tested here).
KILL_AT_FIGURES = N: SIGKILL the process inside the N-th point's `save_figures`, i.e. after its trainer has finished
(and written its own files) but before `run_experiment` has written the point's result.json. Every earlier point
has finished by then, so this is a sweep killed midway, at an exact point.
"""
import json, os, signal, sys

import torch
torch.set_num_threads(1)

def run(spec:dict, root:str, kill_at:int=0):
    import rmkd_nb.sweep as S, rmkd_nb.experiment as X   # each point's run_experiment saves its figures
    orig, calls = X.save_figures, []
    def save_figures(run_dir, *a, **k):
        calls.append(run_dir)
        if len(calls) == kill_at: os.kill(os.getpid(), signal.SIGKILL)
        return orig(run_dir, png=False)
    X.save_figures = save_figures
    s = S.run_sweep(spec, runs_root=root, engine="direct")
    print(json.dumps({k: s[k] for k in ("points", "skipped", "done", "failed")}))

if __name__ == "__main__": run(json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
