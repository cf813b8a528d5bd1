"""The symmetric-tagging table of a GPU run's models (and its figure, where mplhep is installed).

    python configs/training/gpu/table.py MODELS_DIR [OUT_DIR]

MODELS_DIR holds the ``.onnx`` files of ``train_nae_gpu.sh`` (``results/nae_gpu/models`` once a
device run's archive is unpacked). A model missing there -- a run of some of the five, e.g.
``nae_top ae_top`` alone -- is taken from the shipped ``models/``, and the table says so. The test
samples are ``data/train/nae_qcd_test`` and ``data/train/nae_top_test`` (the configs' headers say
how to generate them). OUT_DIR (default: MODELS_DIR/symmetric) gets ``symmetric_tagging.json``
and the figure.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from coffea_anomaly.resources import model_path
from coffea_anomaly.training.nae_report import symmetric_tagging

PAIRS = {"AE": ("ae_qcd", "ae_top"), "NAE": ("nae_qcd", "nae_top"), "WNAE": ("wnae_qcd", None)}


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2) or not Path(argv[0]).is_dir():
        print("usage: table.py MODELS_DIR [OUT_DIR] (MODELS_DIR: a folder of the run's .onnx files)", file=sys.stderr)
        return 2
    run = Path(argv[0])
    out = argv[1] if len(argv) > 1 else str(run / "symmetric")
    shipped = []

    def pick(name: str | None) -> str | None:
        if name is None:
            return None
        if (run / f"{name}.onnx").is_file():
            return str(run / f"{name}.onnx")
        shipped.append(name)
        return str(model_path(name))

    models = {label: (pick(q), pick(t)) for label, (q, t) in PAIRS.items()}
    # the figure needs mplhep, which device_run.sh does not carry: there only the numbers
    res = symmetric_tagging(models, qcd="data/train/nae_qcd_test", top="data/train/nae_top_test",
                            out_dir=out if importlib.util.find_spec("mplhep") else None)  # fmt: skip
    for label, directions in res.items():
        for direction, r in directions.items():
            print(f"{label:21s} {direction:11s} AUC {r['auc']:.3f}  1/eps_B(0.2) {r['rejection']:.1f}")
    if shipped:
        print(f"(shipped models/, not this run: {', '.join(shipped)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
