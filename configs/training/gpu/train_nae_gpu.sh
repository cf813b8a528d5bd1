#!/usr/bin/env bash
# Train the NAE models on one NVIDIA GPU with the recipes of this folder.
#
#   bash configs/training/gpu/train_nae_gpu.sh [OUT_DIR [MODEL ...]]
#
# MODEL: nae_top, ae_top, nae_qcd, wnae_qcd, ae_qcd (default: all five, in that order -- the one
# direction the CPU recipe does not reach first); then the symmetric-tagging table (table.py;
# models not named come from the shipped models/). The samples the models need are generated
# first, side by side on all cores, where missing; wnae_qcd and
# ae_qcd start from nae_qcd's pre-trained AE and ae_top from nae_top's, so name them after it (or
# keep data/checkpoints/ of an earlier run). Each NAE model stops at its config's loop.max_time_s
# (90-100 s, pre-training included); with the generation of 32 000 events and the evaluations,
# all five fit one call of the device tool (10 minutes). On the lent machine, which has no
# network and none of the scikit-hep stack, run it through device_run.sh (docs/NAE.md, "GPU run").
# Needs a CUDA build of torch (this project installs the CPU one). It first runs the CUDA tests of
# tests/training/test_device.py (a few seconds). Run from the repository root.
#
# Environment: CA (the CLI, default coffea-anomaly), PY (python, default python3), AFTER_MODEL (a
# command run after each model; device_run.sh packs the results with it), MAX_TIME (seconds per
# NAE model, replacing the configs' loop.max_time_s), SMOKE=1 (a dry run of
# this script anywhere, on the CPU, in a temporary folder, with copies of the configs cut to one
# iteration of two chain steps: 150-event samples, 300 jets; the CUDA check is skipped, the tests
# still run; for the test suite).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mkdir -p "${1:-models}" && cd "${1:-models}" && pwd)
shift || true
ALL="nae_top ae_top nae_qcd wnae_qcd ae_qcd"
MODELS=${*:-$ALL}
CA=${CA:-coffea-anomaly}
PY=${PY:-python3}
J=$(nproc)
for m in $MODELS; do
  case $m in
    nae_qcd|nae_top|wnae_qcd|ae_qcd|ae_top) ;;
    *) echo "train_nae_gpu.sh: unknown model '$m' (nae_qcd, nae_top, wnae_qcd, ae_qcd, ae_top)" >&2; exit 2 ;;
  esac
done
EVENTS=12000 TEST_EVENTS=4000 TRAIN_ARGS=()
if [ -n "${SMOKE:-}" ]; then  # a temporary folder with tiny CPU copies of the configs
  root=$PWD
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cd "$tmp"
  ln -s "$root/tests" .
  $PY -P - "$root" <<'PY'
import pathlib, sys, yaml
root = pathlib.Path(sys.argv[1])
for src in [*root.glob("configs/training/gpu/*.yaml"), root / "configs/training/ae_qcd.yaml"]:
    cfg = yaml.safe_load(src.read_text())
    training = cfg["model"]["training"]
    if training.get("epochs", 1):  # an energy phase (the plain AEs only read a checkpoint)
        training.update(epochs=1, steps_per_epoch=1, batch_size=16, z_steps=2, x_steps=2, buffer_size=64, val_negatives=16)
        training["pretrain_epochs"] = min(training.get("pretrain_epochs", 0), 1)
    cfg["loop"]["device"] = "cpu"
    dst = src.relative_to(root)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(yaml.safe_dump(cfg))
PY
  EVENTS=150 TEST_EVENTS=150 TRAIN_ARGS=(--max-items 300)
fi
[ -z "${MAX_TIME:-}" ] || TRAIN_ARGS+=(--max-time "$MAX_TIME")  # replaces the configs' loop.max_time_s
stamp() { echo "[train_nae_gpu $(date +%T)] $*"; }
# -P: the installed package, not the checkout's source folder (which lacks coffea_anomaly.configs)
[ -n "${SMOKE:-}" ] || $PY -P -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'torch sees no CUDA device')"
# -W default: that machine's newer packages may warn where CI's do not; CI keeps warnings as errors
$PY -P -m pytest -q -p no:cacheprovider -W default tests/training/test_device.py
# the samples the models need (as in the CPU configs' headers), generated side by side where missing
samples="qcd_jets:$TEST_EVENTS:nae_qcd_test:43 top_jets:$TEST_EVENTS:nae_top_test:44"
case " $MODELS " in *" nae_qcd "*|*" wnae_qcd "*|*" ae_qcd "*) samples="qcd_jets:$EVENTS:nae_qcd:41 $samples" ;; esac
case " $MODELS " in *" nae_top "*|*" ae_top "*) samples="top_jets:$EVENTS:nae_top:42 $samples" ;; esac
pids=()
for s in $samples; do
  IFS=: read -r recipe events name seed <<< "$s"
  [ -f "data/train/$name/fileset.json" ] && continue
  stamp "generating $name ($events $recipe events, seed $seed)"
  $CA generate -q -j "$J" "$recipe" --events "$events" --out "data/train/$name" --seed "$seed" &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid"; done  # set -e: a failed generation stops here
for m in $MODELS; do
  config=configs/training/gpu/$m.yaml
  [ "$m" = ae_qcd ] && config=configs/training/ae_qcd.yaml  # reads nae_qcd's pre-trained AE: no GPU recipe of its own
  stamp "training $m ($config)"
  start=$SECONDS
  $CA train "$config" --out "$OUT/$m.onnx" --quiet "${TRAIN_ARGS[@]}"
  stamp "$m: $((SECONDS - start)) s wall"
  [ -z "${AFTER_MODEL:-}" ] || $AFTER_MODEL
done
$PY -P "$HERE/table.py" "$OUT"  # models this run did not train: the shipped ones, said so
