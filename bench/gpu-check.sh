#!/bin/sh
# GPU check: CPU and GPU side by side in one run (see bench/gpu-check.ts for what it prints).
# Runs from the repository (after npm run build) or from the bundle that bench/make-gpu-bundle.sh
# makes, on a machine with no Node.js and no network: it uses the bundled node/bin/node and the
# bundled Vulkan loader (vulkan/libvulkan.so.1) when they are there.
#
#   bench/gpu-check.sh [--gpu webgpu|cuda|tensorrt] [--dims 100,550] [--quick] [--json FILE] ...
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
node="$root/node/bin/node"
[ -x "$node" ] || node=$(command -v node || true)
if [ -z "$node" ]; then
  echo "gpu-check: no Node.js (neither $root/node/bin/node nor node on PATH)" >&2
  exit 1
fi
[ -f "$root/dist/bench/gpu-check.js" ] || { echo "gpu-check: $root/dist/bench/gpu-check.js missing (npm run build)" >&2; exit 1; }

# WebGPU (Dawn) on Linux talks to the GPU through Vulkan: the loader is bundled, the driver's
# ICD is the machine's. Containers started without the 'graphics' driver capability have the
# NVIDIA Vulkan library but no ICD file naming it: then one is written naming it.
if [ -d "$root/vulkan" ]; then
  LD_LIBRARY_PATH="$root/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
fi
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
  have_icd=no
  for d in /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    ls "$d"/*.json >/dev/null 2>&1 && have_icd=yes
  done
  nvidia_vk=$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0/ { print $NF; exit }')
  if [ "$have_icd" = no ] && [ -n "$nvidia_vk" ]; then
    icd=$(mktemp /tmp/padim-nvidia-icd.XXXXXX.json)
    printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$nvidia_vk" >"$icd"
    VK_ICD_FILENAMES="$icd"
    export VK_ICD_FILENAMES
    echo "gpu-check: no Vulkan ICD file on this machine; using $icd for $nvidia_vk"
  fi
fi
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /' || true
fi
exec "$node" --expose-gc "$root/dist/bench/gpu-check.js" "$@"
