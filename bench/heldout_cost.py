"""What the agent's held-out reward costs per epoch (`reward="heldout"`, the `rl_paper` preset).

One setting: SST-2, `--size` training sentences, `--reward` sentences held out of the training split as the reward
split (`hold_out_reward`, subset seed 0), max length 64, batch 32, one epoch, the 3-layer MiniLM-L6 student, three
TF-IDF teachers (cached: the teachers' kind does not change what the agent costs). In one process, interleaved,
`--repeats` times each:

  heldout     `rl_paper` in its joint phase (warm-up and pre-training skipped): before and after every episode of
              `episode` batches the student is scored on `heldout_examples` reward-split sentences (no grad)
  no_heldout  the same agent with `reward="lookahead"` (one per-example reward, computed from the logits): no
              held-out passes, everything else the same

It prints a markdown table (CPU seconds of the epoch, of the held-out passes inside it, and their ratio) and writes
it into docs/perf.md between `<!-- heldout -->` markers (replacing an earlier one).

    python bench/heldout_cost.py --size 512 --reward 256 --repeats 3
"""
import argparse, datetime, json, os, platform, re, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main():
    p = argparse.ArgumentParser("bench/heldout_cost.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=512); p.add_argument("--reward", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3); p.add_argument("--episode", type=int, default=4)
    p.add_argument("--heldout-examples", type=int, default=256)
    p.add_argument("--doc", default=str(REPO / "docs" / "perf.md")); p.add_argument("--no-doc", action="store_true")
    a = p.parse_args()
    import torch; torch.set_num_threads(1)
    import rmkd_nb.agent  # noqa: F401  registers rl_paper
    from rmkd_nb.core import DistillConfig
    from rmkd_nb.data import tokenize_dataset
    from rmkd_nb.experiment import build_student, find_glue_dir, load_data, load_teachers
    from rmkd_nb.cache import TeacherCache
    from rmkd_nb.trainer import DistillTrainer
    from datasets.utils.logging import disable_progress_bar; disable_progress_bar()
    work = Path(tempfile.mkdtemp(prefix="rmkd-heldout-"))
    base = DistillConfig(task="sst2", data_dir=str(find_glue_dir(REPO)), max_train_examples=a.size,
                         reward_examples=a.reward,
                         max_eval_examples=32, max_length=64, teacher_max_length=64, student="minilm-l6:3", epochs=1.0,
                         batch_size=32, lr=2e-4, seed=0, device="cpu", precision="fp32", cache_dir=str(work / "cache"),
                         keep_checkpoints="none", log_weights=True)
    dsd = load_data(base)
    cache = TeacherCache.build(load_teachers(base, dsd), dsd, base.cache_dir, splits=("train", "reward"))
    _, tok = build_student(base, dsd); tds = tokenize_dataset(dsd, tok, base.max_length)
    opts = {"warmup_epochs": 0, "pretrain_epochs": 0, "episode": a.episode, "heldout_examples": a.heldout_examples}
    rows = {"heldout": opts, "no_heldout": opts | {"reward": "lookahead"}}
    best = {}
    for rep in range(a.repeats):
        for name, o in rows.items():
            cfg = base.replace(strategy="rl_paper", strategy_options=o, output_dir=str(work / f"{name}-{rep}"))
            student, _ = build_student(cfg, dsd)
            tr = DistillTrainer(cfg, student, tds["train"], None, cache, tokenizer=tok, reward_dataset=tds["reward"])
            spent = {"cpu": 0.0, "wall": 0.0, "calls": 0}
            inner = tr.heldout
            def timed(key, n, inner=inner, spent=spent):
                c, w = time.process_time(), time.perf_counter()
                try: return inner(key, n)
                finally:
                    spent["cpu"] += time.process_time() - c; spent["wall"] += time.perf_counter() - w
                    spent["calls"] += 1
            tr.heldout = timed
            c, w = time.process_time(), time.perf_counter(); tr.train()
            r = {"epoch_cpu_s": time.process_time() - c, "epoch_wall_s": time.perf_counter() - w,
                 "heldout_cpu_s": spent["cpu"], "heldout_wall_s": spent["wall"], "heldout_calls": spent["calls"]}
            print(json.dumps({"row": name, "repeat": rep} | r), flush=True)
            if name not in best or r["epoch_cpu_s"] < best[name]["epoch_cpu_s"]: best[name] = r
    h, n = best["heldout"], best["no_heldout"]
    cmd = (f"python bench/heldout_cost.py --size {a.size} --reward {a.reward} --repeats {a.repeats} --episode "
           f"{a.episode}"
           f" --heldout-examples {a.heldout_examples}")
    steps = -(-a.size // 32)
    L = ["<!-- heldout -->", "## The agent's held-out reward (`rl_paper`): cost per epoch", "",
         f"Command: `{cmd}`", "",
         f"Machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}; torch {torch.__version__}; "
         f"load average at the end {os.getloadavg()[0]:.2f}; "
         f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
         f"The machine was shared: read the CPU-time columns.", "",
         f"Setting: SST-2, {a.size} training sentences ({steps} steps of 32), {a.reward} held out as the reward split, "
         f"max length 64, one epoch, student = first 3 layers of MiniLM-L6, one torch thread, no dev evaluation; "
         f"`rl_paper` joint phase with `episode={a.episode}`, `heldout_examples={a.heldout_examples}`: "
         f"{h['heldout_calls']} held-out passes in the epoch (before and after each episode). The fastest of "
         f"{a.repeats} interleaved runs per row (CPU time).", "",
         "| row | epoch s (CPU) | epoch s (wall) | held-out passes s (CPU) | held-out share of the epoch |",
         "|---|---:|---:|---:|---:|",
         f"| `rl_paper` (held-out reward) | {h['epoch_cpu_s']:.2f} | {h['epoch_wall_s']:.2f} | "
         f"{h['heldout_cpu_s']:.2f} | "
         f"{h['heldout_cpu_s'] / h['epoch_cpu_s']:.3f} |",
         f"| the same agent, `reward=\"lookahead\"` (no held-out passes) | {n['epoch_cpu_s']:.2f} | "
         f"{n['epoch_wall_s']:.2f} | — | — |",
         "", f"Ratio, epoch CPU time with / without the held-out passes: **{h['epoch_cpu_s'] / n['epoch_cpu_s']:.3f}** "
         f"(wall: {h['epoch_wall_s'] / n['epoch_wall_s']:.3f}). The passes cost about "
         f"2 × heldout_examples / (episode × batch) no-grad forwards per training example; fewer `heldout_examples` "
         "or longer episodes make them cheaper.", "<!-- /heldout -->"]
    text = "\n".join(L)
    print(text)
    if not a.no_doc:
        doc = Path(a.doc); old = doc.read_text() if doc.exists() else ""
        new = (re.sub(r"<!-- heldout -->.*?<!-- /heldout -->", lambda m: text, old, flags=re.S)
               if "<!-- heldout -->" in old
               else old.rstrip("\n") + "\n\n" + text)
        from rmkd_nb.core import atomic_write
        with atomic_write(doc) as f: f.write(new.rstrip("\n") + "\n")


if __name__ == "__main__": main()
