"""Time optimizer steps of the zoo's encoders on this CPU, so the zoo and the sweep can be planned from measurements.

    python bench/step_times.py --steps 5 [--mpnet DIR]

Prints one row per model: seconds per training step (AdamW, batch x max length of random tokens) and per forward
pass at the same shape, and the ratio to MiniLM-L6. The first step of each model is a warm-up and is not timed.
"""
from __future__ import annotations
import argparse, time

import torch


def time_model(model, batch, length, steps):
    "Median seconds of a train step and of a no-grad forward at (batch, length)."
    x = torch.randint(1000, 20000, (batch, length)); y = torch.randint(0, 2, (batch,))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5); model.train(); tr = []
    for i in range(steps + 1):
        t = time.perf_counter(); loss = model(input_ids=x, labels=y).loss; loss.backward(); opt.step(); opt.zero_grad()
        if i: tr.append(time.perf_counter() - t)
    model.eval(); fw = []
    with torch.no_grad():
        for i in range(steps + 1):
            t = time.perf_counter(); model(input_ids=x)
            if i: fw.append(time.perf_counter() - t)
    return sorted(tr)[len(tr) // 2], sorted(fw)[len(fw) // 2]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=5); p.add_argument("--batch", type=int, default=32)
    p.add_argument("--length", type=int, default=64); p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mpnet", default=None, help="all-mpnet-base-v2 directory (skipped when not given)")
    p.add_argument("--out", default=None, help="also write the table (and this command) to this markdown file")
    a = p.parse_args(argv); torch.set_num_threads(a.threads)
    import transformers; transformers.utils.logging.set_verbosity_error()
    from rmkd_nb.teachers import make_student, pretrained_path
    mini = pretrained_path("minilm-l6")
    models = {"minilm-l6": lambda: make_student(mini, 2)[0],
              "minilm-l6:3": lambda: make_student(mini, 2, num_layers=3)[0]}
    if a.mpnet:
        from transformers import AutoModelForSequenceClassification as M
        models["all-mpnet-base-v2"] = lambda: M.from_pretrained(a.mpnet, num_labels=2)
    lines = [f"batch {a.batch} x {a.length} tokens (random ids, no padding), {a.threads} torch thread(s), median of "
             f"{a.steps} steps (after 1 warm-up)", "",
             "| model | train step (s) | forward (s) | train step / minilm-l6 |",
             "|---|---:|---:|---:|"]
    print("\n".join(lines)); base = None
    for name, make in models.items():
        tr, fw = time_model(make(), a.batch, a.length, a.steps); base = base or tr
        lines.append(f"| {name} | {tr:.2f} | {fw:.2f} | {tr / base:.2f} |"); print(lines[-1], flush=True)
    if a.out:
        import shlex, sys
        from rmkd_nb.core import atomic_write
        given = argv if argv is not None else sys.argv[1:]
        cmd = "python bench/step_times.py " + " ".join(shlex.quote(x) for x in given)
        with atomic_write(a.out) as f: f.write(f"Command: `{cmd}`\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
