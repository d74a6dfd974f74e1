#!/usr/bin/env bash
# Builds the GPU test programs here and packs them, with the shared libraries
# a bare GPU machine may lack, into one folder that travels to that machine,
# where scripts/gpu-run.sh runs them. Nothing is built on the GPU machine.
#
# Usage: scripts/gpu-bundle.sh [--from BUILD_DIR] [--out DIR]
#   (default)        configure and build build-gpu/ (Release, CUDA for sm_90
#                    only, no studio) and bundle its programs
#   --from BUILD_DIR bundle the programs of an existing build folder instead
#   --out DIR        the bundle folder (default .gpu-bundle, git-ignored;
#                    or $MANTISSA_GPU_BUNDLE); it is replaced
# The bundle:
#   bin/       mantissa_engine_tests, mantissa, mantissa_io_fixtures (stripped)
#   lib/       the engine library, the CUDA backend module (libmantissa-cuda.so),
#              and every library they load that is neither glibc's, the driver's
#              nor CUDA's (gpu-run.sh finds CUDA's there); libraries over
#              8 MiB as NAME.gz, which gpu-run.sh unpacks
#   fallback/  libstdc++ and libgcc_s, for a system whose own are too old
#   peers/torch_gpu_amp.py, tests/check_onnx.py, MANIFEST
# The last line on stdout is the bundle folder, relative to the repository
# root when inside it. Fails if the bundle exceeds $MANTISSA_BUNDLE_LIMIT_MIB
# (default 60) MiB.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

from=""
out="${MANTISSA_GPU_BUNDLE:-$MANTISSA_ROOT/.gpu-bundle}"
while (($#)); do
  case "$1" in
    --from) (($# >= 2)) || die "--from needs a build folder"; from="$2"; shift 2 ;;
    --out) (($# >= 2)) || die "--out needs a folder"; out="$2"; shift 2 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
limit_mib="${MANTISSA_BUNDLE_LIMIT_MIB:-60}"
[[ "$out" == /* ]] || out="$PWD/$out"
[[ "$out" != "$MANTISSA_ROOT" && "$out" != / ]] || die "refusing to use $out as the bundle folder"

# ---- build ---------------------------------------------------------------------
if [[ -n "$from" ]]; then
  build="$(cd "$from" 2>/dev/null && pwd)" || die "no build folder $from"
  flags="(an existing build, see its CMakeCache.txt)"
else
  build="${MANTISSA_GPU_BUILD:-$MANTISSA_ROOT/build-gpu}"
  nvcc="${CUDACXX:-$(command -v nvcc || true)}"
  [[ -n "$nvcc" ]] || nvcc=/usr/local/cuda/bin/nvcc
  [[ -x "$nvcc" ]] || die "nvcc not found (set CUDACXX or put the CUDA toolkit's bin/ on PATH)"
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  flag_list=(-DCMAKE_BUILD_TYPE=Release -DMANTISSA_GUI=OFF -DMANTISSA_CUDA=ON -DMANTISSA_TESTS=ON
    -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$nvcc")
  flags="${flag_list[*]}"
  phase "gpu-bundle: configuring ${build#"$MANTISSA_ROOT"/}"
  nice -n 10 cmake -S "$MANTISSA_ROOT" -B "$build" "${generator[@]}" "${flag_list[@]}" >/dev/null
  phase "gpu-bundle: building mantissa_engine_tests, mantissa, mantissa_io_fixtures, mantissa_cuda"
  nice -n 10 cmake --build "$build" --parallel 2 \
    --target mantissa_engine_tests mantissa mantissa_io_fixtures mantissa_cuda
fi

programs=("$build/tests/mantissa_engine_tests" "$build/app/mantissa" "$build/tests/io/mantissa_io_fixtures")
for p in "${programs[@]}"; do
  [[ -x "$p" ]] || die "$p is missing: build mantissa_engine_tests, mantissa and mantissa_io_fixtures in $build"
done

# ---- copy ----------------------------------------------------------------------
phase "gpu-bundle: packing ${out#"$MANTISSA_ROOT"/}"
rm -rf "$out"
mkdir -p "$out"/{bin,lib,fallback,peers,tests}
# Stripped, the programs must still start here (with this machine's
# libraries); otherwise they travel as built.
starts() {
  case "${1##*/}" in
    mantissa_engine_tests) "$1" --gtest_list_tests >/dev/null 2>&1 ;;
    mantissa) "$1" --help >/dev/null 2>&1 ;;
    *) "$1" >/dev/null 2>&1; (($? == 2)) ;;  # usage
  esac
}
for p in "${programs[@]}"; do
  copy="$out/bin/${p##*/}"
  cp "$p" "$copy"
  # Only the symbol tables go: the kernels' line information lives in the
  # device code (.nv_fatbin), which strip leaves alone.
  strip --strip-all "$copy"
  if starts "$p" && ! starts "$copy"; then
    echo "gpu-bundle: warning: stripped ${p##*/} does not start; bundling it unstripped" >&2
    cp "$p" "$copy"
  fi
done

# The CUDA backend is a module the registry loads from beside the engine
# library (lib/); a CPU-only build has none, and the run then says so.
module="$build/lib/libmantissa-cuda.so"
modules=()
if [[ -f "$module" ]]; then
  cp "$module" "$out/lib/"
  strip --strip-unneeded "$out/lib/${module##*/}"
  modules=("$module")
else
  echo "gpu-bundle: warning: $module is missing (a build without the CUDA backend)" >&2
fi

# Libraries: what ldd resolves here, less glibc's own, the driver and CUDA's,
# which the GPU machine has (scripts/find-cuda-libs.sh finds them there).
declare -A copied=()
while read -r name path; do
  case "$name" in
    linux-vdso.so* | ld-linux* | libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | \
      libresolv.so.* | libutil.so.* | libcuda.so.* | libcudart.so.* | libcublas.so.* | libcublasLt.so.* | \
      libcudnn*.so.* | libnvrtc*.so.* | libnvJitLink.so.*)
      continue ;;
  esac
  [[ -n "${copied[$name]:-}" ]] && continue
  copied[$name]=1
  [[ "$path" == "not" ]] && die "ldd cannot resolve $name here; install it before bundling"
  if [[ "$name" == libstdc++.so.* || "$name" == libgcc_s.so.* ]]; then
    cp -L "$path" "$out/fallback/$name"
  elif (($(stat -L -c %s "$path") > 8 * 1024 * 1024)); then
    gzip -6 -c "$path" >"$out/lib/$name.gz"
  else
    cp -L "$path" "$out/lib/$name"
  fi
done < <(for p in "${programs[@]}" "${modules[@]}"; do ldd "$p"; done | awk '$2 == "=>" { print $1, $3 }')

peer="$MANTISSA_ROOT/../shared/peers/torch_gpu_amp.py"
if [[ -f "$peer" ]]; then
  cp "$peer" "$out/peers/"
else
  echo "gpu-bundle: warning: $peer not found; gpu-run.sh will skip the peer benchmark" >&2
fi
cp "$MANTISSA_ROOT/tests/io/check_onnx.py" "$out/tests/"

# ---- manifest ------------------------------------------------------------------
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" 2>/dev/null | head -n1; }
# Which GPU architectures the device code was compiled for: cuobjdump where
# the toolkit has it, otherwise read from the fatbin headers.
sm_list() {
  local cuobjdump
  cuobjdump="$(command -v cuobjdump || true)"
  [[ -z "$cuobjdump" && -x /usr/local/cuda/bin/cuobjdump ]] && cuobjdump=/usr/local/cuda/bin/cuobjdump
  if [[ -n "$cuobjdump" ]]; then
    "$cuobjdump" --list-elf "$1" 2>&1 | grep -o 'sm_[0-9]*[af]\?' | sort | uniq -c |
      awk '{ printf "%s%s (%d cubins)", sep, $2, $1; sep = ", " } END { print "  [cuobjdump --list-elf]" }'
    return
  fi
  local fatbin
  fatbin="$(mktemp)"
  if ! objcopy -O binary --only-section=.nv_fatbin "$1" "$fatbin" 2>/dev/null || [[ ! -s "$fatbin" ]]; then
    echo "no device code"
    rm -f "$fatbin"
    return
  fi
  python3 - "$fatbin" <<'PY' || echo "unknown (no cuobjdump; the fatbin could not be read)"
import struct, sys
data = open(sys.argv[1], "rb").read()
seen, off = {}, 0
while off + 16 <= len(data):
    magic, _, header, size = struct.unpack_from("<IHHQ", data, off)
    if magic != 0xBA55ED50:  # fatbins are 8-byte aligned
        off += 8
        continue
    entry, end = off + header, off + header + size
    while entry + 32 <= end:
        kind, _, entry_header, payload = struct.unpack_from("<HHIQ", data, entry)
        arch = struct.unpack_from("<I", data, entry + 28)[0]
        name = ("sm_%d" if kind == 2 else "compute_%d (PTX)" if kind == 1 else "kind %d" % kind) % arch
        seen[name] = seen.get(name, 0) + 1
        entry += entry_header + payload
    off = end
print(", ".join("%s x%d" % kv for kv in sorted(seen.items())) + "  [fatbin headers; no cuobjdump here]")
PY
  rm -f "$fatbin"
}
# The newest symbol versions the bundle needs from the system.
needs() {
  find "$out/bin" "$out/lib" -type f ! -name '*.gz' -print0 | xargs -0 objdump -T 2>/dev/null |
    grep -o "${1}_[0-9][0-9.]*" | sort -uV | tail -n1
}
{
  echo "Mantissa GPU bundle"
  echo "created:  $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n) ($(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}"))"
  if git -C "$MANTISSA_ROOT" rev-parse HEAD >/dev/null 2>&1; then
    changed="$(git -C "$MANTISSA_ROOT" status --porcelain --untracked-files=no | wc -l)"
    echo "commit:   $(git -C "$MANTISSA_ROOT" rev-parse HEAD)$( ((changed)) && echo " + $changed changed file(s)")"
  fi
  echo "build:    $build"
  echo "flags:    $flags"
  echo "cache:    CMAKE_BUILD_TYPE=$(cache_value CMAKE_BUILD_TYPE) MANTISSA_CUDA=$(cache_value MANTISSA_CUDA)" \
    "CMAKE_CUDA_ARCHITECTURES=$(cache_value CMAKE_CUDA_ARCHITECTURES)"
  echo "c++:      $(cache_value CMAKE_CXX_COMPILER) ($("$(cache_value CMAKE_CXX_COMPILER)" -dumpfullversion 2>/dev/null || echo '?'))"
  cuda_compiler="$(cache_value CMAKE_CUDA_COMPILER)"
  if [[ -n "$cuda_compiler" ]]; then
    echo "nvcc:     $cuda_compiler ($("$cuda_compiler" --version 2>/dev/null | grep -o 'release [0-9.]*' || echo '?'))"
  fi
  cudnn_include="$(cache_value MANTISSA_CUDNN_INCLUDE_DIR)"
  if [[ -f "$cudnn_include/cudnn_version.h" ]]; then
    echo "cudnn:    $(awk '/#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) / { v = v sep $3; sep = "." } END { print v }' \
      "$cudnn_include/cudnn_version.h") ($(cache_value MANTISSA_CUDNN_LIBRARY))"
  fi
  if [[ -f "$out/lib/libmantissa-cuda.so" ]]; then
    echo "device code: $(sm_list "$out/lib/libmantissa-cuda.so")"
  else
    echo "device code: none (no CUDA backend module)"
  fi
  echo "needs:    $(needs GLIBC) or newer; $(needs GLIBCXX) / $(needs CXXABI) (fallback/ has" \
    "$(objdump -T "$out/fallback/libstdc++.so.6" 2>/dev/null | grep -o 'GLIBCXX_[0-9][0-9.]*' | sort -uV | tail -n1))"
  echo "files:"
  (cd "$out" && find . -type f ! -name MANIFEST | sort | while read -r f; do
    printf '  %10d  %s\n' "$(stat -c %s "$f")" "${f#./}"
  done)
} >"$out/MANIFEST"

total="$(du -sb "$out" | cut -f1)"
mib="$(awk -v b="$total" 'BEGIN { printf "%.1f", b / 1048576 }')"
echo "total:    $total bytes ($mib MiB)" >>"$out/MANIFEST"
if ((total > limit_mib * 1024 * 1024)); then
  die "the bundle in $out is $mib MiB, over the $limit_mib MiB limit (what travels with the tree); see $out/MANIFEST"
fi
phase "gpu-bundle: $mib MiB"
cat "$out/MANIFEST" >&2
if [[ "$out" == "$MANTISSA_ROOT"/* ]]; then
  echo "${out#"$MANTISSA_ROOT"/}"
else
  echo "$out"
fi
