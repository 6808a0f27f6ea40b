"""Robustness (issue 9): bad input, interrupted work, numeric faults, bounded memory and determinism.

Every fault tried here is recorded with what happened; `RMKD_ROBUSTNESS_REPORT=docs/robustness.md pytest -q
tests/test_robustness.py` writes the table and the counts to docs/robustness.md (nothing is written without the
variable). Tiny random models, TF-IDF teachers and small real GLUE subsets (../shared/data/glue) keep it fast.
Faults already covered elsewhere are referenced, not repeated: bad data files in tests/test_data.py, papermill
parameters of the wrong type in tests/test_experiment.py."""
import dataclasses, json, math, os, platform, random, re, shutil, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from rmkd_nb.core import ConfigError, DistillConfig
from rmkd_nb.experiment import check_run, find_glue_dir, run_experiment
from rmkd_nb.report import write_report
from rmkd_nb.sweep import run_sweep

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
GLUE = find_glue_dir(ROOT)
PY = sys.executable
NAN, INF = float("nan"), float("inf")

# ---------------------------------------------------------------------------------------------------------------
# The record of faults tried (-> docs/robustness.md)
# ---------------------------------------------------------------------------------------------------------------
_ROWS, _COUNTS = [], {"hypothesis_inputs": 0, "resumed": 0, "bytes_lost": 0, "bytes_protected": 0}
_FACTS = {}

def _test_name():
    cur = os.environ.get("PYTEST_CURRENT_TEST", "?::?")
    return cur.split("::")[-1].rsplit(" (", 1)[0]

def record(section:str, fault:str, happened:str):
    "One fault tried and what happened (the test name is taken from pytest)."
    _ROWS.append({"section": section, "fault": fault, "test": _test_name(), "happened": happened})

def snapshot(root) -> dict:
    "Every file under `root` (relative path -> bytes)."
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()} if root.exists() else {}

def assert_unchanged(before:dict, root, what:str):
    "The files of `before` are all still there, byte for byte; counts the protected and lost bytes."
    after = snapshot(root)
    lost = {k: len(b) for k, b in before.items() if after.get(k) != b}
    _COUNTS["bytes_protected"] += sum(len(b) for b in before.values()); _COUNTS["bytes_lost"] += sum(lost.values())
    assert not lost, f"{what} at {root} was changed: {sorted(lost)} ({sum(lost.values())} bytes lost)"

class _Outcomes:
    "A pytest plugin (registered by the module fixture) that keeps each test's outcome."
    def __init__(self): self.res = {}
    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            name = report.nodeid.split("::")[-1]
            msg = ""
            if report.failed:
                text = str(report.longrepr)
                lines = [l[1:].strip() for l in text.splitlines() if l.startswith("E ") and l[1:].strip()]
                msg = " ".join(lines[:3] or text.splitlines()[-1:])[:500]
            if name not in self.res or report.outcome != "passed": self.res[name] = (report.outcome, msg)

@pytest.fixture(scope="module", autouse=True)
def _robustness_report(request):
    plugin = _Outcomes(); request.config.pluginmanager.register(plugin, "rmkd-robustness-outcomes")
    threads = torch.get_num_threads()
    # tiny models on a shared machine: one thread is several times faster (no spin-waits)
    torch.set_num_threads(1)
    t0 = time.time()
    yield
    torch.set_num_threads(threads)
    request.config.pluginmanager.unregister(plugin)
    out = os.environ.get("RMKD_ROBUSTNESS_REPORT")
    if out: _write_doc(Path(out), plugin.res, time.time() - t0)

def _md(s):
    s = re.sub(r"(.)\1{20,}", lambda m: m.group(1) * 6 + f"...({len(m.group(0))} times)", str(s))
    return s.replace("|", "\\|").replace("\n", " ")

_SECTIONS = ["bad input", "interrupted", "numeric", "memory", "determinism"]
_SECTION_OF = {"test_bad_": "bad input", "test_rl_agent_with": "bad input", "test_inputs_found": "bad input",
               "test_fuzz": "bad input", "test_config": "bad input",
               "test_sweep_with": "bad input", "test_unregistered": "bad input", "test_unvalidated": "bad input",
               "test_teacher_cache": "bad input", "test_sigkill": "interrupted", "test_leftover": "interrupted",
               "test_killed_sweep": "interrupted", "test_damaged": "interrupted", "test_nonfinite": "numeric",
               "test_loss": "numeric", "test_reward": "numeric",
               "test_agent": "numeric", "test_strategy_weights": "numeric", "test_memory": "memory",
               "test_weight_log": "memory",
               "test_same_seed": "determinism"}

def _write_doc(path:Path, outcomes:dict, wall:float):
    from rmkd_nb.core import atomic_write
    tested = {r["test"] for r in _ROWS}
    section = lambda t: next((v for k, v in _SECTION_OF.items() if t.startswith(k)), None)
    rows = list(_ROWS) + [{"section": section(t),
                           "fault": f"(the case in the test name; it failed before recording what happened)",
                           "test": t, "happened": ""} for t, (o, _) in outcomes.items() if t not in tested
                           and section(t)]
    rows.sort(key=lambda r: _SECTIONS.index(r["section"]) if r["section"] in _SECTIONS else 99)
    status = lambda t: outcomes.get(t, ("not run", ""))
    survived = sum(1 for r in rows if status(r["test"])[0] == "passed")
    failed_tests = {t: m for t, (o, m) in outcomes.items() if o == "failed"}
    L = ["# Robustness", "",
         "Generated by `RMKD_ROBUSTNESS_REPORT=docs/robustness.md pytest -q tests/test_robustness.py` "
         f"on {platform.machine()} ({os.cpu_count()} CPU cores), torch {torch.__version__}, python "
         f"{platform.python_version()}; "
         f"wall time {wall:.0f} s. Every row below was written by the test named in it, from what it observed; "
         "nothing here is typed by hand.", "",
         "## Counts", "",
         f"- faults tried: {len(rows)} (each a row below); faults survived (the test passed): {survived}; "
         f"tests failed: {len(failed_tests)}",
         f"- inputs tried by hypothesis: {_COUNTS['hypothesis_inputs']}",
         f"- runs resumed after a kill or a stop and checked against an uninterrupted run: {_COUNTS['resumed']}",
         f"- bytes lost: {_COUNTS['bytes_lost']} (of {_COUNTS['bytes_protected']} bytes of finished runs, cache "
         "entries and checkpoints checked byte for byte after each fault)", ""]
    for k, v in _FACTS.items(): L.append(f"- {k}: {v}")
    L += ["", "## Faults tried", "", "| section | fault | test | outcome | what happened |", "|---|---|---|---|---|"]
    for r in rows:
        o, m = status(r["test"])
        L.append(f"| {r['section']} | {_md(r['fault'])} | `{_md(r['test'])}` | {o} | {_md(r['happened'] or m)} |")
    if failed_tests:
        L += ["", "## Failures", ""] + [f"- `{t}`: {_md(m)}" for t, m in failed_tests.items()]
    L += ["", "## Covered elsewhere (not repeated here)", "",
          "- tests/test_data.py: `test_missing_column`, `test_unknown_label_names_file_and_line`, `test_empty_split`, "
          "`test_unreadable_file_bytes`, `test_directory_in_place_of_a_file`, `test_missing_directory_and_file`, "
          "`test_unknown_label_in_custom_file` (the loaders' own messages).",
          "- tests/test_experiment.py: `test_papermill_bad_parameter_stops_before_writing` (a papermill parameter of "
          "the wrong type stops the notebook at the top; nothing is written), `test_cli_run_and_refuses_to_overwrite`.",
          "",
          "- tests/test_resume.py: SIGKILL mid-epoch and inside a checkpoint write at the trainer level (here the same "
          "kills go through the whole experiment, with the teacher cache build and the RL agent).", "",
          "## Determinism", "",
          "On the CPU the same seed and config give bit-identical metrics, weight logs and student parameters: two "
          "runs in one process (`test_same_seed_same_bits_on_cpu`), two processes of which one was killed and resumed "
          "twice (`test_sigkill_at_random_points_resumes_bit_identical`), and runs resumed after a stop. With another "
          "seed the student differs (`test_killed_sweep_resumes_and_skips_finished_points`).", "",
          "On a GPU we do not claim bit-identity, and nothing on this page was measured on one (no GPU was lent when "
          "it was generated). What torch guarantees: `torch.use_deterministic_algorithms(True)` makes operations use "
          "deterministic algorithms where they exist (and raise where they do not), for the same input on the same "
          "software and hardware; cuBLAS also needs `CUBLAS_WORKSPACE_CONFIG=:4096:8`. The trainer sets neither (speed "
          "first) and trains the student under bf16 autocast with fused AdamW: cuBLAS may pick different GEMM "
          "algorithms "
          "(split-K, reduced-precision bf16 reductions) and atomic-add kernels (`index_add_`/`scatter_add_` on CUDA) "
          "sum in varying order, so the last bits can differ between two runs. The data order and the agent's sampling "
          "come from seeded CPU generators, so they do not vary. Expect on one GPU: the same batches and agent draws, "
          "metrics equal to within run-to-run noise, not equal bits; a resumed run restores the exact saved state, and "
          "the steps "
          "after it may differ in the last bits.", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f: f.write("\n".join(L) + "\n")

# ---------------------------------------------------------------------------------------------------------------
# Shared setup: tiny configs on real GLUE rows, tiny random teachers, synthetic datasets
# ---------------------------------------------------------------------------------------------------------------
def test_glue_data_present():
    assert GLUE is not None and (GLUE/"SST-2"/"train.tsv").is_file(), "../shared/data/glue is needed by these tests"

def tiny_cfg(out, cache, **kw) -> dict:
    "A run that takes seconds: 32 RTE sentence pairs, tiny random student, three TF-IDF teachers."
    return {"task": "rte", "data_dir": str(GLUE), "max_train_examples": 32, "max_eval_examples": 32, "max_length": 32,
            "epochs": 1.0, "batch_size": 8, "lr": 1e-3, "seed": 0, "strategy": "uniform", "device": "cpu",
            "precision": "fp32", "output_dir": str(out), "cache_dir": str(cache)} | kw

def tiny_teacher_dir(d, labels=("negative", "positive"), seed=0):
    "A random tiny BERT classifier saved the way a fine-tuned teacher would be."
    from rmkd_nb.teachers import save_model, tiny_bert
    m, t = tiny_bert(len(labels), list(labels), seed=seed)
    return save_model(m, t, d, overwrite=True)

def expect_config_error(fn, what:str, match:str|None=None) -> ConfigError:
    """Call `fn`; it must raise a ConfigError (matching `match`); anything else fails with a message saying what
    happened."""
    try: fn()
    except ConfigError as e:
        if match is not None: assert re.search(match, str(e)), f"{what}: the ConfigError does not match {match!r}: {e}"
        return e
    except Exception as e:
        pytest.fail(f"{what}: raised {type(e).__name__}: {str(e)[:300]} instead of a ConfigError naming the value and "
                    f"its source")
    pytest.fail(f"{what}: accepted; it must be refused with a ConfigError naming the value and its source")

def nothing_written(*paths):
    "None of `paths` exists, or (for a cache dir) it holds no entry."
    for p in map(Path, paths):
        assert not p.exists() or not any(p.iterdir()), f"{p} was written: {sorted(x.name for x in p.iterdir())}"

@pytest.fixture(scope="module")
def teachers_dir(tmp_path_factory):
    "A good tiny teacher, one with another label set, one with three labels, one with a corrupted tokenizer."
    d = tmp_path_factory.mktemp("teachers")
    tiny_teacher_dir(d/"good")
    tiny_teacher_dir(d/"rte_labels", ("entailment", "not_entailment"), seed=1)
    tiny_teacher_dir(d/"three", ("negative", "neutral", "positive"), seed=2)
    shutil.copytree(d/"good", d/"bad_tokenizer"); (d/"bad_tokenizer"/"tokenizer.json").write_text("{not json")
    shutil.copytree(d/"good", d/"half_tokenizer")
    tj = (d/"good"/"tokenizer.json").read_bytes(); (d/"half_tokenizer"/"tokenizer.json").write_bytes(tj[:len(tj) // 2])
    return d

@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    "A real finished run (result.json) and the cache entry it built; protected in every fuzz test below."
    d = tmp_path_factory.mktemp("finished")
    cfg = tiny_cfg(d/"run", d/"cache", strategy="rl", max_train_examples=16, max_eval_examples=16)
    res = run_experiment(cfg, figures=False)
    entries = [p for p in (d/"cache").iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1, f"expected one cache entry, found {entries}"
    return {"cfg": cfg, "run": d/"run", "cache": d/"cache", "entry": entries[0], "result": res}

# ---------------------------------------------------------------------------------------------------------------
# 1. Bad input: a clear error naming the value and its source, before anything is written
# ---------------------------------------------------------------------------------------------------------------
def _custom(tmp, train:str, dev:str|None="text\tlabel\nfine\tpos\nbad\tneg\n", suffix=".tsv", train_bytes=None):
    tr = tmp/f"train{suffix}"
    if train_bytes is not None: tr.write_bytes(train_bytes)
    elif train is not None: tr.write_text(train)
    dv = tmp/f"dev{suffix}"
    if dev is not None: dv.write_text(dev)
    return {"task": "custom", "train_file": str(tr), "dev_file": str(dv) if dev is not None else None,
            "text_fields": ["text"],
            "label_field": "label"}

DATA_FAULTS = {
    "missing column": (dict(train="sentence\tlabel\na\tpos\nb\tneg\n"),
                       r"train.tsv: column\(s\) \['text'\] not found; the file has columns \['sentence', 'label'\]"),
    "unknown label value": (dict(train="text\tlabel\na\tpos\nb\tneg\n", dev="text\tlabel\nc\tmaybe\n"),
                            r"dev.tsv, row 1: label 'maybe' is not in the label set \['neg', 'pos'\]"),
    "empty split": (dict(train="text\tlabel\n"), r"train.tsv: the train split has no rows"),
    "unreadable file (not UTF-8)": (dict(train=None, train_bytes=b"text\tlabel\n\xff\xfe\x00x\tpos\n"),
                                    r"train.tsv: not UTF-8 text"),
    "unsupported file type": (dict(train="text,label\na,pos\n", suffix=".xlsx", dev=None),
                              r"train.xlsx: unsupported file type '.xlsx'"),
    "broken JSON line": (dict(train='{"text": "a", "label": "pos"}\n{"text": "b", "label"\n', suffix=".jsonl",
                              dev=None), r"train.jsonl, line 2: not valid JSON"),
}

@pytest.mark.parametrize("fault", list(DATA_FAULTS))
def test_bad_data_file_stops_the_run_before_writing(tmp_path, fault):
    kw, msg = DATA_FAULTS[fault]
    cfg = tiny_cfg(tmp_path/"run", tmp_path/"cache") | _custom(tmp_path, **kw)
    with pytest.raises(ConfigError, match=msg) as e: run_experiment(cfg, figures=False)
    nothing_written(tmp_path/"run", tmp_path/"cache")
    record("bad input", f"data file: {fault} (run_experiment, task=custom)", f"ConfigError: {e.value}; nothing written")

def test_bad_glue_file_stops_the_run_before_writing(tmp_path):
    glue = tmp_path/"glue"; (glue/"SST-2").mkdir(parents=True)
    rows = (GLUE/"SST-2"/"train.tsv").read_text().splitlines()[:20]
    (glue/"SST-2"/"train.tsv").write_text("\n".join(rows + ["a broken row\t7"]) + "\n")
    (glue/"SST-2"/"dev.tsv").write_text("\n".join(rows) + "\n")
    cfg = tiny_cfg(tmp_path/"run", tmp_path/"cache", data_dir=str(glue), task="sst2")
    with pytest.raises(ConfigError, match=r"SST-2/train.tsv, line 21: label '7' is not in the sst2 label set") as e:
        run_experiment(cfg, figures=False)
    nothing_written(tmp_path/"run", tmp_path/"cache")
    record("bad input", "GLUE file with an unknown label value (line 21)", f"ConfigError: {e.value}; nothing written")

TEACHER_FAULTS = {
    "teacher path that does not exist": ("missing", r"teacher path '.*missing' does not exist"),
    "teacher with another label set": ("rte_labels",
                                       r"label set \['entailment', 'not_entailment'\] differs from the task's label "
                                       r"set \['negative', 'positive'\]"),
    "teacher with three labels for a two-label task": ("three",
                                                       r"label set \['negative', 'neutral', 'positive'\] differs from "
                                                       r"the task's label set"),
    "teacher whose tokenizer.json is corrupted": ("bad_tokenizer",
                                                  r"the tokenizer at '.*bad_tokenizer' cannot be loaded"),
    "teacher whose tokenizer.json is half written": ("half_tokenizer",
                                                     r"the tokenizer at '.*half_tokenizer' cannot be loaded"),
}

@pytest.mark.parametrize("fault", list(TEACHER_FAULTS))
def test_bad_teacher_stops_the_run_before_writing(tmp_path, teachers_dir, fault):
    name, msg = TEACHER_FAULTS[fault]
    cfg = tiny_cfg(tmp_path/"run", tmp_path/"cache", task="sst2",
                   teachers=[str(teachers_dir/"good"), str(teachers_dir/name)])
    with pytest.raises(ConfigError, match=msg) as e: run_experiment(cfg, figures=False)
    nothing_written(tmp_path/"run", tmp_path/"cache")
    record("bad input", fault, f"ConfigError: {str(e.value)[:200]}; nothing written")

class _ProtoTeacher:
    "A minimal object following the Teacher protocol."
    def __init__(self, name, labels): self.name, self.label_names = name, list(labels)
    def fingerprint(self): return f"proto-{self.name}-{self.label_names}"
    def predict(self, texts, text_pairs=None):
        return {"logits": np.zeros((len(texts), len(self.label_names)), np.float32), "pooled": None}

def test_teacher_cache_refuses_mismatched_label_sets(tmp_path):
    from rmkd_nb.data import load_task
    from rmkd_nb.cache import TeacherCache
    dsd = load_task("sst2", GLUE, max_train_examples=16, max_eval_examples=16)
    pool = [_ProtoTeacher("a", ["negative", "positive"]), _ProtoTeacher("b", ["positive", "negative"])]
    with pytest.raises(ConfigError, match=r"teacher 'b'.*\['positive', 'negative'\].*\['negative', 'positive'\]") as e:
        TeacherCache.build(pool, dsd, tmp_path/"cache", progress=False)
    nothing_written(tmp_path/"cache")
    record("bad input", "TeacherCache.build with two teachers whose label orders differ",
           f"ConfigError: {e.value}; no cache entry")

def test_unregistered_strategy(tmp_path):
    with pytest.raises(ConfigError,
                       match=r"unknown strategy 'reinforce' \(from .*strategy\); registered: .*uniform") as e:
        check_run(DistillConfig.from_dict(tiny_cfg(tmp_path/"run", tmp_path/"cache", strategy="reinforce"),
                                          where="test"))
    from rmkd_nb.trainer import DistillTrainer
    from rmkd_nb.cache import TeacherCache
    cache = TeacherCache.from_arrays(np.zeros((4, 2, 2)), np.zeros(4, int))
    ds = [{"x": torch.zeros(3), "label": 0, "idx": i} for i in range(4)]
    with pytest.raises(ConfigError, match=r"unknown strategy 'nope'"):
        DistillTrainer(DistillConfig(output_dir=str(tmp_path/"t")), torch.nn.Linear(3, 2), ds, None, cache,
                       strategy="nope")
    with pytest.raises(ConfigError, match=r"lr=-1"):
        check_run(DistillConfig.from_dict(tiny_cfg(tmp_path/"run", tmp_path/"cache", strategy="rl",
                                                   strategy_options={"lr": -1})))
    nothing_written(tmp_path/"run", tmp_path/"cache", tmp_path/"t")
    record("bad input", "strategy name not registered (config, DistillTrainer(strategy=)), bad strategy option",
           f"ConfigError: {e.value}")

STRATEGY_OPTIONS = [{"lr": -1}, {"lr": NAN}, {"policy": "mlp", "hidden": -3}, {"policy": "mlp", "hidden": 0},
                    {"episode": 0},
                    {"init_prob": 1.0}, {"reward": "nope"}, {"features": "nope"}, {"baseline_momentum": NAN},
                    {"mode": "hard"}]

@pytest.mark.parametrize("opts", STRATEGY_OPTIONS,
                         ids=[",".join(f"{k}={v}" for k, v in o.items()) for o in STRATEGY_OPTIONS])
def test_bad_rl_strategy_options(tmp_path, opts):
    cfg = DistillConfig.from_dict(tiny_cfg(tmp_path/"run", tmp_path/"cache", strategy="rl", strategy_options=opts),
                                  where="test")
    key = next(iter(opts))
    e = expect_config_error(lambda: check_run(cfg, where="test"), f"check_run(strategy='rl', strategy_options={opts})",
                            key)
    nothing_written(tmp_path/"run", tmp_path/"cache")
    record("bad input", f"rl strategy option {opts}", f"ConfigError: {str(e)[:160]}")

HYPER = [("temperature", -1.0), ("temperature", 0.0), ("temperature", NAN), ("temperature", INF), ("alpha", -0.1),
         ("alpha", 1.5),
         ("alpha", NAN), ("lr", 0.0), ("lr", -1e-3), ("lr", NAN), ("lr", INF), ("batch_size", 0), ("batch_size", -4),
         ("batch_size", 2.5), ("batch_size", "32"), ("epochs", 0), ("epochs", NAN), ("warmup_ratio", NAN),
         ("grad_accum", 0),
         # found by the fuzz test below: values Python or torch cannot take
         ("temperature", 10**400), ("lr", -10**400), ("seed", 2**64), ("seed", -2**70), ("seed", 10**30)]

@pytest.mark.parametrize("name,value", HYPER,
                         ids=[f"{n}={v!r}" if len(repr(v)) < 24 else f"{n}={repr(v)[:8]}..." for n, v in HYPER])
def test_bad_hyperparameter(tmp_path, name, value):
    cfg = tiny_cfg(tmp_path/"run", tmp_path/"cache") | {name: value}
    short = repr(value) if len(repr(value)) < 24 else repr(value)[:12] + "..."
    e = expect_config_error(lambda: DistillConfig.from_dict(cfg, where="test"),
                            f"DistillConfig.from_dict({name}={short})", rf"test: {name}=")
    if len(repr(value)) < 24: assert repr(value) in str(e) or str(value) in str(e), (f"the message does not show the "
                                                                                     f"value {value!r}: {e}")
    nothing_written(tmp_path/"run", tmp_path/"cache")
    record("bad input", f"hyperparameter {name}={short}", f"ConfigError: {str(e)[:160]}")

def test_bad_hyperparameter_on_the_command_line(tmp_path, capsys):
    from rmkd_nb.cli import main
    for flag, value, msg in [("--temperature", "-2", "temperature=-2.0 must be a finite number > 0"),
                             ("--alpha", "1.5", "alpha=1.5 must be in [0, 1]"), ("--lr", "nan", "lr=nan must be"),
                             ("--batch_size", "0", "batch_size=0 must be an integer >= 1")]:
        rc = main(["run", "--output_dir", str(tmp_path/"run"), "--cache_dir", str(tmp_path/"cache"), "--data_dir",
                   str(GLUE), flag, value])
        err = capsys.readouterr().err
        assert rc == 2 and msg in err and "command line" in err, f"rmkd run {flag} {value}: rc={rc}, stderr={err!r}"
    nothing_written(tmp_path/"run", tmp_path/"cache")
    record("bad input",
           "hyperparameters on the command line (rmkd run --temperature -2, --alpha 1.5, --lr nan, --batch_size 0)",
           "exit code 2, the message names the flag's field, its value and 'command line'; nothing written")

def test_unvalidated_config_is_refused_by_the_trainer(tmp_path):
    from rmkd_nb.trainer import DistillTrainer
    from rmkd_nb.cache import TeacherCache
    cache = TeacherCache.from_arrays(np.zeros((4, 2, 2)), np.zeros(4, int))
    ds = [{"x": torch.zeros(3), "label": 0, "idx": i} for i in range(4)]
    bad = DistillConfig(output_dir=str(tmp_path/"t"), temperature=-1.0)    # the dataclass itself does not check
    with pytest.raises(ConfigError, match=r"temperature=-1.0") as e:
        DistillTrainer(bad, torch.nn.Linear(3, 2), ds, None, cache)
    nothing_written(tmp_path/"t")
    record("bad input", "DistillConfig(temperature=-1) built without from_dict, given to DistillTrainer",
           f"ConfigError: {e.value}")

@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_config_file_with_unknown_key(tmp_path, suffix, capsys):
    f = tmp_path/f"run{suffix}"
    d = {"task": "sst2", "temprature": 3.0, "output_dir": str(tmp_path/"run")}
    f.write_text(json.dumps(d) if suffix == ".json"
                 else "task: sst2\ntemprature: 3.0\noutput_dir: " + str(tmp_path/"run") + "\n")
    with pytest.raises(ConfigError,
                       match=rf"{re.escape(str(f))}: unknown config key\(s\) 'temprature' \(did you mean "
                       rf"'temperature'\?\)") as e:
        DistillConfig.from_file(f)
    from rmkd_nb.cli import main
    rc = main(["run", "--config", str(f)]); err = capsys.readouterr().err
    assert rc == 2 and "temprature" in err and str(f) in err, f"rmkd run --config: rc={rc}, stderr={err!r}"
    nothing_written(tmp_path/"run")
    record("bad input", f"config file ({suffix}) with an unknown key 'temprature'",
           f"ConfigError: {e.value}; rmkd run exits 2")

def test_sweep_with_a_bad_point_runs_nothing(tmp_path):
    spec = {"name": "bad", "base": tiny_cfg(tmp_path/"x", tmp_path/"cache"), "grid": {"temperature": [2.0, -1.0]},
            "engine": "direct"}
    with pytest.raises(ConfigError,
                       match=r"sweep bad, point temperature=-1.0: temperature=-1.0 must be") as e:
        run_sweep(spec, runs_root=tmp_path/"runs")
    with pytest.raises(ConfigError, match=r"sweep spec: unknown key\(s\) \['grids'\]"):
        run_sweep({"grids": {}}, runs_root=tmp_path/"runs")
    nothing_written(tmp_path/"runs", tmp_path/"cache")
    record("bad input", "sweep spec with one bad point (temperature=-1) / an unknown spec key",
           f"ConfigError before any point runs: {e.value}")

# --- hypothesis: fuzz the run config ---------------------------------------------------------------------------
FIELDS = [f.name for f in dataclasses.fields(DistillConfig)]
# every option of RLTeacherSelector today, plus options it no longer takes (refused as unknown, like "bogus")
RL_OPTIONS = ["mode", "policy", "features", "reward", "lr", "entropy_coef", "baseline", "baseline_momentum",
              "normalize_advantage", "max_grad_norm", "episode", "warmup_epochs", "pretrain_epochs", "init_prob",
              "hidden", "heldout_examples", "heldout_metric", "seed", "credit", "guard",
              "alpha", "lookahead_lr", "value_coef", "bogus"]
_scalar = st.one_of(st.none(), st.booleans(), st.integers(),
                    st.sampled_from([0, -1, 1, 2**63, 2**64, -2**63 - 1, 10**400, -10**400]),
                    st.floats(), st.sampled_from([NAN, INF, -INF, 0.0, -0.0, 1e-320, 1e308]), st.text(max_size=12))
_junk = st.one_of(_scalar, st.lists(_scalar, max_size=3), st.dictionaries(st.text(max_size=6), _scalar, max_size=2))

def _edges(name):
    "Edge values for a field of `name`'s type: the numbers and strings that break naive code."
    import typing
    hint = typing.get_type_hints(DistillConfig)[name]; args = typing.get_args(hint)
    base = next((a for a in args if a is not type(None)), hint)
    e = {float: st.one_of(st.floats(), st.sampled_from([NAN, INF, -INF, 0.0, -0.0, -1.0, 1e308, -1e308, 1e-320, 10**400,
                                                        -10**400, 2**63, True, "1.0"])),
         int: st.one_of(st.integers(), st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, -2**63 - 1, 10**400, 1.0, 1.5,
                                                        NAN, True, "8"])),
         bool: st.sampled_from([True, False, 0, 1, "true", "False"]),
         str: st.one_of(st.text(max_size=12),
                        st.sampled_from(["", " ", "\x00", "a" * 5000, "ü", "../..", "~", "None"])),
         list: st.lists(st.one_of(st.sampled_from([None, NAN, 0, "", "\x00", "tfidf", True, [1]]), st.text(max_size=5)),
                        max_size=3),
         dict: st.dictionaries(st.text(max_size=6), _scalar, max_size=2)}[base]
    return st.one_of(e, st.none()) if type(None) in args else e

def _plausible(name, paths):
    "Values that look right for `name` (so the fuzz gets past type checks and reaches the deeper checks)."
    p = {"task": st.sampled_from(["sst2", "mrpc", "SST-2", "custom", "mnli", "glue", ""]),
         "strategy": st.sampled_from(["uniform", "none", "rl", "rl_soft", "rl_select", "single:0", "single:x",
                                      "rl:soft", "ca_mkd", "nope", ""]),
         "strategy_options": st.dictionaries(st.sampled_from(RL_OPTIONS),
                                             st.one_of(_scalar, st.sampled_from(["mlp", "soft", "epoch", "dev",
                                                                                 "loss", "ema", "value"])),
                                             max_size=3),
         "output_dir": st.sampled_from([str(paths["run"]), str(paths["fresh"]), "", " ", "\x00"]),
         "cache_dir": st.just(str(paths["cache"])),
         "data_dir": st.sampled_from([str(GLUE), None, "auto", str(paths["fresh"]), "\x00x"]),
         "train_file": st.sampled_from([None, str(paths["file"]), str(paths["fresh"]), ""]),
         "dev_file": st.sampled_from([None, str(paths["file"]), str(paths["fresh"])]),
         "teachers": st.lists(st.sampled_from([str(paths["teacher"]), "tfidf", "tfidf:char", str(paths["fresh"]), "",
                                               "\x00"]), max_size=3),
         "text_fields": st.lists(st.sampled_from(["text", "sentence", "", 1]), max_size=3),
         "precision": st.sampled_from(["auto", "fp32", "bf16", "fp16", "fp8", ""]),
         "on_nan": st.sampled_from(["stop", "skip", "ignore"]),
         "device": st.sampled_from(["auto", "cpu", "cuda", "tpu", "cuda:9"])}
    return st.one_of(p[name], _edges(name)) if name in p else _edges(name)

def config_dicts(paths, base:dict, keys=None, max_keys=3, wild=True):
    """Config dicts: a valid `base` with 1..`max_keys` keys given random values of random types (deep: the other values
    are fine, so each fault meets the check meant for it), or (one in four) many keys at once on an empty base;
    one in ten also carries an unknown key."""
    keys = keys or FIELDS
    val = lambda k: st.one_of(_plausible(k, paths), _plausible(k, paths), _junk)
    few = st.lists(st.sampled_from(keys), min_size=1, max_size=max_keys, unique=True).flatmap(
        lambda ks: st.fixed_dictionaries({k: val(k) for k in ks})).map(lambda d: {**base, **d})
    many = st.fixed_dictionaries({}, optional={k: val(k) for k in keys})
    unknown = st.dictionaries(st.text(min_size=1, max_size=10).filter(lambda k: k not in FIELDS), _scalar, max_size=1)
    return st.builds(lambda d, u, add: {**d, **(u if add else {})}, (st.one_of(few, few, few, many) if wild else few),
                     unknown,
                     st.integers(0, 9).map(lambda i: i == 0))

class Unhandled:
    """Distinct unhandled exceptions met while fuzzing, keyed by type and the innermost rmkd_nb frame; smallest input
    kept."""
    def __init__(self): self.bugs = {}
    def add(self, e:BaseException, d:dict):
        import traceback
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if "rmkd_nb" in f.filename] or traceback.extract_tb(e.__traceback__)[-1:]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} ({frames[-1].name})" if frames else "?"
        key = (type(e).__name__, where)
        if key not in self.bugs or len(repr(d)) < len(repr(self.bugs[key][0])): self.bugs[key] = (d, str(e)[:200])
    def report(self) -> str:
        return "\n".join(f"- {t} at {w}: {m!r}\n    input: {d!r}" for (t, w),
                         (d, m) in sorted(self.bugs.items(), key=str))

@pytest.fixture(scope="module")
def fuzz_paths(tmp_path_factory, finished, teachers_dir):
    d = tmp_path_factory.mktemp("fuzz"); (d/"data.tsv").write_text("text\tlabel\na\tpos\n")
    return {"run": finished["run"], "cache": finished["cache"], "fresh": d/"nothing-here", "file": d/"data.tsv",
            "teacher": teachers_dir/"good", "root": d}

def test_fuzz_check_run(fuzz_paths, finished):
    run0, entry0 = snapshot(finished["run"]), snapshot(finished["entry"])
    seen = {"n": 0, "config_error": 0, "ok": 0}; bugs = Unhandled()

    @settings(max_examples=1000, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(d=config_dicts(fuzz_paths, base=tiny_cfg(fuzz_paths["fresh"], finished["cache"])))
    def fuzz(d):
        seen["n"] += 1
        try:
            cfg = check_run(DistillConfig.from_dict(d, where="fuzz"))
            seen["ok"] += 1
            if Path(cfg.output_dir) == finished["run"]: assert cfg.overwrite, ("check_run accepted the finished run "
                                                                               "without overwrite")
        except ConfigError: seen["config_error"] += 1
        except Exception as e: bugs.add(e, d)
        assert (snapshot(finished["run"]) == run0
                and snapshot(finished["entry"]) == entry0), f"{d} changed a protected file"
    try: fuzz()
    finally:
        _COUNTS["hypothesis_inputs"] += seen["n"]
        _FACTS["check_run fuzz"] = (f"{seen['n']} configs: {seen['config_error']} ConfigError, {seen['ok']} accepted, "
                                    f"{len(bugs.bugs)} distinct unhandled exceptions")
    assert not bugs.bugs, (f"check_run(DistillConfig.from_dict(d)) raised something other than "
                           f"ConfigError:\n{bugs.report()}")
    assert_unchanged(run0, finished["run"], "the finished run")
    assert_unchanged(entry0, finished["entry"], "the cache entry")
    record("bad input", f"hypothesis: {seen['n']} random config dicts through check_run(DistillConfig.from_dict(d))",
           f"{seen['config_error']} ConfigError, {seen['ok']} accepted, no other exception; the finished run and the "
           f"cache entry byte-identical")

FOUND = [{"teachers": [None]}, {"teachers": [True]}, {"teachers": [NAN, 0]},
         {"data_dir": "a" * 5000}, {"dev_file": "a" * 5000}, {"train_file": "a" * 5000, "task": "custom"},
         {"output_dir": "a" * 5000},
         {"teachers": ["a" * 5000]}, {"output_dir": "a\x00b"}, {"cache_dir": "a\x00b"}]

@pytest.mark.parametrize("bad", FOUND, ids=[",".join(f"{k}={v!r}"[:24] for k, v in d.items()) for d in FOUND])
def test_inputs_found_by_fuzzing(tmp_path, bad):
    "Inputs the fuzz tests below found (kept as plain cases): check_run must refuse them with a ConfigError."
    d = tiny_cfg(tmp_path/"run", tmp_path/"cache") | bad
    short = {k: (v if len(repr(v)) < 30 else repr(v)[:20] + "...") for k, v in bad.items()}
    e = expect_config_error(lambda: check_run(DistillConfig.from_dict(d, where="test"), where="test"),
                            f"check_run({short})")
    nothing_written(tmp_path/"run", tmp_path/"cache")
    record("bad input", f"found by fuzzing: {short}", f"ConfigError: {str(e)[:160]}")

@pytest.mark.parametrize("strategy", ["rl", "rl_soft"])
def test_rl_agent_with_gradient_accumulation(tmp_path, strategy):
    "Found by the end-to-end fuzz (grad_accum=7 with strategy rl): a valid config must train, not crash."
    from rmkd_nb.trainer import DistillTrainer
    cache, train, dev = _synthetic()
    try: res = DistillTrainer(_syn_cfg(tmp_path/"r", strategy=strategy, grad_accum=2), _mlp(), train, dev,
                              cache).train()
    except ConfigError: raise
    except Exception as e:
        pytest.fail(f"strategy={strategy!r} with grad_accum=2 (a valid config) crashed: {type(e).__name__}: {e}")
    assert all(math.isfinite(v) for v in res["final"].values())
    record("bad input", f"found by fuzzing: strategy={strategy}, grad_accum=2", f"trained: final {res['final']}")

E2E_KEYS = ["temperature", "alpha", "lr", "batch_size", "eval_batch_size", "warmup_ratio", "max_grad_norm",
            "weight_decay", "seed",
            "strategy", "strategy_options", "on_nan", "grad_accum", "max_length", "output_dir", "hidden_weight",
            "teachers"]

def test_fuzz_end_to_end_runs(fuzz_paths, finished, monkeypatch):
    """A few whole runs with fuzzed values on top of a valid tiny config: a clean error or a finished run, never a
    traceback."""
    from rmkd_nb.trainer import NumericFault
    run0, entry0 = snapshot(finished["run"]), snapshot(finished["entry"])
    seen = {"n": 0, "config_error": 0, "numeric_fault": 0, "finished": 0, "refused_finished": 0}; bugs = Unhandled()
    monkeypatch.chdir(fuzz_paths["root"])        # a junk relative output_dir lands here, not in the repository
    base = {k: v for k, v in finished["cfg"].items() if k != "output_dir"} | {"epochs": 1.0}

    @settings(max_examples=40, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(d=config_dicts(fuzz_paths, base=base, keys=E2E_KEYS, max_keys=2, wild=False),
           into_finished=st.integers(0, 3).map(lambda i: i == 0))
    def fuzz(d, into_finished):
        seen["n"] += 1
        if d.get("output_dir", str(fuzz_paths["fresh"])) == str(fuzz_paths["fresh"]):   # else: junk the fuzz chose
            d = d | {"output_dir": str(finished["run"]) if into_finished
                     else str(fuzz_paths["root"]/f"e2e-{seen['n']}")}
        d["overwrite"] = False
        try:
            res = run_experiment(d, figures=False, where="fuzz")
            seen["finished"] += 1
            assert all(math.isfinite(v)
                       for v in res["final"].values()), f"non-finite final metrics {res['final']} for {d}"
        except ConfigError as e:
            seen["config_error"] += 1; seen["refused_finished"] += "already holds a finished run" in str(e)
        except NumericFault: seen["numeric_fault"] += 1
        except Exception as e: bugs.add(e, d)
        assert (snapshot(finished["run"]) == run0
                and snapshot(finished["entry"]) == entry0), f"{d} changed a protected file"
    try: fuzz()
    finally:
        _COUNTS["hypothesis_inputs"] += seen["n"]
        _FACTS["end-to-end fuzz"] = (f"{seen['n']} runs: {seen['finished']} finished, {seen['config_error']} "
                                     f"ConfigError, "
                                     f"{seen['numeric_fault']} NumericFault, {len(bugs.bugs)} distinct unhandled "
                                     f"exceptions")
    assert not bugs.bugs, f"run_experiment(d) raised something other than ConfigError/NumericFault:\n{bugs.report()}"
    assert_unchanged(run0, finished["run"], "the finished run")
    assert_unchanged(entry0, finished["entry"], "the cache entry")
    record("bad input",
           f"hypothesis: {seen['n']} whole runs (run_experiment) with fuzzed values of {len(E2E_KEYS)} keys",
           f"{seen['finished']} finished, {seen['config_error']} ConfigError ({seen['refused_finished']} of them: the "
           f"finished "
           f"run's output_dir, refused), {seen['numeric_fault']} NumericFault; "
           "the finished run and the cache entry byte-identical")

# ---------------------------------------------------------------------------------------------------------------
# 2. Interrupted work resumes: SIGKILL in the cache build, mid-epoch and inside a checkpoint write
# ---------------------------------------------------------------------------------------------------------------
def _fresh_tqdm_locks():
    "New tqdm write locks in a forked child (the parent's may have been held by one of its threads at the fork)."
    import tqdm.std, tqdm.auto
    for cls in {tqdm.std.tqdm, tqdm.auto.tqdm}: cls.set_lock(tqdm.std.TqdmDefaultWriteLock())

class _Child:
    """`fn()` in a forked child of this process: a real process, killed for real, without the start-up cost of a fresh
    interpreter (torch, transformers and datasets are already imported). Output goes to `log`. Needs one torch
    thread."""
    def __init__(self, fn, log:Path):
        self.log = Path(log); _warm()
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                # a lock held by another thread at fork time would deadlock the child's progress bars
                _fresh_tqdm_locks()
                fd = os.open(str(self.log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644); os.dup2(fd, 1)
                os.dup2(fd, 2)
                fn(); code = 0
            except BaseException:
                import traceback; traceback.print_exc()
            finally:
                sys.stdout.flush(); sys.stderr.flush(); os._exit(code)
    def wait(self, timeout:float=300):
        t0 = time.time()
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid: break
            if time.time() - t0 > timeout:
                os.kill(self.pid, signal.SIGKILL); os.waitpid(self.pid, 0)
                pytest.fail(f"the child process did not finish in {timeout} s; its output: "
                            f"{self.log.read_text()[-2000:]}")
            time.sleep(0.02)
        self.returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return self.returncode

def _warm():
    """Import in this process what a run imports lazily, so forked children do not each import it again; and stop tqdm's
    monitor thread (a fork while it holds tqdm's lock would leave the child waiting for it forever)."""
    from tqdm import tqdm as _tqdm
    _tqdm.monitor_interval = 0
    if getattr(_tqdm, "monitor", None) is not None: _tqdm.monitor.exit(); _tqdm.monitor = None
    import rmkd_nb.agent, rmkd_nb.teachers, rmkd_nb.trainer, rmkd_nb.viz  # noqa: F401
    import sklearn.feature_extraction.text, sklearn.linear_model, safetensors.torch  # noqa: F401
    from transformers import (AutoConfig, AutoModelForSequenceClassification, AutoTokenizer,  # noqa: F401
                              BertForSequenceClassification, BertTokenizerFast)

def _helper(name):
    if str(TESTS) not in sys.path: sys.path.insert(0, str(TESTS))
    import importlib; return importlib.import_module(name)

def _spawn(cfg:dict, kill:str):
    "tests/_robust_run.py's run(cfg, kill) in a forked child."
    out = Path(cfg["output_dir"])
    return _Child(lambda: _helper("_robust_run").run(cfg, kill), out.parent/f"{out.name}-{kill.replace(':', '')}.log")

def _wait(p, what, expect_kill:bool):
    p.wait(); out = p.log.read_text() if p.log.exists() else ""
    if expect_kill: assert p.returncode == -signal.SIGKILL, (f"{what}: expected a SIGKILL, got "
                                                             f"rc={p.returncode}\n{out[-3000:]}")
    else: assert p.returncode == 0, f"{what}: rc={p.returncode}\n{out[-3000:]}"
    return out

def _metrics_rows(run):
    rows = [json.loads(l) for l in (Path(run)/"metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("samples_per_s",)} for r in rows]

def _student(run):
    "The saved student's tensors (model.safetensors: save_pretrained's, or the trainer's for other models)."
    from safetensors.torch import load_file
    return load_file(str(Path(run)/"student"/"model.safetensors"))

def assert_same_run(a, b, what):
    """Two run directories hold the same final/best metrics, metrics rows, weight log and student parameters, bit for
    bit."""
    from rmkd_nb.weightlog import WeightLog
    res = lambda x: json.loads(next(f for f in (Path(x)/"result.json", Path(x)/"train_result.json")
                                    if f.exists()).read_text())
    ra, rb = res(a), res(b)
    assert (ra["final"], ra["best"]) == (rb["final"],
                                         rb["best"]), (f"{what}: final/best differ: {ra['final']} {ra['best']} vs "
                                                       f"{rb['final']} {rb['best']}")
    ma, mb = _metrics_rows(a), _metrics_rows(b)
    assert ma == mb, (f"{what}: metrics.jsonl differs; first difference: "
                      f"{next(((x, y) for x, y in zip(ma, mb) if x != y), (len(ma), len(mb)))}")
    wa, wb = WeightLog.read(a), WeightLog.read(b)
    for k in set(wa) | set(wb):
        if k == "teacher_names": continue
        assert k in wa and k in wb and np.array_equal(wa[k], wb[k],
                                                      equal_nan=True), f"{what}: weight log column {k!r} differs"
    sa, sb = _student(a), _student(b)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa), \
        f"{what}: student parameters differ: {[k for k in sa if k in sb and not torch.equal(sa[k], sb[k])][:5]}"

def test_sigkill_at_random_points_resumes_bit_identical(tmp_path):
    """Two lanes run side by side (one torch thread each). Lane A: killed while its teacher cache is written, then
    restarted and run to the end (the reference: its training was never interrupted). Lane B: killed after a random
    mid-epoch step, restarted, killed inside a checkpoint write, restarted to the end. Both must end bit-identical."""
    from rmkd_nb.cache import TeacherCache
    from rmkd_nb.checkpoints import find_checkpoints
    rng = random.Random(9)
    steps = 12                                   # 48 sentence pairs / batch 8 = 6 steps per epoch, 2 epochs
    kill_step = rng.randint(3, 5)                # mid-epoch, after the checkpoint of step 2
    ckpt_step = rng.choice([8, 10])              # a checkpoint written after the resume
    cfg = lambda out, cache: tiny_cfg(out, cache, strategy="rl", max_train_examples=48, epochs=2.0, save_every=2)
    A, B = cfg(tmp_path/"A", tmp_path/"cache_A"), cfg(tmp_path/"B", tmp_path/"cache_B")
    a1, b1 = _spawn(A, "cache"), _spawn(B, f"step:{kill_step}")
    # A) killed while the teacher cache is written: no entry; the temporary one is never opened
    _wait(a1, "kill in the cache build", True)
    cache = tmp_path/"cache_A"
    tmps = [p for p in cache.iterdir() if p.name.startswith(".tmp-")]
    entries = [p for p in cache.iterdir() if not p.name.startswith(".")]
    assert tmps and not entries, f"after a kill in the cache build: temporary {tmps}, entries {entries}"
    with pytest.raises(ConfigError, match="not a complete teacher-cache entry"): TeacherCache.open(tmps[0])
    assert not (tmp_path/"A").exists(), "the run directory was created before the cache existed"
    a2 = _spawn(A, "none")
    record("interrupted", "SIGKILL while the teacher cache entry is written (its .tmp-* dir holds files)",
           f"no cache entry; the temporary dir is refused by TeacherCache.open; the restart rebuilt the entry")
    # B1) killed right after a random mid-epoch step
    _wait(b1, f"kill after step {kill_step}", True)
    run = tmp_path/"B"
    ck = find_checkpoints(run)
    assert ck and ck[-1][0] < kill_step, f"checkpoints after the kill at step {kill_step}: {ck}"
    record("interrupted", f"SIGKILL mid-epoch, after step {kill_step} of {steps}",
           f"newest checkpoint step-{ck[-1][0]} kept")
    # B2) killed inside the write of a checkpoint: optimizer.safetensors half written in its .tmp-step-* dir
    _wait(_spawn(B, f"ckpt:{ckpt_step}"), f"kill inside checkpoint step-{ckpt_step}", True)
    half = list((run/"checkpoints").glob(f".tmp-step-{ckpt_step}-*"))
    ck2 = find_checkpoints(run)
    assert half and (half[0]/"optimizer.safetensors").is_file(), \
        f"no half-written checkpoint found: {sorted(p.name for p in (run/'checkpoints').iterdir())}"
    assert ck2[-1][0] < ckpt_step, f"the half-written checkpoint step-{ckpt_step} is listed as complete: {ck2}"
    record("interrupted",
           f"SIGKILL inside the write of checkpoint step-{ckpt_step} (optimizer.safetensors half written)",
           f"the half-written dir is not a checkpoint; the restart resumed from step-{ck2[-1][0]} and removed it")
    # B3) the last restart finishes; everything equals lane A
    _wait(_spawn(B, "none"), "resume to the end", False)
    _wait(a2, "lane A to the end", False)
    assert not list((run/"checkpoints").glob(".tmp-*")), "the half-written checkpoint directory was left behind"
    assert_same_run(tmp_path/"A", run, "killed twice mid-training and resumed vs uninterrupted training")
    e_a = [p for p in (tmp_path/"cache_A").iterdir() if not p.name.startswith(".")][0]
    e_b = [p for p in (tmp_path/"cache_B").iterdir() if not p.name.startswith(".")][0]
    assert e_a.name == e_b.name and all((e_a/s/f).read_bytes() == (e_b/s/f).read_bytes()
                                        for s in ("train", "validation")
                                        for f in ("logits.npy", "ce.npy", "idx.npy", "labels.npy")), \
        "the cache rebuilt after the kill differs from the other lane's"
    _COUNTS["resumed"] += 3
    record("interrupted", "the three killed runs restarted and ran to the end",
           f"final/best metrics, every metrics.jsonl row, the weight log and the student's parameters bit-identical "
           f"across the lanes (rl strategy, {steps} steps); the cache entry rebuilt after the kill identical to the "
           f"other lane's")

def test_leftovers_of_a_kill_are_never_loaded(tmp_path):
    """What a kill can leave behind (a garbage .tmp-step-* directory claiming a later step, a half-written last line in
    metrics.jsonl, a .tmp-* weight-log chunk) is ignored on resume; the resumed run equals an uninterrupted one."""
    from rmkd_nb.trainer import DistillTrainer, find_checkpoints
    cache, train, dev = _synthetic()
    cfg = _syn_cfg(tmp_path/"a", save_every=2, strategy="rl")
    class Stop(Exception): pass
    class StopAt:
        def on_step(self, tr, rec):
            if rec["step"] == 5: raise Stop()
    with pytest.raises(Stop): DistillTrainer(cfg, _mlp(), train, dev, cache, callbacks=[StopAt()]).train()
    run = tmp_path/"a"
    fake = run/"checkpoints"/".tmp-step-999-zz"; fake.mkdir()
    (fake/"trainer_state.json").write_text(json.dumps({"step": 999}))
    (fake/"model.safetensors").write_bytes(b"garbage")
    with open(run/"metrics.jsonl", "a") as f: f.write('{"type": "train", "step": 6, "epoch": 0, "lo')
    (run/"weightlog"/".tmp-chunk-000000006-000000009.npz-x1").write_bytes(b"PK\x03\x04 half a zip")
    assert all(s < 999 for s, _ in find_checkpoints(run))
    DistillTrainer(cfg, _mlp(), train, dev, cache).train()
    DistillTrainer(_syn_cfg(tmp_path/"b", save_every=2, strategy="rl"), _mlp(), train, dev, cache).train()
    assert not fake.exists(), "the leftover temporary checkpoint was not removed"
    assert_same_run(tmp_path/"b", run, "resumed over a kill's leftovers vs uninterrupted")
    _COUNTS["resumed"] += 1
    record("interrupted",
           "leftovers of a kill: a garbage .tmp-step-999-* dir claiming step 999, a half-written metrics.jsonl "
           "line, a .tmp-* weight-log chunk",
           "all ignored (the temporary checkpoint removed); the resumed run (rl agent) equals "
           "an uninterrupted one: metrics rows, weight log, student")

def test_damaged_cache_entry_is_refused(tmp_path, finished):
    """A cache entry whose file was cut short (a copy interrupted, a full disk) is refused by name, before anything is
    written."""
    shutil.copytree(finished["cache"], tmp_path/"cache")
    f = tmp_path/"cache"/finished["entry"].name/"train"/"logits.npy"; f.write_bytes(f.read_bytes()[:-16])
    cfg = finished["cfg"] | {"output_dir": str(tmp_path/"run"), "cache_dir": str(tmp_path/"cache")}
    e = expect_config_error(lambda: run_experiment(cfg, figures=False), "a run on a truncated cache entry",
                            r"train/logits.npy is truncated or corrupted")
    nothing_written(tmp_path/"run")
    record("interrupted", "a cache entry whose logits.npy lost its last 16 bytes",
           f"ConfigError: {str(e)[-120:]}; nothing written")

def test_killed_sweep_resumes_and_skips_finished_points(tmp_path, monkeypatch):
    """A 2-point sweep SIGKILLed inside the second point's save_figures: the first point's result.json is complete, the
    second point's trainer has finished (and written its own files) but run_experiment has not written its
    result.json."""
    import rmkd_nb.experiment as X   # run_experiment saves the figures
    spec = {"name": "sw", "base": tiny_cfg(tmp_path/"x", tmp_path/"cache", max_train_examples=16, max_eval_examples=16),
            "grid": {"seed": [0, 1]}, "engine": "direct"}
    first, second = (tmp_path/"runs"/"sw"/f"seed={i}"/"result.json" for i in (0, 1))
    child = _Child(lambda: _helper("_robust_sweep").run(spec, str(tmp_path/"runs"), 2), tmp_path/"sweep.log")
    _wait(child, "a sweep killed inside the second point's save_figures", True)
    assert "config" in json.loads(first.read_text()), "the first point did not finish before the kill"
    before = first.read_bytes()
    orig = X.save_figures
    monkeypatch.setattr(X, "save_figures", lambda run_dir, *a, **k: orig(run_dir, png=False))
    s = run_sweep(spec, runs_root=tmp_path/"runs")
    assert s["skipped"] >= 1 and "seed=0" not in s["done"] and not s["failed"], f"the rerun's summary: {s}"
    assert first.read_bytes() == before, "the finished point's result.json was rewritten"
    _COUNTS["bytes_protected"] += len(before); _COUNTS["resumed"] += 1
    record("interrupted", "sweep of 2 points SIGKILLed midway (after point 1 finished, inside point 2's save_figures)",
           f"rerun: skipped={s['skipped']}, point 1's result.json byte-identical")
    res = json.loads(second.read_text())
    assert s["skipped"] == 1 and list(s["done"]) == ["seed=1"] and "config" in res and "task" in res, (
        f"the point killed before run_experiment wrote its result.json was counted as finished "
        f"(skipped={s['skipped']}, "
        f"done={list(s['done'])}); its result.json is the trainer's (keys {sorted(res)[:6]}...), without "
        f"'config'/'task', "
        "so `rmkd report` cannot aggregate it")
    rows = write_report([tmp_path/"runs"/"sw"], tmp_path/"r.md", tmp_path/"r.csv")
    assert {r["n_seeds"] for r in rows} == {2}
    s0, s1 = (_student(tmp_path/"runs"/"sw"/f"seed={i}") for i in (0, 1))
    assert any(not torch.equal(s0[k], s1[k])
               for k in s0), "seeds 0 and 1 gave the same student: the seed does not reach the run"
    _COUNTS["resumed"] += 1
    record("interrupted", "the sweep point killed after its trainer finished but before the experiment's result.json",
           "rerun completed it: its result.json is the experiment's; the report aggregates both seeds "
           "(and they differ)")

# ---------------------------------------------------------------------------------------------------------------
# 3. Numeric faults: stop (or skip) with the step and the example ids; the last good checkpoint stays
# ---------------------------------------------------------------------------------------------------------------
N_SYN, D_SYN = 64, 8

def _synthetic(bad_idx=None, bad_value=NAN, seed=0):
    "64 examples (idx 1000..1063) of a linear 2-class problem, three teachers, optionally a non-finite teacher row."
    from rmkd_nb.cache import TeacherCache
    g = np.random.default_rng(seed)
    x = g.normal(size=(N_SYN + 32, D_SYN)).astype(np.float32); y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    idx = np.arange(N_SYN) + 1000
    logits = np.stack([np.stack([-x[:N_SYN, 0] * s, x[:N_SYN, 0] * s], 1) + g.normal(size=(N_SYN, 2))
                       for s in (1, 2, 3)], 1)
    if bad_idx is not None: logits[list(idx).index(bad_idx), 1, 0] = bad_value
    cache = TeacherCache.from_arrays(logits, y[:N_SYN], idx=idx, teacher_names=["t0", "t1", "t2"],
                                     label_names=["neg", "pos"])
    train = [{"x": torch.from_numpy(x[i]), "label": int(y[i]), "idx": int(idx[i])} for i in range(N_SYN)]
    dev = [{"x": torch.from_numpy(x[i]), "label": int(y[i]), "idx": 5000 + i} for i in range(N_SYN, N_SYN + 32)]
    return cache, train, dev

def _mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(D_SYN, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))

def _syn_cfg(out, **kw):
    return DistillConfig.from_dict({"task": "sst2", "output_dir": str(out), "epochs": 2.0, "batch_size": 8, "lr": 1e-2,
                                    "seed": 0, "device": "cpu", "precision": "fp32", "save_every": 1,
                                    "strategy": "uniform"} | kw)

def _params(run) -> dict:
    from safetensors.torch import load_file
    sd = load_file(str(Path(run)/"student"/"model.safetensors"))
    return {k: v.numpy().tobytes() for k, v in sd.items()}

def _step_of(idx_value, seed=0, bs=8, epoch=0):
    """The (1-based, counted from the run's start) step whose batch holds example `idx_value` in `epoch` (from the
    trainer's own batch plan)."""
    from rmkd_nb.trainer import epoch_batches
    pos, per_epoch = idx_value - 1000, N_SYN // bs
    return epoch * per_epoch + next(s for s, shares in enumerate(epoch_batches(N_SYN, bs, seed, epoch), 1)
                                    if pos in shares[0])

def _third_batch_example(seed=0, bs=8):
    from rmkd_nb.trainer import epoch_batches
    return 1000 + epoch_batches(N_SYN, bs, seed, 0)[2][0][0]

class CheckpointWatch:
    "forward_fn wrapper: snapshots checkpoints/ at each training forward (i.e. after the previous step's checkpoint)."
    def __init__(self, run, fail_at=None):
        self.run, self.fail_at, self.calls, self.snap, self.batch_idx = Path(run), fail_at, 0, {}, None
    def __call__(self, model, batch):
        out = model(batch["x"])
        if model.training:
            self.calls += 1; self.snap = snapshot(self.run/"checkpoints")
            if self.calls == self.fail_at: self.batch_idx = batch["idx"].tolist(); out = out * NAN
        return out, None

def _assert_last_good_checkpoint(run, watch, fault_step, what):
    from rmkd_nb.checkpoints import find_checkpoints
    ck = find_checkpoints(run)
    assert ck and ck[-1][0] == fault_step - 1, (f"{what}: checkpoints after the fault at step {fault_step}: "
                                                f"{[s for s, _ in ck]}")
    keep = {k: v for k, v in watch.snap.items() if not k.startswith(".")}
    assert_unchanged(keep, Path(run)/"checkpoints", f"{what}: the checkpoints")

@pytest.mark.parametrize("value", [NAN, INF])
def test_nonfinite_teacher_logits_in_the_cache(tmp_path, value):
    from rmkd_nb.trainer import DistillTrainer, NumericFault, find_checkpoints
    bad = _third_batch_example(); step = _step_of(bad)
    cache, train, dev = _synthetic(bad_idx=bad, bad_value=value)
    assert list(cache.nonfinite("train")) == [bad]
    msg = rf"non-finite teacher output at step {step}, example idx \[{bad}\]"
    w = CheckpointWatch(tmp_path/"stop")
    with pytest.raises(NumericFault, match=msg) as e:
        DistillTrainer(_syn_cfg(tmp_path/"stop"), _mlp(), train, dev, cache, forward_fn=w).train()
    _assert_last_good_checkpoint(tmp_path/"stop", w, step, "NaN teacher row")
    # the last good checkpoint holds exactly the clean run's student after step-1
    clean, _, _ = _synthetic()
    class Grab:
        def on_step(self, tr, rec):
            if rec["step"] == step - 1: self.sd = {k: v.detach().clone() for k, v in tr.student.state_dict().items()}
    g = Grab(); DistillTrainer(_syn_cfg(tmp_path/"clean"), _mlp(), train, dev, clean, callbacks=[g]).train()
    ck = dict(find_checkpoints(tmp_path/"stop"))[step - 1]
    from safetensors.torch import load_file
    saved = load_file(str(ck/"model.safetensors"))
    assert saved.keys() == g.sd.keys() and all(torch.equal(saved[k], g.sd[k]) for k in saved), \
        f"checkpoint step-{step - 1} differs from the clean run's student after step {step - 1}"
    # it loads: resuming the same run stops again at the same step, with the same message, the checkpoints untouched
    w2 = CheckpointWatch(tmp_path/"stop")
    with pytest.raises(NumericFault, match=msg):
        DistillTrainer(_syn_cfg(tmp_path/"stop"), _mlp(), train, dev, cache, forward_fn=w2).train()
    assert w2.calls == 1, f"the resumed run did not start at step {step} (it made {w2.calls} training forwards)"
    _assert_last_good_checkpoint(tmp_path/"stop", w2, step, "NaN teacher row, resumed")
    _COUNTS["resumed"] += 1
    # on_nan="skip": the batch is skipped, training goes on
    res = DistillTrainer(_syn_cfg(tmp_path/"skip", on_nan="skip"), _mlp(), train, dev, cache).train()
    skips = [r for r in _metrics_rows(tmp_path/"skip") if r["type"] == "skip"]
    assert [(r["step"], bad in r["idx"]) for r in skips] == [(step, True), (_step_of(bad, epoch=1), True)], skips
    assert res["skipped"] == 2 * 8 and all(math.isfinite(v) for v in res["final"].values()), res
    record("numeric", f"teacher logit {value} in the cache (example {bad})",
           f"stop: {e.value.args[0][:80]}...; checkpoints up to step-{step - 1} unchanged and equal to the clean run's "
           f"state; resuming stops again at step {step}. skip: the batches at steps {[r['step'] for r in skips]} "
           f"skipped and "
           f"logged, training finished")

def test_loss_becomes_nan(tmp_path):
    from rmkd_nb.trainer import DistillTrainer, NumericFault
    cache, train, dev = _synthetic()
    w = CheckpointWatch(tmp_path/"stop", fail_at=5)
    with pytest.raises(NumericFault, match=r"non-finite loss at step 5, example idx \[") as e:
        DistillTrainer(_syn_cfg(tmp_path/"stop"), _mlp(), train, dev, cache, forward_fn=w).train()
    assert all(str(i) in str(e.value)
               for i in w.batch_idx), f"the message does not name the batch's examples {w.batch_idx}: {e.value}"
    _assert_last_good_checkpoint(tmp_path/"stop", w, 5, "NaN loss")
    res = DistillTrainer(_syn_cfg(tmp_path/"stop"), _mlp(), train, dev, cache).train()   # resume from step-4
    DistillTrainer(_syn_cfg(tmp_path/"clean"), _mlp(), train, dev, cache).train()
    assert _params(tmp_path/"stop") == _params(tmp_path/"clean"), ("resuming from the last good checkpoint differs "
                                                                   "from the clean run")
    _COUNTS["resumed"] += 1
    w2 = CheckpointWatch(tmp_path/"skip", fail_at=5)
    res = DistillTrainer(_syn_cfg(tmp_path/"skip", on_nan="skip"), _mlp(), train, dev, cache, forward_fn=w2).train()
    skips = [r for r in _metrics_rows(tmp_path/"skip") if r["type"] == "skip"]
    assert [(r["step"], r["idx"]) for r in skips] == [(5, w2.batch_idx)] and res["skipped"] == 8, skips
    assert all(math.isfinite(v) for v in res["final"].values())
    record("numeric", "student forward returns NaN at step 5 (loss NaN)",
           f"stop: {str(e.value)[:90]}...; checkpoints up to step-4 unchanged, resume = clean run. skip: step 5 "
           f"skipped and logged")

def _register_boom():
    "A strategy (uniform weights) whose update returns an infinite reward for one example at step `at`."
    from rmkd_nb.weighting import STRATEGIES, WeightingStrategy, register_strategy
    if "robust_boom" in STRATEGIES: return
    @register_strategy("robust_boom")
    class Boom(WeightingStrategy):
        def __init__(self, at=6): self.at = at
        def weights(self, s): return torch.full(s.teacher_ce.shape, 1 / s.num_teachers)
        def update(self, s, w, fb):
            r = torch.ones(len(s.idx))
            if s.step == self.at: r[2] = INF
            return {"rewards": r, "reward_mean": float(r.mean())}

def test_reward_explodes(tmp_path):
    from rmkd_nb.trainer import DistillTrainer, NumericFault
    _register_boom()
    cache, train, dev = _synthetic()
    w = CheckpointWatch(tmp_path/"stop")
    with pytest.raises(NumericFault, match=r"non-finite reward at step 6, example idx \[(\d+)\]") as e:
        DistillTrainer(_syn_cfg(tmp_path/"stop", strategy="robust_boom"), _mlp(), train, dev, cache,
                       forward_fn=w).train()
    assert int(re.search(r"idx \[(\d+)\]", str(e.value))[1]) in range(1000, 1064)
    _assert_last_good_checkpoint(tmp_path/"stop", w, 6, "infinite reward")
    res = DistillTrainer(_syn_cfg(tmp_path/"skip", strategy="robust_boom", on_nan="skip"), _mlp(), train, dev,
                         cache).train()
    skips = [r for r in _metrics_rows(tmp_path/"skip") if r["type"] == "skip"]
    assert ([(r["step"], r["what"]) for r in skips] == [(6, "reward")]
            and all(math.isfinite(v) for v in res["final"].values())), skips
    record("numeric", "a strategy's update returns an infinite reward at step 6",
           f"stop: {str(e.value)[:80]}...; checkpoints up to step-5 unchanged. skip: logged, training finished")

def _register_huge_reward():
    from rmkd_nb.agent import REWARDS, register_reward, reward_kd_lookahead
    if "robust_x1e30" in REWARDS: return
    register_reward("robust_x1e30", counterfactual=True)(lambda *a, **k: reward_kd_lookahead(*a, **k) * 1e30)

@pytest.mark.parametrize("tamed", [True, False], ids=["default", "no-normalisation-no-clipping"])
def test_agent_reward_scaled_by_1e30(tmp_path, tamed):
    """The RL agent with a reward 1e30 times too large (finite in float32, beyond the float16 range of the weight log):
    the trainer must stop with the step and the example ids, or log what happened (finite rewards); and nothing may
    turn NaN."""
    from rmkd_nb.trainer import DistillTrainer, NumericFault, WeightLog
    _register_huge_reward()
    cache, train, dev = _synthetic()
    opts = {"reward": "robust_x1e30"} | ({} if tamed else {"normalize_advantage": False, "max_grad_norm": 0})
    tr = DistillTrainer(_syn_cfg(tmp_path/"r", strategy="rl", strategy_options=opts), _mlp(), train, dev, cache)
    try: res = tr.train(); stop = None
    except NumericFault as e: res, stop = None, e
    pol = tr.strategy.policy
    assert all(torch.isfinite(p).all() for p in pol.parameters()), "the agent's policy turned non-finite silently"
    student = torch.cat([p.detach().flatten() for p in tr.student.parameters()])
    assert torch.isfinite(student).all(), "the student turned non-finite"
    log = WeightLog.read(tmp_path/"r")
    probs = log["probs"] if "probs" in log else np.zeros(0)   # a stop at the first agent step leaves no probs rows
    assert np.isfinite(probs.astype(np.float32)).all() and np.isfinite(log["weights"].astype(np.float32)).all(), \
        "non-finite probabilities/weights in the weight log"
    lr = log["rewards"].astype(np.float32) if "rewards" in log else np.zeros(0)
    moved = float(pol.w.abs().sum()) if hasattr(pol, "w") else float("nan")
    if stop is not None:
        assert re.search(r"at step \d+, example idx \[\d+",
                         str(stop)), f"the NumericFault does not name the step and the examples: {stop}"
        happened = f"stopped: {str(stop)[:100]}"
    else:
        happened = (f"finished, final {res['final']}; {int(np.isinf(lr).sum())} of {lr.size} logged rewards are inf; "
                    f"policy weights |w|={moved:.3g}")
        record("numeric",
               f"RL agent with its reward x1e30 "
               f"({'default options' if tamed else 'normalize_advantage=False, max_grad_norm=0'})", happened)
        if not np.isfinite(lr).all(): pytest.fail(
            f"rewards of ~1e30 went through without a word: the run finished, {int(np.isinf(lr).sum())} of {lr.size} "
            f"rewards are stored as inf in the weight log (float16), and the agent's policy feature weights sum to "
            f"|w|={moved:.3g} "
            "(0: it learned nothing from the rewards). Expected a NumericFault('reward', step, idx) for rewards the "
            "weight log "
            "cannot hold (|r| > 65504), or on_nan='skip' behaviour")
        return
    record("numeric",
           f"RL agent with its reward x1e30 "
           f"({'default options' if tamed else 'normalize_advantage=False, max_grad_norm=0'})",
           happened + "; policy, student, weights and probabilities finite")

def test_strategy_weights_nan(tmp_path):
    from rmkd_nb.trainer import DistillTrainer, NumericFault
    from rmkd_nb.weighting import STRATEGIES, WeightingStrategy, register_strategy
    if "robust_nanw" not in STRATEGIES:
        @register_strategy("robust_nanw")
        class NanW(WeightingStrategy):
            def weights(self, s):
                w = torch.full(s.teacher_ce.shape, 1 / s.num_teachers)
                if s.step == 3: w[1, 0] = NAN
                return w
    cache, train, dev = _synthetic()
    with pytest.raises(NumericFault, match=r"non-finite .* at step 3, example idx \[\d+") as e:
        DistillTrainer(_syn_cfg(tmp_path/"r", strategy="robust_nanw"), _mlp(), train, dev, cache).train()
    record("numeric", "a strategy returns a NaN weight at step 3", f"stop: {str(e.value)[:100]}")

# ---------------------------------------------------------------------------------------------------------------
# 4. Memory stays bounded: a 500k-example, 4-teacher cache read memory-mapped; the weight log in chunks
# ---------------------------------------------------------------------------------------------------------------
class _FastTeacher:
    "A teacher following the protocol whose outputs are cheap functions of the example's number."
    def __init__(self, k, D): self.name, self.label_names, self.k, self.D = f"fast{k}", ["negative", "positive"], k, D
    def fingerprint(self): return f"fast-{self.k}-{self.D}"
    def predict(self, texts, text_pairs=None):
        i = np.fromiter((int(t) for t in texts), np.int64, len(texts)).astype(np.float64)
        z = np.sin(i * (0.37 + self.k))[:, None] * np.array([1.0, -1.0])
        pooled = np.cos(i[:, None] * 1e-4 * (np.arange(self.D) + 1 + self.k))
        return {"logits": z.astype(np.float32), "pooled": pooled.astype(np.float32)}

class _Columns:
    """A minimal dataset (columns as lists) for TeacherCache.build. With a datasets.Dataset of 500k rows the build
    spends minutes in per-row access (`ds['text'][i]` on a lazy Column); this keeps the test about memory."""
    def __init__(self, cols:dict, names:list):
        from datasets import ClassLabel
        self.cols, self.features = cols, {"label": ClassLabel(names=names)}
    def __len__(self): return len(self.cols["idx"])
    def __getitem__(self, k): return self.cols[k]
    @property
    def column_names(self): return list(self.cols)

class _PrivatePeak:
    "Samples this process's private memory (RssAnon + RssShmem) every 5 ms in a thread, while in the `with` block."
    def __enter__(self):
        import threading
        self.start = self.peak = self._now(); self._stop = threading.Event()
        def loop():
            while not self._stop.wait(0.005): self.peak = max(self.peak, self._now())
        self._t = threading.Thread(target=loop, daemon=True); self._t.start(); return self
    def __exit__(self, *a): self._stop.set(); self._t.join(); self.peak = max(self.peak, self._now())
    @staticmethod
    def _now():
        d = dict(l.split(":", 1) for l in open("/proc/self/status"))
        return sum(int(d[k].split()[0]) for k in ("RssAnon", "RssShmem"))
    @property
    def grew_mb(self): return (self.peak - self.start) / 1024

N_BIG, K_BIG, D_BIG = 500_000, 4, 32
PRIVATE_BOUND_MB = 64          # the bound on private memory growth while reading the whole cache
LOG_BOUND_MB = 48              # ... and while writing a weight log of 2M rows

def test_memory_bounded_for_a_500k_example_cache(tmp_path):
    from datasets import DatasetDict
    from rmkd_nb.cache import TeacherCache
    ds = _Columns({"idx": np.arange(N_BIG), "text": [str(i) for i in range(N_BIG)], "label": np.arange(N_BIG) % 2},
                  ["negative", "positive"])
    t0 = time.time()
    with _PrivatePeak() as build_mem:
        cache = TeacherCache.build([_FastTeacher(k, D_BIG) for k in range(K_BIG)], DatasetDict({"train": ds}),
                                   tmp_path/"cache",
                                   splits=("train",), batch_size=65536, progress=False)
    build_s = time.time() - t0
    size = sum(f.stat().st_size for f in cache.path.rglob("*.npy")); del cache, ds
    r = subprocess.run([PY, str(TESTS/"_robust_mem.py"), str(next((tmp_path/"cache").iterdir())), str(tmp_path/"wl"),
                        str(2_000_000)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads(r.stdout.strip().splitlines()[-1])
    assert m["seen"] == N_BIG and m["teachers"] == K_BIG and m["pooled_dim"] == D_BIG, m
    grow = (m["private_peak_kb"] - m["private_start_kb"]) / 1024
    maxrss_grow = (m["ru_maxrss_end_kb"] - m["ru_maxrss_start_kb"]) / 1024
    log_grow = (m["log_private_peak_kb"] - m["log_private_start_kb"]) / 1024
    _FACTS["500k cache"] = (f"{N_BIG:,} examples x {K_BIG} teachers (logits, CE, pooled D={D_BIG} float16): "
                            f"{size / 2**20:.0f} MiB on disk, "
                            f"built in {build_s:.0f} s by TeacherCache.build from plain column lists, with private "
                            f"memory of the building process "
                            f"+{build_mem.grew_mb:.0f} MiB at most; "
                            f"read once in shuffled batches of 256 in a fresh process: private memory "
                            f"(RssAnon+RssShmem) grew "
                            f"{grow:.1f} MiB (bound {PRIVATE_BOUND_MB} MiB); ru_maxrss went from "
                            f"{m['ru_maxrss_start_kb'] / 1024:.0f} to "
                            f"{m['ru_maxrss_end_kb'] / 1024:.0f} MiB (+{maxrss_grow:.0f} MiB; its peak is set while "
                            f"importing torch, whose "
                            f"shared libraries count as resident file pages); RssFile at the end "
                            f"{m['file_end_kb'] / 1024:.0f} MiB "
                            "(the libraries and the mapped cache pages: clean page cache the kernel can drop, not the "
                            "process's own memory)")
    _FACTS["weight log"] = (f"{m['log_rows']:,} rows written with chunk_rows={m['chunk_rows']}: at most "
                            f"{m['max_buffered_rows']} rows "
                            f"buffered, private memory grew {log_grow:.1f} MiB (bound {LOG_BOUND_MB} MiB)")
    assert grow < PRIVATE_BOUND_MB and grow < size / 2**20 / 3, (f"private memory grew {grow:.0f} MiB reading a "
                                                                 f"{size / 2**20:.0f} MiB cache")
    assert maxrss_grow < PRIVATE_BOUND_MB, (f"ru_maxrss grew {maxrss_grow:.0f} MiB reading a {size / 2**20:.0f} MiB "
                                            "cache")
    assert build_mem.grew_mb < size / 2**20, (f"building the cache took {build_mem.grew_mb:.0f} MiB of private memory: "
                                              f"the whole cache ({size / 2**20:.0f} MiB) was held")
    assert m["max_buffered_rows"] < m["chunk_rows"] and log_grow < LOG_BOUND_MB, m
    record("memory",
           f"{N_BIG:,}-example cache, {K_BIG} teachers ({size / 2**20:.0f} MiB) read once in shuffled batches of 256",
           f"private memory +{grow:.1f} MiB (bound {PRIVATE_BOUND_MB} MiB); ru_maxrss +{maxrss_grow:.0f} MiB of which "
           f"mapped file pages "
           f"{m['file_end_kb'] / 1024:.0f} MiB")
    record("memory", f"weight log of {m['log_rows']:,} rows, chunk_rows={m['chunk_rows']}",
           f"at most {m['max_buffered_rows']} rows buffered; private memory +{log_grow:.1f} MiB")

def test_weight_log_buffers_at_most_chunk_rows(tmp_path):
    from rmkd_nb.trainer import DistillTrainer, WeightLog
    wl = WeightLog(tmp_path/"a", ["t0", "t1", "t2"], chunk_rows=100)
    rng, rows = np.random.default_rng(0), []
    for step in range(1, 51):
        w = rng.random((32, 3)); rows.append(w.astype(np.float16))
        wl.append(step, 0, np.arange(32) + 32 * step, w)
        assert wl.buffered_rows < 100, f"{wl.buffered_rows} rows buffered after step {step} (chunk_rows=100)"
    wl.flush()
    chunks = sorted((tmp_path/"a"/"weightlog").glob("chunk-*.npz"))
    sizes = [len(np.load(c)["step"]) for c in chunks]
    assert max(sizes) <= 100 + 31 and len(chunks) == math.ceil(50 * 32 / 128), sizes
    assert np.array_equal(WeightLog.read(tmp_path/"a")["weights"], np.concatenate(rows))
    # the trainer's own log: buffered rows stay under its chunk_rows at every step
    cache, train, dev = _synthetic()
    seen = []
    class Watch:
        def on_step(self, tr, rec): seen.append((tr.weight_log.buffered_rows, tr.weight_log.chunk_rows))
    DistillTrainer(_syn_cfg(tmp_path/"t"), _mlp(), train, dev, cache, callbacks=[Watch()]).train()
    assert seen and all(b < c for b, c in seen)
    assert len(WeightLog.read(tmp_path/"t")["idx"]) == 2 * N_SYN
    record("memory", "WeightLog chunking (chunk_rows=100, 50 steps x 32 rows) and the trainer's log",
           f"never more than {max(b for b, _ in seen) if seen else 0} (trainer) / 99 (direct) rows buffered; chunks of "
           f"{min(sizes)}..{max(sizes)} rows; "
           "everything reads back")

# ---------------------------------------------------------------------------------------------------------------
# 5. Determinism: same seed and config -> the same bits on the CPU
# ---------------------------------------------------------------------------------------------------------------
def test_same_seed_same_bits_on_cpu(tmp_path, finished):
    cfg = finished["cfg"] | {"output_dir": str(tmp_path/"again")}
    run_experiment(cfg, figures=False)
    assert_same_run(finished["run"], tmp_path/"again", "two runs with the same seed and config")
    record("determinism", "the same tiny RTE run (rl agent) twice, in one process",
           "metrics, weight log and student bit-identical (across processes: the SIGKILL test; other seeds differ: the "
           "sweep test)")
