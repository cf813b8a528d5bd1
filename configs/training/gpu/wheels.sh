#!/usr/bin/env bash
# Fetch, HERE (a machine that reaches the package registries), the wheels the GPU machine lacks.
#
#   bash configs/training/gpu/wheels.sh [DEST]        # default DEST: .whl (ignored by git)
#
# The lent GPU machine (/work/.library/device/KINDS.md, kind nvidia-h200) runs python3 3.12 with a
# CUDA build of torch, numpy, scipy, numba, onnx, onnxruntime, matplotlib, pandas, pyarrow, click,
# pyyaml, tqdm, rich ... but none of the scikit-hep stack, and it reaches no package registry. This
# downloads cp312 manylinux wheels of what it lacks, without their dependencies (the list below is
# complete: installed exactly, --no-deps, into environments holding only the machine's packages,
# it ran device_run.sh in smoke mode on Python 3.11 with torch (the cp311 wheels of the same list)
# and, on Python 3.12 without torch (these wheels), the imports, a generation and the reading of
# a sample into images), at the versions this checkout's environment
# ($PY, default .venv/bin/python) has installed, i.e. the versions CI tests; ~43 MB in all, most of
# it pythia8mc (30 MB: the samples are generated there; their 42 MB would not fit beside the tree).
# Not carried: what the GPU run never imports (mplhep and its 9 MB of fonts, iminuit; the
# symmetric-tagging figure is drawn here, from the models that come back).
# device_run.sh installs them there; the device call names DEST in `carry` (64 MiB with the tree).
# Two exceptions to "the installed version": pythia8mc is the project's pin, and POT is 0.9.6.post1
# (1.5 MB; 0.9.7's wheel is 33 MB, its new bsp module alone 175 MB unpacked, and ot.emd2 -- the
# only function the wnae family uses -- is the same).
set -euo pipefail
DEST=${1:-.whl}
PY=${PY:-.venv/bin/python}
PYVER=${PYVER:-3.12}
FIXED="pot==0.9.6.post1 pythia8mc==8.317.2"
LOCAL="awkward awkward-cpp uproot cramjam xxhash vector fsspec coffea dask distributed dask-awkward dask-histogram
hist boost-histogram histoprint uhi fastjet partd locket tblib tornado zict cachetools lz4 loky"
mkdir -p "$DEST"
specs=$FIXED
for name in $LOCAL; do
  version=$("$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name") \
    || { echo "wheels.sh: $name is not installed in $PY's environment (run make install first)" >&2; exit 1; }
  specs="$specs $name==$version"
done
platforms=""
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
         manylinux2014_x86_64 manylinux1_x86_64; do
  platforms="$platforms --platform $p"
done
# shellcheck disable=SC2086  # word splitting of the spec and platform lists is intended
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
  $platforms -d "$DEST" $specs 2> >(grep -v "^WARNING: Location" >&2)
echo "wheels.sh: $(ls "$DEST"/*.whl | wc -l) wheels, $(du -sh "$DEST" | cut -f1) in $DEST"
