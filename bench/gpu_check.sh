#!/bin/bash
# The GPU check, run on a CUDA machine from the project root: `bash bench/gpu_check.sh [part...]`.
# parts: suite (the whole suite with LAMINA_TEST_DEVICE=cuda, in parallel), seeds (the seed
# programs), bench (bench/bench_training.py --device cuda: lamina against a hand-written torch
# loop, issue 13's workloads at their GPU sizes, 2 timed epochs after a warm-up). Each part is
# bounded in time so all three fit in about 10 minutes; logs go to $OUT (or /tmp/gpu-out).
# The bench part's knobs: WORKLOADS (default cnn,resnet,lstm,predict), STACKS (default
# torch,lamina,lamina-jit, and keras when it imports; bf16 ones: torch-bf16, lamina-bf16,
# lamina-jit-bf16), BENCH_SECONDS (the whole part, default 240), CHILD_SECONDS (one stack on one
# workload, default 100: a jit compile happens in the warm-up epoch). Results: $OUT/bench.json.
#
# Keras and the seed programs come from `.gpu/`, built on a CPU machine by
# `bash ../shared/gpu/prepare.sh` (the GPU image has torch but not Keras).
out=${OUT:-/tmp/gpu-out}
mkdir -p "$out"
if ls .gpu/whl/*.whl > /dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD/src KERAS_BACKEND=torch PYTHONUNBUFFERED=1 MPLBACKEND=Agg
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch, lamina; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
workers=$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))
for part in ${*:-suite seeds bench}; do
  case $part in
    suite)
      LAMINA_TEST_DEVICE=cuda timeout "${SUITE_SECONDS:-300}" python3 -m pytest -q -n "$workers" --dist loadfile \
        -p no:cacheprovider -p no:benchmark --tb=short -rf > "$out/suite.log" 2>&1
      echo "suite exit $?"; grep -E "^(FAILED|ERROR)" "$out/suite.log" | cut -c1-200 | head -80
      tail -3 "$out/suite.log" ;;
    seeds)
      ls .gpu/seed-programs/[0-9]*.py | timeout 150 xargs -P 12 -n 1 bash .gpu/seed_one.sh \
        > "$out/seeds.log" 2>&1
      echo "seed programs passed: $(grep -c ^PASS "$out/seeds.log")"
      grep -A4 ^FAIL "$out/seeds.log" | head -40 ;;
    bench)
      stacks=${STACKS:-torch,lamina,lamina-jit}
      if [ -z "$STACKS" ] && python3 -c "import keras" > /dev/null 2>&1; then stacks=$stacks,keras; fi
      timeout "${BENCH_SECONDS:-240}" python3 bench/bench_training.py --device cuda \
        --workloads "${WORKLOADS:-cnn,resnet,lstm,predict}" --stacks "$stacks" --epochs 2 \
        --timeout "${CHILD_SECONDS:-100}" --json "$out/bench.json" 2>&1 | tee "$out/bench.log" | tail -40 ;;
  esac
done
