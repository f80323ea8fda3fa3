#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package lockscope needs to build, test and run its VM
# tier. Idempotent: installs only what is missing. Needs root.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config
  clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libzstd-dev
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # VM tier: real kernels under QEMU, their initramfs, the module build chroot
  qemu-system-x86 busybox-static cpio debootstrap dpkg-dev zstd xz-utils
  # fuzzing (libFuzzer runtime) and lint: scripts/fuzz.sh, scripts/lint.sh
  libclang-rt-14-dev clang-format clang-tidy
  # the readers the tests check lockscope's formats with: go tool pprof (report
  # --format pprof) and headless Chromium (the HTML flame graphs)
  golang-go chromium
  # lockscope serve (metric types, HTTP server), and a real Prometheus + promtool to test it
  prometheus-cpp-dev libcivetweb-dev prometheus
  # the overhead benchmark's peers, copied into its guests: scripts/overhead.sh
  bpftrace libbpf-tools linux-perf
)
[ "${LOCKSCOPE_DEPS_EXTRA:-}" ] && read -r -a extra <<<"$LOCKSCOPE_DEPS_EXTRA" && pkgs+=("${extra[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "hint: run it as root, or: sudo $0" >&2
  exit 4
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
