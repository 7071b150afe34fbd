#!/usr/bin/env bash
# Every backbone obtainable on a machine without internet (builtin:filterbank, and the ONNX
# files of ../shared/models through the registry and the presets), measured with `padim eval`
# at default options on the real bottle set and on the generated strip set (1250x500 grey,
# aspect 2.5:1, the set of bench/accuracy.ts). Raw reports: bench/results/backbones-*.json.
#   npm run build && bash bench/backbones.sh [SHARED] [REGEX]
# SHARED defaults to ../shared; REGEX (matched against the report name) runs a part only.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${1:-../shared}
ONLY=${2:-.}
OUT=bench/results
M=$(mktemp -d)
DATA=$(mktemp -d)
trap 'rm -rf "$M" "$DATA"' EXIT
# a models directory as a user would have it: the shared files under their own names
for f in "$SHARED"/models/*.onnx; do ln -s "$(realpath "$f")" "$M/"; done
node -e "require('./dist/src/synthetic').writeSyntheticDataset(process.argv[1], {texture: 'brushed', width: 1250, height: 500, channels: 1, defects: ['crack', 'fleck', 'scratch'], trainCount: 30, testGoodCount: 10, testDefectCount: 8, seed: 7})" "$DATA/strip"

run() {
  local name=$1 data=$2
  shift 2
  [[ $name =~ $ONLY ]] || return 0
  echo "== $name: padim eval --data $data $*" >&2
  PADIM_MODELS_DIR=$M node bin/padim.js eval --data "$data" "$@" -q --json "$OUT/backbones-$name.json"
}

for set in strip bottle; do
  if [[ $set == bottle ]]; then d=$SHARED/data/mvtec/bottle; else d=$DATA/strip; fi
  run "$set-filterbank" "$d" --backbone builtin:filterbank
  run "$set-auto" "$d" --backbone auto
  run "$set-mobilenetv2-12-int8-auto" "$d" --backbone mobilenetv2-12-int8 --size auto
  run "$set-mobilenetv2-int8-224x224" "$d" --backbone mobilenetv2-int8 --size 224x224
  run "$set-mobilenetv2-int8-224x224-block10" "$d" --backbone mobilenetv2-int8 --size 224x224 --layers 339_quantized,365_quantized,400_quantized
  run "$set-mobilenetv2" "$d" --backbone mobilenetv2
  run "$set-mobilenetv2-block13" "$d" --backbone mobilenetv2 --layers block3,block6,block13
  run "$set-resnet50v2" "$d" --backbone resnet50v2
  run "$set-squeezenet" "$d" --backbone squeezenet
done
