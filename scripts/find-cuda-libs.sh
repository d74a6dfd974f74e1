#!/usr/bin/env bash
# Finds the CUDA libraries a CUDA build of Mantissa loads at run time on a
# machine where they may live anywhere: a toolkit (/usr/local/cuda*/lib64,
# targets/x86_64-linux/lib), the dynamic linker's cache, or NVIDIA's pip
# wheels in some Python's site-packages (nvidia/*/lib, nvidia/cu13/lib; there
# cuDNN often has only the versioned libcudnn.so.9).
#
# Usage: scripts/find-cuda-libs.sh
#   stdout  the folders to put on LD_LIBRARY_PATH, one per line
#   stderr  which library came from where ("libcudart.so.13: /x/lib (toolkit)")
#   exit    0 when every required library was found; 1 otherwise, after one
#           "not found: <library>" line on stderr per missing library
# Sourced, it only defines mantissa_find_cuda_libs (same output and status).
#
# Environment:
#   MANTISSA_CUDA_SEARCH         extra roots, separated by ":", searched first:
#                                a library folder, a toolkit or venv prefix,
#                                a site-packages folder
#   MANTISSA_CUDA_SEARCH_SYSTEM  0: search only MANTISSA_CUDA_SEARCH
#   CUDA_HOME, CUDA_PATH         toolkit prefixes, searched before the usual ones

# Required: the runtime, cuBLASLt (and cuBLAS, which cuDNN's engines load),
# cuDNN and the sub-libraries its convolutions load from the same folder.
MANTISSA_CUDA_REQUIRED=(libcudart.so.13 libcublasLt.so.13 libcublas.so.13 libcudnn.so.9
  libcudnn_graph.so.9 libcudnn_ops.so.9 libcudnn_cnn.so.9 libcudnn_engines_precompiled.so.9
  libcudnn_heuristic.so.9)
# Reported when found; their absence only narrows cuDNN's choice of engines (and,
# for NCCL, sends the GPU ranks' sum through host memory over Gloo).
MANTISSA_CUDA_OPTIONAL=(libcudnn_adv.so.9 libcudnn_engines_runtime_compiled.so.9 libnvrtc.so.13
  libnccl.so.2)  # NCCL: the GPU ranks' gradient sum, loaded at run time

# The library folders under one root, as "folder<TAB>label" lines.
_mantissa_cuda_dirs_under() {
  local root="$1" label="$2" d
  [[ -d "$root" ]] || return 0
  shopt -s nullglob
  for d in "$root" "$root"/lib64 "$root"/lib "$root"/targets/x86_64-linux/lib \
    "$root"/lib/x86_64-linux-gnu "$root"/nvidia/*/lib \
    "$root"/lib/python3*/site-packages/nvidia/*/lib \
    "$root"/lib/python3*/dist-packages/nvidia/*/lib \
    "$root"/local/lib/python3*/dist-packages/nvidia/*/lib; do
    [[ -d "$d" ]] && printf '%s\t%s\n' "$d" "$label"
  done
  shopt -u nullglob
}

# Every candidate folder, in search order (duplicates included).
_mantissa_cuda_candidates() {
  local root
  local -a extra=()
  [[ -n "${MANTISSA_CUDA_SEARCH:-}" ]] && IFS=: read -r -a extra <<<"$MANTISSA_CUDA_SEARCH"
  for root in "${extra[@]}"; do
    [[ -n "$root" ]] && _mantissa_cuda_dirs_under "$root" "MANTISSA_CUDA_SEARCH"
  done
  [[ "${MANTISSA_CUDA_SEARCH_SYSTEM:-1}" == 0 ]] && return 0

  # Toolkits: the ones named first, then the usual prefixes, newest first.
  shopt -s nullglob
  local -a toolkits=("${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda)
  local -a versioned=(/usr/local/cuda-* /opt/cuda*)
  shopt -u nullglob
  if ((${#versioned[@]})); then
    mapfile -t -O "${#toolkits[@]}" toolkits < <(printf '%s\n' "${versioned[@]}" | sort -rV)
  fi
  for root in "${toolkits[@]}"; do
    [[ -n "$root" ]] && _mantissa_cuda_dirs_under "$root" "toolkit"
  done

  # Python: every interpreter's site-packages, then the usual places.
  local py
  local -a sites=()
  for py in python3 /usr/bin/python3 /usr/local/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || continue
    mapfile -t -O "${#sites[@]}" sites < <(timeout 20 "$py" -c '
import site, sys
paths = list(site.getsitepackages()) + [site.getusersitepackages()] + sys.path
print("\n".join(p for p in paths if p))' 2>/dev/null || true)
  done
  shopt -s nullglob
  sites+=("${VIRTUAL_ENV:-}" "${CONDA_PREFIX:-}"
    /usr/lib/python3*/dist-packages /usr/local/lib/python3*/dist-packages
    /usr/local/lib/python3*/site-packages /opt/*/.venv/lib/python3*/site-packages
    /opt/*/lib/python3*/site-packages /opt/conda/lib/python3*/site-packages
    /root/.local/lib/python3*/site-packages /home/*/.local/lib/python3*/site-packages)
  shopt -u nullglob
  for root in "${sites[@]}"; do
    [[ -n "$root" ]] && _mantissa_cuda_dirs_under "$root" "site-packages"
  done

  # The dynamic linker's cache, then the system folders.
  local ldconfig
  ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"
  if [[ -x "$ldconfig" ]]; then
    "$ldconfig" -p 2>/dev/null |
      awk -F' => ' '/(libcudart|libcublas|libcudnn|libnvrtc)/ && /x86-64/ { print $2 }' |
      while IFS= read -r file; do printf '%s\tldconfig\n' "${file%/*}"; done
  fi
  for root in /usr/lib/x86_64-linux-gnu /usr/lib64 /lib/x86_64-linux-gnu; do
    [[ -d "$root" ]] && printf '%s\tsystem\n' "$root"
  done
  return 0
}

mantissa_find_cuda_libs() {
  local -a dirs=() labels=() used=() missing=()
  local dir label lib i found cudnn_dir=""
  local -A seen=() in_use=()
  while IFS=$'\t' read -r dir label; do
    dir="$(cd "$dir" 2>/dev/null && pwd -P)" || continue
    [[ -n "${seen[$dir]:-}" ]] && continue
    seen[$dir]=1
    dirs+=("$dir")
    labels+=("$label")
  done < <(_mantissa_cuda_candidates)

  for lib in "${MANTISSA_CUDA_REQUIRED[@]}" "${MANTISSA_CUDA_OPTIONAL[@]}"; do
    found=""
    # cuDNN's sub-libraries are loaded from libcudnn.so.9's own folder first.
    if [[ "$lib" == libcudnn_* && -n "$cudnn_dir" && -e "$cudnn_dir/$lib" ]]; then
      for i in "${!dirs[@]}"; do [[ "${dirs[$i]}" == "$cudnn_dir" ]] && found="$i"; done
    fi
    if [[ -z "$found" ]]; then
      for i in "${!dirs[@]}"; do
        if [[ -e "${dirs[$i]}/$lib" ]]; then found="$i"; break; fi
      done
    fi
    if [[ -z "$found" ]]; then
      if [[ " ${MANTISSA_CUDA_OPTIONAL[*]} " == *" $lib "* ]]; then
        printf '%s: not found (optional)\n' "$lib" >&2
      else
        missing+=("$lib")
      fi
      continue
    fi
    dir="${dirs[$found]}"
    [[ "$lib" == libcudnn.so.9 ]] && cudnn_dir="$dir"
    printf '%s: %s (%s)\n' "$lib" "$dir" "${labels[$found]}" >&2
    [[ -n "${in_use[$dir]:-}" ]] || used+=("$dir")
    in_use[$dir]=1
  done

  ((${#used[@]} == 0)) || printf '%s\n' "${used[@]}"
  if ((${#missing[@]})); then
    for lib in "${missing[@]}"; do printf 'not found: %s\n' "$lib" >&2; done
    printf 'searched %d folders (MANTISSA_CUDA_SEARCH adds roots)\n' "${#dirs[@]}" >&2
    return 1
  fi
  return 0
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    "") ;;
    *) printf 'error: unknown argument %s (see --help)\n' "$1" >&2; exit 2 ;;
  esac
  mantissa_find_cuda_libs
fi
