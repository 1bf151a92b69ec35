#!/usr/bin/env bash
# GPU tests and benchmarks on a lent GPU machine (no network), in one 7-minute window.
#
#   bash benchmarks/run_gpu.sh           # from anywhere; results in $OUT (or benchmarks/results/gpu_run)
#   bash benchmarks/run_gpu.sh --plan    # the steps and their time budgets, nothing run
#
# No pip install of mmfeat: the package runs from the checkout through a shim on
# PYTHONPATH ($MMFEAT_GPU_WORK/path/mmfeat: a symlink to every entry of src/mmfeat,
# plus mmfeat/kernels -> kernels/, the mapping pyproject.toml gives setuptools).
# Wheels in .whl/ (cuCIM, librosa: ../shared/tools/device-wheels) are unpacked into
# $MMFEAT_GPU_WORK/site, also on PYTHONPATH. One NUMBA_CACHE_DIR serves every step.
#
# Steps run in priority order, each under its own `timeout`, and each writes
# $OUT/NN_<step>.json (status ok | failed | timeout | skipped, its reason, exit code,
# seconds, budget, the step's own results and its log) as soon as it ends, so a run
# cut short keeps every step before the cut. One file per step (8 in all) so that
# a lent machine's tool, which brings back 8 files, brings back all of them; the
# logs also stream to stdout. A step whose tool is missing (CuPy, a GPU, ncu)
# records "skipped" with the reason. The whole run stops at MMFEAT_GPU_DEADLINE_S
# (420 s): each step's timeout is its budget, or what is left if that is less; the
# last step (the pipeline) gets all the time that is left.
#
# Issue 18's ops are the lowest priority of their steps: hog, local_binary_pattern and
# graycomatrix + graycoprops close the image step (gpu_bench.py --texture-budget-s,
# against scikit-image on the CPU; cuCIM has none of the three, the JSON says so),
# chroma_stft and spectral_contrast close the audio step (gpu_bench_audio.py
# --chroma-budget-s, against librosa on the CPU; torchaudio has neither). Each script
# writes its JSON before that section and after each of its ops, so a step stopped
# there keeps what came before. (They are not steps of their own: a lent machine
# brings back 8 files, one a step.)
#
# Environment: PYTHON (python3), OUT, MMFEAT_GPU_DEADLINE_S (420), MMFEAT_GPU_WORK
# (/tmp/mmfeat-gpu), NUMBA_CACHE_DIR ($MMFEAT_GPU_WORK/numba-cache),
# MMFEAT_GPU_SKIP ("ncu pipeline": steps to skip), MMFEAT_GPU_SCRIPT_TINY=1 (tiny
# sizes: with NUMBA_ENABLE_CUDASIM=1, the whole script runs without a GPU;
# tests/test_run_gpu_script.py does that; MMFEAT_GPU_BUDGET_SCALE, 6 there, stretches
# every budget for the simulator). Exit status: 1 when a step failed or timed
# out, else 0.
set -u

# name | budget (s) | what
STEPS=(
    "device|15|device, driver, clocks (nvidia-smi -q), library versions"
    "tests|100|pytest -m gpu tests/test_audio_gpu.py tests/test_text_gpu.py (first hardware run)"
    "kernels|50|bare kernels timed with CUDA events (gpu_kernel_events.py, 16 x 1024^2 images, 2000 clips, 4 MB text)"
    "image|55|image ops vs cupyx/cuCIM (gpu_bench.py --n 16 --size 1024, no CPU baselines), then hog/lbp/glcm vs scikit-image in 10 s"
    "ncu|40|ncu --section SpeedOfLight on sobel and color_histogram (--clock-control none), where ncu exists"
    "audio|53|audio vs torchaudio (gpu_bench_audio.py --n 10000, librosa on 64 clips), then chroma/contrast vs librosa in 8 s"
    "text|80|text at 16 and 64 MB vs scikit-learn (gpu_bench_text.py --mb 16,64)"
    "pipeline|12|the demo pipeline at 100,000 items (bench_pipeline.py --backend cuda), if time is left"
)
SETUP_BUDGET=15  # the shim, the wheels, the device probe
DEADLINE=${MMFEAT_GPU_DEADLINE_S:-420}

plan() {
    local total=$SETUP_BUDGET i=1
    printf '%-3s %-9s %6s  %s\n' "#" step budget what
    printf '%-3s %-9s %5ss  %s\n' 0 setup "$SETUP_BUDGET" "PYTHONPATH shim, wheels from .whl/, device probe"
    for s in "${STEPS[@]}"; do
        IFS='|' read -r name budget what <<<"$s"
        printf '%-3s %-9s %5ss  %s\n' "$i" "$name" "$budget" "$what"
        total=$((total + budget))
        i=$((i + 1))
    done
    printf 'total %ss of a %ss window (MMFEAT_GPU_DEADLINE_S)\n' "$total" "$DEADLINE"
}

if [ "${1:-}" = "--plan" ]; then
    plan
    exit 0
fi

T_START=$(date +%s)
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
PY=${PYTHON:-python3}
OUT=${OUT:-$ROOT/benchmarks/results/gpu_run}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=${MMFEAT_GPU_WORK:-/tmp/mmfeat-gpu}
mkdir -p "$WORK/res"
TINY=${MMFEAT_GPU_SCRIPT_TINY:-0}
# the simulator on a small shared CPU is far slower than any GPU: a tiny run stretches
# every budget (and the deadline) by this factor; the plan is the GPU's
SCALE=${MMFEAT_GPU_BUDGET_SCALE:-$([ "$TINY" = 1 ] && echo 6 || echo 1)}
DEADLINE=$((DEADLINE * SCALE))
export PYTHONUNBUFFERED=1
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-$WORK/numba-cache}
mkdir -p "$NUMBA_CACHE_DIR"

# --- setup: mmfeat from the checkout, the carried wheels ------------------------------
shim=$WORK/path
rm -rf "$shim" && mkdir -p "$shim/mmfeat"
for entry in "$ROOT"/src/mmfeat/*; do
    case $(basename "$entry") in __pycache__) continue ;; esac
    ln -s "$entry" "$shim/mmfeat/$(basename "$entry")"
done
ln -s "$ROOT/kernels" "$shim/mmfeat/kernels"
export PYTHONPATH=$shim${PYTHONPATH:+:$PYTHONPATH}
setup_notes=""
if ls .whl/*.whl >/dev/null 2>&1; then
    if "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" \
            .whl/*.whl >"$WORK/wheels.log" 2>&1; then
        export PYTHONPATH=$PYTHONPATH:$WORK/site
        setup_notes="wheels from .whl/: $(ls .whl | tr '\n' ' ')"
    else
        setup_notes="installing .whl/*.whl failed: $(tail -n 3 "$WORK/wheels.log" | tr '\n' ' ')"
    fi
else
    setup_notes="no .whl/ (../shared/tools/device-wheels): cuCIM and librosa anchors skipped"
fi
echo "$setup_notes"
# what the steps need: a GPU through CuPy (not under the simulator), ncu
gpu_why=$("$PY" - <<'EOF' 2>&1
import os
if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    print("NUMBA_ENABLE_CUDASIM=1 (simulator run, no GPU)")
else:
    try:
        import cupy
        n = cupy.cuda.runtime.getDeviceCount()
        print("" if n > 0 else "CuPy sees no CUDA device")
    except Exception as exc:
        print(f"no GPU through CuPy ({type(exc).__name__}: {exc})".replace("\n", " ")[:300])
EOF
)

# --- the step runner ---------------------------------------------------------------------
n_step=0
failed=0
write_json() {  # name status reason rc seconds budget result_json log
    "$PY" - "$@" <<'EOF'
import json, os, sys
name, status, reason, rc, secs, budget, result, log, path = sys.argv[1:10]
doc = {"step": name, "status": status, "reason": reason or None,
       "exit_code": None if rc == "" else int(rc), "seconds": float(secs),
       "budget_s": float(budget)}
if result.endswith(".xml") and os.path.isfile(result):
    import xml.etree.ElementTree as ET
    root = ET.parse(result).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    doc["result"] = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    doc["result"]["failed"] = [
        f"{c.get('classname')}::{c.get('name')}" for c in suite.iter("testcase")
        if c.find("failure") is not None or c.find("error") is not None]
elif result and os.path.isfile(result):
    try:
        with open(result) as f:
            doc["result"] = json.load(f)
    except ValueError as exc:
        doc["result_error"] = f"unreadable {result}: {exc}"
if log and os.path.isfile(log):
    with open(log, errors="replace") as f:
        text = f.read()
    doc["log"] = text[-200000:]
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=1)
os.replace(tmp, path)
EOF
}

# step NAME BUDGET NEEDS RESULT -- command...: NEEDS is "gpu", "ncu" or "-"
step() {
    local name=$1 budget=$(($2 * SCALE)) needs=$3 result=$4
    shift 5
    n_step=$((n_step + 1))
    local json
    json=$OUT/$(printf '%02d' "$n_step")_$name.json
    local log=$WORK/$name.log
    rm -f "$log" "$result"
    printf '\n=== %s (budget %ss) ===\n' "$name" "$budget"
    local why=""
    case " ${MMFEAT_GPU_SKIP:-} " in *" $name "*) why="MMFEAT_GPU_SKIP" ;; esac
    if [ -z "$why" ] && [ "$needs" = gpu ] && [ -n "$gpu_why" ]; then why=$gpu_why; fi
    if [ -z "$why" ] && [ "$needs" = ncu ]; then
        if ! command -v ncu >/dev/null 2>&1; then why="ncu not found on PATH"
        elif [ -n "$gpu_why" ]; then why=$gpu_why; fi
    fi
    local left=$((DEADLINE - ($(date +%s) - T_START)))
    if [ -z "$why" ] && [ "$left" -lt 5 ]; then why="no time left in the ${DEADLINE}s window"; fi
    if [ -n "$why" ]; then
        echo "skipped: $why"
        write_json "$name" skipped "$why" "" 0 "$budget" "" "" "$json"
        return 0
    fi
    local limit=$budget
    if [ "$name" = pipeline ] || [ "$left" -lt "$limit" ]; then limit=$left; fi
    local t0 rc status reason=""
    t0=$(date +%s.%N)
    timeout -k 5 "$limit" "$@" > >(tee "$log") 2>&1
    rc=$?
    wait  # the tee
    local secs
    secs=$("$PY" -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 2))" "$t0")
    case $rc in
        0) status=ok ;;
        124 | 137) status=timeout; reason="stopped after ${limit}s"; failed=1 ;;
        *) status=failed; reason="exit $rc"; failed=1 ;;
    esac
    echo "--- $name: $status ($secs s)"
    write_json "$name" "$status" "$reason" "$rc" "$secs" "$limit" "$result" "$log" "$json"
}

# --- the steps, in priority order ---------------------------------------------------------
R=$WORK/res
# PYRUN runs a script or "-m module"; in tiny mode with mmfeat.config's launch shapes
# shrunk as tests/cudasim does (the simulator runs one Python thread per CUDA thread)
PYRUN=("$PY")
if [ "$TINY" = 1 ]; then
    cat >"$WORK/tiny.py" <<'EOF'
import runpy, sys
import mmfeat.config as c
c.THREADS_PER_BLOCK, c.TILE_X, c.TILE_Y, c.HIST_BLOCKS_PER_IMAGE = 32, 8, 4, 2
sys.argv = sys.argv[1:]
if sys.argv[0] == "-m":
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    runpy.run_path(sys.argv[0], run_name="__main__")
EOF
    PYRUN=("$PY" "$WORK/tiny.py")
fi
if [ "$TINY" = 1 ]; then
    IMG=(--n 1 --size 32 --repeat 1 --cpu-n 0 --parity-n 1 --budget-s 20 --ops sobel
         --texture-budget-s 120 --glcm-levels 16)
    EVT=(--n 1 --size 64 --clips 2 --docs-mb 0.01 --repeat 1)
    NCU_N=1 NCU_SIZE=64
    AUD=(--n 4 --cpu-n 2 --repeat 1 --chroma-budget-s 60)
    TXT=(--mb 0.001,0.002 --sklearn-max-mb 0.0015 --parity-mb 0.001 --repeat 1 --budget-s 20)
    PIPE_N=16
    # bench_pipeline.py warms up on 64 demo items whatever --n is: over 10 minutes in
    # the simulator, so a tiny run takes the pipeline step through the cpu backend
    PIPE_BACKEND=cpu
else
    IMG=(--n 16 --size 1024 --repeat 5 --cpu-n 0 --parity-n 1 --budget-s 30
         --texture-budget-s 10 --texture-cpu-n 1)
    EVT=(--n 16 --size 1024 --clips 2000 --docs-mb 4 --repeat 5)
    NCU_N=64 NCU_SIZE=1024
    AUD=(--n 10000 --cpu-n 64 --repeat 3 --chroma-budget-s 8)
    TXT=(--mb 16,64 --repeat 2 --budget-s 70)
    PIPE_N=100000
    PIPE_BACKEND=cuda
fi

step device 15 - "$R/device.json" -- "$PY" - "$R/device.json" "$setup_notes" <<'EOF'
import importlib, json, os, platform, shutil, subprocess, sys
info = {"python": platform.python_version(), "setup": sys.argv[2],
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
        "pythonpath": os.environ.get("PYTHONPATH")}
for name in ("numpy", "numba", "numba_cuda", "cupy", "cucim", "torch", "torchaudio",
             "sklearn", "skimage", "cv2", "librosa", "pyarrow", "mmfeat"):
    try:
        mod = importlib.import_module(name)
        info[name] = getattr(mod, "__version__", "?")
    except Exception as exc:
        info[name] = f"not importable ({type(exc).__name__})"
import mmfeat
info["mmfeat_file"] = mmfeat.__file__
try:
    info["backends"] = {k: str(v) for k, v in mmfeat.backends().items()}
except Exception as exc:
    info["backends"] = f"{type(exc).__name__}: {exc}"
if shutil.which("nvidia-smi"):
    q = "name,driver_version,memory.total,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,power.limit,temperature.gpu,pstate"
    r = subprocess.run(["nvidia-smi", f"--query-gpu={q}", "--format=csv"], capture_output=True, text=True)
    info["nvidia_smi"] = r.stdout.strip() or r.stderr.strip()
    print(subprocess.run(["nvidia-smi", "-q", "-d", "CLOCK,PERFORMANCE"], capture_output=True, text=True).stdout[-4000:])
else:
    info["nvidia_smi"] = "nvidia-smi not found"
try:
    import cupy
    rt = cupy.cuda.runtime
    p = rt.getDeviceProperties(0)
    info["cuda"] = {"runtime": rt.runtimeGetVersion(), "driver": rt.driverGetVersion(),
                    "devices": rt.getDeviceCount(), "sm_count": p["multiProcessorCount"],
                    "cc": f"{p['major']}.{p['minor']}",
                    "memory_clock_khz": p["memoryClockRate"], "bus_bits": p["memoryBusWidth"]}
except Exception as exc:
    info["cuda"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(info, indent=1))
with open(sys.argv[1], "w") as f:
    json.dump(info, f, indent=1)
EOF

# pytest's junit XML is the step's result (summarised in the JSON); exit 5 "no tests
# ran" cannot happen: the files hold gpu tests, skipped without a GPU
step tests 100 - "$R/tests.xml" -- "${PYRUN[@]}" -m pytest -q -m gpu -p no:cacheprovider \
    --junitxml="$R/tests.xml" -o addopts="-ra --durations=10" \
    tests/test_audio_gpu.py tests/test_text_gpu.py

step kernels 50 gpu "$R/kernels.json" -- "${PYRUN[@]}" benchmarks/gpu_kernel_events.py "${EVT[@]}" \
    --json "$R/kernels.json"

step image 55 - "$R/image.json" -- "${PYRUN[@]}" benchmarks/gpu_bench.py "${IMG[@]}" --json "$R/image.json"

step ncu 40 ncu "$R/ncu.json" -- bash -c '
    "$1" benchmarks/ncu_speed_of_light.py --n "$2" --size "$3" --json "$4" --ncu ncu' _ \
    "$PY" "$NCU_N" "$NCU_SIZE" "$R/ncu.json"

step audio 53 - "$R/audio.json" -- "${PYRUN[@]}" benchmarks/gpu_bench_audio.py "${AUD[@]}" \
    --json "$R/audio.json"

step text 80 - "$R/text.json" -- "${PYRUN[@]}" benchmarks/gpu_bench_text.py "${TXT[@]}" \
    --json "$R/text.json" --quiet

step pipeline 12 - "$R/pipeline.json" -- "${PYRUN[@]}" benchmarks/bench_pipeline.py \
    --backend "$PIPE_BACKEND" --skip-baseline --n "$PIPE_N" --json "$R/pipeline.json"

printf '\n=== summary (%ss of %ss) ===\n' "$(($(date +%s) - T_START))" "$DEADLINE"
for f in "$OUT"/[0-9][0-9]_*.json; do
    "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(f\"{d['step']:9s} {d['status']:8s} {d['seconds']:7.1f}s  {d['reason'] or ''}\")" "$f"
done
echo "results in $OUT/"
exit $failed
