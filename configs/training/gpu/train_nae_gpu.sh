#!/usr/bin/env bash
# Train nae_qcd, nae_top and wnae_qcd (and their plain AEs) on one NVIDIA GPU with the recipes
# of this folder, then print the symmetric-tagging table. About 12-15 minutes on one GPU:
# three energy phases of at most 180 s each, plus sample generation on the machine's cores.
# Needs a CUDA build of torch in the environment (this project installs the CPU build).
# Run from the repository root:   bash configs/training/gpu/train_nae_gpu.sh [OUT_DIR]
# It first runs the CUDA tests of tests/training/test_device.py (a few seconds).
set -euo pipefail
OUT=${1:-models}
CA=${CA:-coffea-anomaly}
PY=${PY:-python}
J=$(nproc)
gen() {  # recipe events out seed: generate only what is missing
  [ -f "data/train/$3/fileset.json" ] || $CA generate -q -j "$J" "$1" --events "$2" --out "data/train/$3" --seed "$4"
}
$PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'torch sees no CUDA device')"
$PY -m pytest -q -p no:cacheprovider tests/training/test_device.py
gen qcd_jets 12000 nae_qcd 41
gen top_jets 12000 nae_top 42
gen qcd_jets 4000 nae_qcd_test 43
gen top_jets 4000 nae_top_test 44
mkdir -p "$OUT"
for m in nae_qcd nae_top wnae_qcd; do
  /usr/bin/time -f "$m: %e s wall" $CA train "configs/training/gpu/$m.yaml" --out "$OUT/$m.onnx" --progress
done
$CA train configs/training/ae_qcd.yaml --out "$OUT/ae_qcd.onnx" --quiet
$CA train configs/training/gpu/ae_top.yaml --out "$OUT/ae_top.onnx" --quiet
$PY - "$OUT" <<'PY'
import sys
from coffea_anomaly.training.nae_report import symmetric_tagging
out = sys.argv[1]
res = symmetric_tagging({"AE": (f"{out}/ae_qcd.onnx", f"{out}/ae_top.onnx"),
                         "NAE": (f"{out}/nae_qcd.onnx", f"{out}/nae_top.onnx"),
                         "WNAE": (f"{out}/wnae_qcd.onnx", None)},
                        qcd="data/train/nae_qcd_test", top="data/train/nae_top_test", out_dir=f"{out}/symmetric")
for label, dirs in res.items():
    for d, r in dirs.items():
        print(f"{label:5s} {d:11s} AUC {r['auc']:.3f}  1/eps_B(0.2) {r['rejection']:.1f}")
PY
