#!/usr/bin/env bash
# One prepared check of wgprune on a machine with a GPU: the adapter and device profile, the
# tuner on the registered models' kernel problems plus a 4096² matmul, then the dense (with
# TF.js WebGPU on the same device, GFLOP/s and % of the fp32 peak), sparse and compaction
# benchmarks in quick mode, each row timed with the profile's rule plans and the tuned plans
# side by side. Every JSON goes to $OUT (default: a new temporary folder). About 5-8 minutes on
# a GPU; QUICK=1 is a smaller run for a CPU rasterizer (llvmpipe), to know the script works.
#
#   npm run gpu-check                      # or: bash scripts/gpu-check.sh
#   PEAK_GFLOPS=67000 OUT=/some/dir bash scripts/gpu-check.sh
#   QUICK=1 bash scripts/gpu-check.sh      # llvmpipe
#
# PEAK_GFLOPS: the device's fp32 (non-tensor-core) peak in GFLOP/s, for the % of peak column.
# NVIDIA's datasheets: H200 SXM 67 TFLOP/s (67000), H200 NVL 60; H100 SXM 67, H100 PCIe 51.
#
# Offline hosts. The machine may have no npm registry and no Vulkan loader. Prepare both on the
# development machine, and make the run carry the two git-ignored folders .gl and .gpu-kit:
#
#   1. Vulkan loader and GL dispatch libraries, as Debian packages (once):
#        echo /.gl/ >>.git/info/exclude; mkdir -p .gl /tmp/amd64/partial
#        o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#        apt-get $o update
#        (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
#      This script unpacks them (dpkg -x) when `ldconfig -p` lists no libvulkan.
#   2. The dependencies: node_modules is ~800 MB (Dawn alone 130 MB for every platform), too
#      big to carry. scripts/gpu-kit.mjs bundles the CLI and the benchmark entries (TF.js
#      included) and copies Dawn's linux-x64 binding: ~28 MB in .gpu-kit. This script builds it
#      whenever node_modules is present (.gpu-kit is git-ignored), and runs
#      from it everywhere, so the kit that travels is the one checked here.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)
OUT="${OUT:-$(mktemp -d -t wgprune-gpu-check-XXXXXX)}"
mkdir -p "$OUT"
KIT=.gpu-kit
QUICK="${QUICK:-0}"
PEAK_GFLOPS="${PEAK_GFLOPS:-}"
step() { echo; echo "== $* ($(( $(date +%s) - START )) s)"; }

step "Vulkan loader"
if ldconfig -p 2>/dev/null | grep -q libvulkan; then
  echo "libvulkan present"
elif compgen -G ".gl/*.deb" >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  ldconfig -p | grep libvulkan || echo "warning: .gl/*.deb unpacked but no libvulkan found"
else
  echo "no libvulkan and no .gl/*.deb: WebGPU uses what Dawn finds (on Linux without a GPU: llvmpipe through GL ES)"
fi
# No Vulkan driver manifest where the loader looks: use the NVIDIA container runtime's, if mounted.
if ! compgen -G "/usr/share/vulkan/icd.d/*.json" >/dev/null && ! compgen -G "/etc/vulkan/icd.d/*.json" >/dev/null \
  && [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  echo "VK_DRIVER_FILES=$VK_DRIVER_FILES"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

step "dependencies"
if [ -d node_modules ]; then
  node scripts/gpu-kit.mjs "$KIT"
elif [ -f "$KIT/cli.mjs" ]; then
  echo "no node_modules: running the carried kit $KIT ($(du -sh "$KIT" | cut -f1))"
else
  echo "neither node_modules nor $KIT/cli.mjs: build the kit on a machine with node_modules (node scripts/gpu-kit.mjs) and carry it" >&2
  exit 1
fi
export WGPRUNE_TUNING_CACHE="$OUT/tuning.json"
wg() { node "$KIT/cli.mjs" "$@"; }
bench() { local name=$1; shift; node "$KIT/bench/$name.mjs" "$@"; }

if [ "$QUICK" = 1 ]; then
  MODELS=lenet5; BATCHES=1,8; MATMUL=256x256x256; SIZES=256
  SPARSE=(--layers LeNet-300); COMPACT=(--cifar-batches 1)
else
  MODELS=lenet300,lenet5,mnist-cnn2,conv4; BATCHES=1,64; MATMUL=4096x4096x4096; SIZES=1024,4096
  SPARSE=(); COMPACT=()
fi

step "adapter and profile"
wg tune --show --matmul "$MATMUL" 2>&1 | grep -v '^Warning:'

step "tune: $MODELS at batch $BATCHES, matmul $MATMUL"
wg tune --model "$MODELS" --batch "$BATCHES" --matmul "$MATMUL" --quick --json "$OUT/tune.json" 2>&1 | grep -v '^Warning:'

step "dense benchmark (matmul $SIZES, TF.js WebGPU peer)"
bench dense --quick --matmul-sizes "$SIZES" ${PEAK_GFLOPS:+--peak-gflops "$PEAK_GFLOPS"} --tuned --json "$OUT/dense.json" 2>&1 | grep -v '^Warning:'

step "sparse benchmark"
bench sparse --quick --tuned "${SPARSE[@]}" --out-dir "$OUT/sparse" --json "$OUT/sparse.json" 2>&1 | grep -v '^Warning:'

step "compaction benchmark (conv4, synthetic CIFAR-shaped inputs)"
bench compact --quick --models conv4 --tuned "${COMPACT[@]}" --json "$OUT/compact.json" 2>&1 | grep -v '^Warning:'

step "done: results in $OUT"
ls -la "$OUT"
echo "wall time: $(( $(date +%s) - START )) s"
