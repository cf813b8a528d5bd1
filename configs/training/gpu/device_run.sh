#!/usr/bin/env bash
# The GPU run on the lent machine (the `device` tool): all five models in one call.
#
#   here, once:        bash configs/training/gpu/wheels.sh     # the wheels that machine lacks -> .whl/
#   the device call:   run(command="bash configs/training/gpu/device_run.sh",
#                          carry=[".whl"], timeout_s=590)
#   back here:         mkdir -p results && tar xzf <files_at>/nae_gpu.tar.gz -C results   # -> results/nae_gpu/
#                      python configs/training/gpu/table.py results/nae_gpu/models      # the table, the figure
#
# That machine (KINDS.md, nvidia-h200) has python3 3.12 with a CUDA torch and no network: this
# installs the carried wheels and this checkout under /tmp/site (no dependency resolution, nothing
# fetched), then runs train_nae_gpu.sh for the models named (its default: all five, nae_top first, ~9
# minutes; the machine's start comes on top, so the session's 15 device minutes hold one such call).
# After every model it packs what exists -- the ONNX files (their cards hold the energies per epoch
# and the collapse flags), the checkpoints, the log -- into $OUT/nae_gpu.tar.gz, so a call cut at
# its time limit still brings back what finished. Outside the device tool (no $OUT) the results go
# to results/nae_gpu.tar.gz.
# The open direction alone, with the call's time: MAX_TIME=400 bash configs/training/gpu/device_run.sh nae_top ae_top
# (MAX_TIME, seconds per NAE model, is passed on to train_nae_gpu.sh).
set -euo pipefail
RESULTS=${OUT:-results}
SITE=/tmp/site
STAGE=/tmp/nae_gpu
ls .whl/*.whl > /dev/null 2>&1 || { echo "device_run.sh: no wheels in .whl/: run configs/training/gpu/wheels.sh here and carry .whl" >&2; exit 2; }
mkdir -p "$RESULTS" "$STAGE/models" "$STAGE/checkpoints"
start=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --no-build-isolation --target "$SITE" .whl/*.whl . \
  2>&1 | grep -v "^WARNING: Target directory" || true
rm -rf build ./*.egg-info
PYTHONPATH=$SITE python3 -P -c "import coffea_anomaly.training.pipeline, ot, pythia8mc" \
  || { echo "device_run.sh: the install under $SITE is incomplete (see above)" >&2; exit 1; }
echo "[device_run] installed under $SITE in $((SECONDS - start)) s; $(nproc) cores; $(nvidia-smi -L 2>/dev/null | head -1)"
export PYTHONPATH=$SITE PATH=$SITE/bin:$PATH PYTHIA8DATA=$SITE/share/Pythia8/xmldoc PYTHONUNBUFFERED=1
pack() {  # everything trained so far -> $RESULTS/nae_gpu.tar.gz
  cp -f data/checkpoints/*.ckpt "$STAGE/checkpoints/" 2>/dev/null || true  # that machine starts bare: this run's
  cp -f "$RESULTS/log.txt" "$STAGE/" 2>/dev/null || true
  tar czf "$RESULTS/nae_gpu.tar.gz" -C "$(dirname "$STAGE")" "$(basename "$STAGE")"
}
export -f pack
export RESULTS STAGE AFTER_MODEL=pack
status=0
bash configs/training/gpu/train_nae_gpu.sh "$STAGE/models" "$@" 2>&1 | tee "$RESULTS/log.txt" || status=$?
pack
echo "[device_run] exit $status after $((SECONDS - start)) s: $RESULTS/nae_gpu.tar.gz"
exit $status
