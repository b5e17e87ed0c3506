#!/usr/bin/env bash
# One session on a CUDA machine: the equivalence proofs on the GPU, then the benchmarks of CPU and GPU
# in one run (so that every ratio and crossover comes from the same machine at the same time).
# Usage: bash benchmarks/run_gpu.sh [OUT_DIR]    (from the repository root; OUT_DIR defaults to benchmarks/results/gpu)
# Needs python3 with torch (CUDA build), numpy, threadpoolctl, matplotlib, hypothesis and pytest.
set -uo pipefail
out="${1:-benchmarks/results/gpu}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0

{
    date -u +"%Y-%m-%dT%H:%M:%SZ"
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
    python3 -c "import sys, numpy, torch; print('python', sys.version.split()[0], '| numpy', numpy.__version__, '| torch', torch.__version__, '| cuda', torch.version.cuda, '| tf32 matmul', torch.backends.cuda.matmul.allow_tf32)"
    lscpu | grep -E "Model name|^CPU\(s\)"
} > "$out/environment.txt" 2>&1
cat "$out/environment.txt"

python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$out/test_cuda.txt" || status=1
{
    python3 -m compare --device cuda --batch 8
    python3 -m compare --device cuda --sizes 1024,4096,4096,1024 --batch 256 --dtype float32
    python3 -m compare --device cuda --sizes 1024,4096,4096,1024 --batch 256 --dtype float64
} 2>&1 | tee "$out/compare_cuda.txt" || status=1

python3 -m benchmarks --devices cpu,cuda --threads "$(nproc)" --min-run-time 0.15 \
    --backends scratchnet,scratchnet-forward,torch-eager,torch-jit,torch-cudagraph \
    --batches 1,16,256,1024,4096,16384,65536 --out "$out" 2>&1 | tee "$out/table.txt" || status=1
exit $status
