"""Helper of tests/test_robustness.py: one tiny real-data experiment (`rmkd_nb.experiment.run_experiment`) in a fresh
process, optionally killed with SIGKILL at a chosen point.

    python tests/_robust_run.py CONFIG_JSON KILL        (the tests call `run(cfg, kill)` in a forked child)

KILL is one of
  none       run to the end
  cache      SIGKILL while the teacher-cache entry is being written (its `.tmp-*` directory holds a file)
  step:N     SIGKILL right after optimizer step N (from an `on_step` callback)
  ckpt:N     SIGKILL in the middle of writing checkpoint step-N: `optimizer.safetensors` is half written, then the kill

The process kills itself, so the kill lands at an exact point, not at a time. One torch thread, so two runs
give the same bits whatever else the machine does.
"""
import io, json, os, signal, sys, threading, time
from pathlib import Path

import torch
torch.set_num_threads(1)

def die(): os.kill(os.getpid(), signal.SIGKILL)

def kill_in_cache_build(cache_dir:Path):
    "Slow the teachers down a little and kill the process once the temporary cache entry holds a file."
    import rmkd_nb.teachers as T
    orig = T.TfidfTeacher.predict
    def slow_predict(self, *a, **k):
        time.sleep(0.05); return orig(self, *a, **k)
    T.TfidfTeacher.predict = slow_predict
    def watch():
        while True:
            for p in cache_dir.glob(".tmp-*"):
                if any(f.is_file() and f.stat().st_size > 0 for f in p.rglob("*")): die()
            time.sleep(0.001)
    threading.Thread(target=watch, daemon=True).start()

def kill_in_checkpoint_write(step:int):
    "Half-write `optimizer.safetensors` of checkpoint step-N (inside its temporary directory), then SIGKILL."
    import safetensors.torch
    import rmkd_nb.checkpoints as T
    orig = T.save_tree
    def save(obj, path):
        p = Path(path)
        if p.name == "optimizer" and p.parent.name.startswith(f".tmp-step-{step}-"):
            tensors = {}; T._encode(obj, tensors, "t"); data = safetensors.torch.save(tensors)
            with open(p.with_name("optimizer.safetensors"), "wb") as fh:
                fh.write(data[:len(data) // 2]); fh.flush(); os.fsync(fh.fileno())
            die()
        return orig(obj, path)
    T.save_tree = save

class KillAtStep:
    def __init__(self, step): self.step = step
    def on_step(self, trainer, record):
        if int(record["step"]) == self.step: die()

def run(cfg:dict, kill:str):
    "Run the experiment `cfg`, killing the process at `kill` (see the module's docstring)."
    callbacks = []
    if kill == "cache": kill_in_cache_build(Path(cfg["cache_dir"]))
    elif kill.startswith("step:"): callbacks.append(KillAtStep(int(kill[5:])))
    elif kill.startswith("ckpt:"): kill_in_checkpoint_write(int(kill[5:]))
    elif kill != "none": raise SystemExit(f"unknown kill point {kill!r}")
    from rmkd_nb.experiment import run_experiment
    res = run_experiment(cfg, callbacks=callbacks, figures=False, where="_robust_run")
    print(json.dumps({"final": res["final"], "best": res["best"]}))

if __name__ == "__main__": run(json.loads(sys.argv[1]), sys.argv[2])
