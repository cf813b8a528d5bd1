"""Representations stage: how jets become model inputs.

- :func:`fatjet_constituents` — PF candidates of every fat jet (PFNano and NanoAOD v15);
- :func:`jet_images` with :class:`ImageConfig` — centred, rotated, flipped jet images;
- :func:`constituent_arrays` with :class:`ConstituentConfig` — leading-N 4-vectors (LoLa);
- :func:`jet_features` / :func:`dijet_features` with :class:`FeatureConfig` — masses,
  N-subjettiness, multiplicities, m_jj;
- :func:`build_input` (the registry, Contract 2) — what inference and training call;
  :func:`register` adds a kind.

All work on eager/virtual awkward arrays and on dask-awkward arrays.
"""

from __future__ import annotations

from .constituent_arrays import ConstituentConfig, constituent_arrays
from .constituents import empty_jets, fatjet_constituents
from .feature_config import FEATURE_SETS, JET_FEATURES, FeatureConfig
from .features import (
    dijet_features,
    dijet_features_from_jets,
    dijet_matrix,
    feature_matrix,
    jet_features,
)
from .image_config import IMAGE_PRESETS, ImageConfig
from .images import ImageInfo, jet_images, jet_images_with_info
from .registry import REPRESENTATION_KINDS, build_input, config_class, register

__all__ = [
    "FEATURE_SETS",
    "IMAGE_PRESETS",
    "JET_FEATURES",
    "REPRESENTATION_KINDS",
    "ConstituentConfig",
    "FeatureConfig",
    "ImageConfig",
    "ImageInfo",
    "build_input",
    "config_class",
    "constituent_arrays",
    "dijet_features",
    "dijet_features_from_jets",
    "dijet_matrix",
    "empty_jets",
    "fatjet_constituents",
    "feature_matrix",
    "jet_features",
    "jet_images",
    "jet_images_with_info",
    "register",
]
