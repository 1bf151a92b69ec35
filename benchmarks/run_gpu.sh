#!/usr/bin/env bash
# GPU tests and benchmarks on a lent GPU machine (no network).
#
#   bash benchmarks/run_gpu.sh          # from the repository root (or anywhere)
#
# 1. installs the wheels in .whl/ (cuCIM, librosa, ...) into /tmp/site, if present;
# 2. installs mmfeat offline (pip install --no-deps --no-index --no-build-isolation .,
#    falling back to an editable install);
# 3. prints the device and library versions and `mmfeat info`;
# 4. runs the tests marked gpu (log: $OUT/gpu_tests.log when OUT is set);
# 5. runs benchmarks/gpu_bench.py on a device-resident batch of 64 1024x1024 images
#    and writes $DEST/gpu_image.json, DEST=${OUT:-benchmarks/results};
# 6. runs the audio (vs torchaudio), text and whole-pipeline GPU benchmarks
#    ($DEST/gpu_audio.json, gpu_text.json, gpu_pipeline.json).
#
# Environment: PYTHON (default python3), MMFEAT_GPU_N / MMFEAT_GPU_SIZE (batch, default
# 64 / 1024), MMFEAT_GPU_TEST_TIMEOUT (seconds for the test step, default 300),
# MMFEAT_GPU_BENCH_ARGS (extra arguments for gpu_bench.py), MMFEAT_GPU_AUDIO_N (clips,
# default 10000), MMFEAT_GPU_TEXT_ARGS (extra arguments for gpu_bench_text.py, e.g.
# "--mb 64,256,1024 --budget-s 400"), MMFEAT_GPU_PIPELINE_N (demo items, default
# 100000), MMFEAT_GPU_SKIP.
# The exit status is non-zero when the install, the gpu tests or the benchmark fail;
# the benchmark runs even when tests fail.
set -eu

cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DEST=${OUT:-benchmarks/results}
mkdir -p "$DEST"
LOG_DIR=${OUT:-}
export PYTHONUNBUFFERED=1
# one Numba cache for the tests and the benchmark, wherever site-packages lives
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-/tmp/mmfeat-numba-cache}

section() { printf '\n=== %s ===\n' "$*"; }
# the informative lines of a failed pip run (its last lines are boilerplate)
pip_why() { grep -i -E "error|invalid|must|not found|no matching" | grep -v -E "^hint|^note" | head -n 8; }

section "wheels from .whl/"
if ls .whl/*.whl >/dev/null 2>&1; then
    if "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl; then
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
        echo "installed into /tmp/site: $(ls .whl | tr '\n' ' ')"
    else
        echo "warning: installing .whl/*.whl failed; cuCIM anchors will be skipped" >&2
    fi
else
    echo "no .whl/ directory: cuCIM anchors will be skipped"
fi

section "install mmfeat (offline)"
if ! err=$("$PY" -m pip install -q --no-deps --no-index --no-build-isolation . 2>&1); then
    echo "non-editable install failed:"
    echo "$err" | pip_why
    echo "trying an editable install"
    if ! err2=$("$PY" -m pip install -q --no-deps --no-index --no-build-isolation -e . 2>&1); then
        echo "editable install failed too:"
        echo "$err2" | pip_why
        # Last resort: the installed layout, copied (mmfeat.kernels lives in kernels/,
        # outside src/mmfeat, so a symlink of src/mmfeat alone would not do).
        if [ -d src/mmfeat ] && [ -d kernels ]; then
            shim=/tmp/mmfeat-src
            rm -rf "$shim" && mkdir -p "$shim"
            cp -r src/mmfeat "$shim/mmfeat"
            rm -rf "$shim/mmfeat/kernels" && cp -r kernels "$shim/mmfeat/kernels"
            export PYTHONPATH=$shim${PYTHONPATH:+:$PYTHONPATH}
            echo "warning: pip could not build mmfeat here (needs setuptools>=77 and wheel" >&2
            echo "         for --no-build-isolation); running from a copy in $shim" >&2
        else
            echo "error: cannot install mmfeat offline: pip install . and -e . failed" >&2
            exit 1
        fi
    fi
fi
"$PY" -c "import mmfeat, mmfeat.kernels; print('mmfeat', mmfeat.__version__, 'from', mmfeat.__file__)"

section "device and versions"
nvidia-smi || echo "nvidia-smi not available"
"$PY" - <<'EOF'
import importlib, platform
print("python", platform.python_version())
for name in ("numpy", "numba", "numba_cuda", "cupy", "cucim", "skimage", "cv2", "torch"):
    try:
        mod = importlib.import_module(name)
        print(f"{name:10s} {getattr(mod, '__version__', '?')}")
    except Exception as exc:
        print(f"{name:10s} not importable ({type(exc).__name__}: {exc})")
try:
    import cupy
    print("cupy CUDA runtime", cupy.cuda.runtime.runtimeGetVersion(),
          "driver", cupy.cuda.runtime.driverGetVersion(),
          "devices", cupy.cuda.runtime.getDeviceCount())
except Exception as exc:
    print("cupy runtime query failed:", exc)
EOF
"$PY" -m mmfeat.cli info || echo "warning: mmfeat info failed" >&2

section "gpu tests"
test_cmd=("$PY" -m pytest -q -m gpu --continue-on-collection-errors tests)
if command -v timeout >/dev/null 2>&1; then
    test_cmd=(timeout "${MMFEAT_GPU_TEST_TIMEOUT:-300}" "${test_cmd[@]}")
fi
set +e
if [ -n "$LOG_DIR" ]; then
    "${test_cmd[@]}" 2>&1 | tee "$LOG_DIR/gpu_tests.log"
    test_rc=${PIPESTATUS[0]}
else
    "${test_cmd[@]}"
    test_rc=$?
fi
set -e
case $test_rc in
    0) echo "gpu tests passed" ;;
    5) echo "no tests marked gpu were collected"; test_rc=0 ;;
    124) echo "gpu tests timed out after ${MMFEAT_GPU_TEST_TIMEOUT:-300} s" ;;
    *) echo "gpu tests failed (exit $test_rc)" ;;
esac

section "gpu benchmark"
bench_cmd=("$PY" benchmarks/gpu_bench.py --n "${MMFEAT_GPU_N:-64}" --size "${MMFEAT_GPU_SIZE:-1024}"
           --json "$DEST/gpu_image.json")
# word splitting of the extra arguments is intended
# shellcheck disable=SC2206
bench_cmd+=(${MMFEAT_GPU_BENCH_ARGS:-})
set +e
if [ -n "$LOG_DIR" ]; then
    "${bench_cmd[@]}" 2>&1 | tee "$LOG_DIR/gpu_bench.log"
    bench_rc=${PIPESTATUS[0]}
else
    "${bench_cmd[@]}"
    bench_rc=$?
fi
set -e

# The other suites: each runs even when an earlier one failed; its exit status is
# collected for the summary. Skip one with MMFEAT_GPU_SKIP="audio text pipeline".
extra_rc=0
extra_bench() {  # name, then the command; log in $LOG_DIR/gpu_bench_<name>.log
    local name=$1
    shift
    case " ${MMFEAT_GPU_SKIP:-} " in *" $name "*) echo "skipped $name"; return 0 ;; esac
    section "gpu $name benchmark"
    set +e
    "$@" 2>&1 | tee "${LOG_DIR:-/tmp}/gpu_bench_$name.log"
    local rc=${PIPESTATUS[0]}
    set -e
    echo "$name benchmark: exit $rc"
    if [ "$rc" -ne 0 ]; then extra_rc=1; fi
}
if [ -f benchmarks/gpu_bench_audio.py ]; then
    extra_bench audio "$PY" benchmarks/gpu_bench_audio.py --n "${MMFEAT_GPU_AUDIO_N:-10000}" \
        --json "$DEST/gpu_audio.json"
fi
if [ -f benchmarks/gpu_bench_text.py ]; then
    # shellcheck disable=SC2086
    extra_bench text "$PY" benchmarks/gpu_bench_text.py --json "$DEST/gpu_text.json" \
        ${MMFEAT_GPU_TEXT_ARGS:-}
fi
# The whole demo pipeline on the device, time per stage (generation is on the CPU
# and not part of the extraction time).
extra_bench pipeline "$PY" benchmarks/bench_pipeline.py --backend cuda --skip-baseline \
    --n "${MMFEAT_GPU_PIPELINE_N:-100000}" --json "$DEST/gpu_pipeline.json"

section "summary"
echo "gpu tests: exit $test_rc; image benchmark: exit $bench_rc; other benchmarks:" \
     "$([ "$extra_rc" -eq 0 ] && echo ok || echo 'some failed')"
echo "results in $DEST/"
if [ "$test_rc" -ne 0 ] || [ "$bench_rc" -ne 0 ] || [ "$extra_rc" -ne 0 ]; then
    exit 1
fi
