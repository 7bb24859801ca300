#!/usr/bin/env bash
# Compiles tinyrt's CUDA kernels (tinyrt.cu and the headers beside it) into one fatbin: SASS for sm_80, sm_86, sm_89
# and sm_90 plus compute_90 PTX (newer GPUs JIT it), uncompressed so tests can read its symbols. Run by Maven in
# generate-resources (lib/pom.xml); at run time only the NVIDIA driver and cuBLAS are needed.
#   build.sh OUTPUT_DIR CACHE_DIR
# Without nvcc (NVCC, PATH or /usr/local/cuda/bin) it builds nothing and says so: the CUDA backend then reports
# that its kernels were not built. With nvcc, a kernel that does not compile fails the build. The result is cached
# by a hash of the sources, flags and nvcc version, so unchanged kernels are not recompiled.
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$1"
cache="$2"
mkdir -p "$out" "$cache"

nvcc="${NVCC:-}"
[ -n "$nvcc" ] || nvcc="$(command -v nvcc || true)"
[ -n "$nvcc" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc; } || true
if [ -z "$nvcc" ]; then
  rm -f "$out/kernels.fatbin" "$out/kernels.properties"
  echo "[tinyrt] nvcc not found: the CUDA kernels are NOT built (the CUDA backend will say so at run time)."
  echo "[tinyrt] To build them, put nvcc (CUDA 12.8+) on the PATH or set NVCC."
  exit 0
fi

targets=(-gencode 'arch=compute_80,code=[sm_80,sm_86,sm_89]' -gencode 'arch=compute_90,code=[sm_90,compute_90]')
flags=(-fatbin --no-compress -O3 -std=c++17 --threads 0 -Xptxas -v)
version="$("$nvcc" --version | tail -n 1)"
hash="$( (cat "$src"/*.cu "$src"/*.cuh; echo "${targets[*]} ${flags[*]} $version") | sha256sum | cut -c1-64)"

if [ ! -f "$cache/kernels.fatbin" ] || [ "$(cat "$cache/hash" 2>/dev/null)" != "$hash" ]; then
  echo "[tinyrt] compiling CUDA kernels with $nvcc ($version)"
  rm -f "$cache/hash"
  if ! "$nvcc" "${flags[@]}" "${targets[@]}" -o "$cache/kernels.fatbin" "$src/tinyrt.cu" > "$cache/ptxas.log" 2>&1; then
    grep -v '^ptxas info' "$cache/ptxas.log" | grep -v 'bytes stack frame' | head -60 >&2
    echo "[tinyrt] ERROR: the CUDA kernels do not compile (full log: $cache/ptxas.log)" >&2
    exit 1
  fi
  if grep -qE '[1-9][0-9]* bytes spill (stores|loads)' "$cache/ptxas.log"; then
    echo "[tinyrt] WARNING: register spills in the CUDA kernels (see $cache/ptxas.log):"
    # (|| true: head closing the pipe early must not fail the build under pipefail)
    grep -B2 -E '[1-9][0-9]* bytes spill (stores|loads)' "$cache/ptxas.log" | grep -E 'entry function|spill' | head -20 || true
  fi
  {
    echo "nvcc=$version"
    echo "targets=sm_80 sm_86 sm_89 sm_90 compute_90"
    echo "sources_sha256=$hash"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } > "$cache/kernels.properties"
  echo "$hash" > "$cache/hash"
else
  echo "[tinyrt] CUDA kernels up to date ($cache/kernels.fatbin)"
fi
cp "$cache/kernels.fatbin" "$cache/kernels.properties" "$out/"
