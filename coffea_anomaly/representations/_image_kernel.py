"""Numba kernel: centre, rotate, flip and pixelise all jets in one pass over flat arrays.

Pure function on numpy arrays; :mod:`.images` turns its output into the configured image.
Per jet (constituents ``offsets[j]:offsets[j+1]``):

1. φ is measured from the hardest constituent (so jets at φ = ±π do not split);
2. the centre (pT-weighted centroid, hardest constituent, or jet axis) moves to (0, 0);
3. the pT-weighted covariance of (η, φ) gives the principal axis, rotated to +φ';
4. η' and/or φ' change sign so the hardest constituent (or the larger pT-weighted half)
   lies in the target quadrant;
5. each constituent adds its pT to the pixel containing it; those outside are counted.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "CENTER_CODES",
    "FLIP_CODES",
    "normalise",
    "pixelise_jets",
    "remap_power",
]

CENTER_CODES = {"centroid": 0, "leading": 1, "jet_axis": 2}
FLIP_CODES = {"none": 0, "hardest": 1, "half": 2}


@numba.njit(cache=True, inline="always")
def _wrap(dphi: float) -> float:
    return (dphi + math.pi) % (2.0 * math.pi) - math.pi


@numba.njit(cache=True, inline="always")
def _weighted_mean(w: np.ndarray, xs: np.ndarray, ys: np.ndarray, sw: float) -> tuple[float, float]:
    """pT-weighted mean of the first len(w) points (xs, ys); sw = sum(w) > 0."""
    mx = 0.0
    my = 0.0
    for i in range(len(w)):
        mx += w[i] * xs[i]
        my += w[i] * ys[i]
    return mx / sw, my / sw


@numba.njit(cache=True)
def pixelise_jets(
    offsets: np.ndarray,
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    jet_eta: np.ndarray,
    jet_phi: np.ndarray,
    center: int,
    rotate: bool,
    flip: int,
    sign_x: int,
    sign_y: int,
    npix: int,
    eta_range: float,
    phi_range: float,
    images: np.ndarray,
    n_dropped: np.ndarray,
) -> None:
    """Fill ``images`` (n_jets, npix, npix; zeros on entry) and ``n_dropped`` (n_jets,)."""
    n_jets = len(offsets) - 1
    width = 2.0 * eta_range / npix
    height = 2.0 * phi_range / npix
    max_n = 0
    for j in range(n_jets):
        max_n = max(max_n, offsets[j + 1] - offsets[j])
    xs = np.empty(max_n)
    ys = np.empty(max_n)
    for j in range(n_jets):
        a = offsets[j]
        n = offsets[j + 1] - a
        if n == 0:
            continue
        lead = 0
        for i in range(1, n):
            if pt[a + i] > pt[a + lead]:
                lead = i
        phi0 = phi[a + lead]
        sw = 0.0
        for i in range(n):
            xs[i] = eta[a + i]
            ys[i] = _wrap(phi[a + i] - phi0)
            sw += pt[a + i]
        # centre
        if center == 0 and sw > 0.0:
            cx, cy = _weighted_mean(pt[a : a + n], xs, ys, sw)
        elif center == 2:
            cx = jet_eta[j]
            cy = _wrap(jet_phi[j] - phi0)
        else:
            cx = xs[lead]
            cy = 0.0
        for i in range(n):
            xs[i] -= cx
            ys[i] -= cy
        # rotate the principal axis to +y
        if rotate and sw > 0.0:
            mx, my = _weighted_mean(pt[a : a + n], xs, ys, sw)
            cxx = 0.0
            cyy = 0.0
            cxy = 0.0
            for i in range(n):
                dx = xs[i] - mx
                dy = ys[i] - my
                cxx += pt[a + i] * dx * dx
                cyy += pt[a + i] * dy * dy
                cxy += pt[a + i] * dx * dy
            if cxx != cyy or cxy != 0.0:
                theta = 0.5 * math.atan2(2.0 * cxy, cxx - cyy)
                alpha = 0.5 * math.pi - theta
                c = math.cos(alpha)
                s = math.sin(alpha)
                for i in range(n):
                    x = xs[i]
                    y = ys[i]
                    xs[i] = c * x - s * y
                    ys[i] = s * x + c * y
        # flip
        if flip == 1:
            fx = xs[lead]
            fy = ys[lead]
        elif flip == 2:
            fx = 0.0
            fy = 0.0
            for i in range(n):
                if xs[i] > 0.0:
                    fx += pt[a + i]
                elif xs[i] < 0.0:
                    fx -= pt[a + i]
                if ys[i] > 0.0:
                    fy += pt[a + i]
                elif ys[i] < 0.0:
                    fy -= pt[a + i]
        else:
            fx = 0.0
            fy = 0.0
        mirror_x = fx * sign_x < 0.0
        mirror_y = fy * sign_y < 0.0
        # pixelise: columns run along +x, rows from +y (top) to -y (bottom)
        dropped = 0
        for i in range(n):
            x = -xs[i] if mirror_x else xs[i]
            y = -ys[i] if mirror_y else ys[i]
            u = (x + eta_range) / width
            v = (phi_range - y) / height
            if 0.0 <= u < npix and 0.0 <= v < npix:  # also False for NaN
                images[j, int(v), int(u)] += pt[a + i]
            else:
                dropped += 1
        n_dropped[j] = dropped


@numba.njit(cache=True)
def remap_power(images: np.ndarray, power: float) -> None:
    """Pixel-wise pT → pT^power in place (zero pixels stay zero and are skipped)."""
    flat = images.reshape(-1)
    for i in range(flat.size):
        if flat[i] != 0.0:
            flat[i] = flat[i] ** power


@numba.njit(cache=True)
def normalise(images: np.ndarray) -> None:
    """Divide every image of a stack (n, h, w) by its pixel sum, in place (all-zero: kept)."""
    n = images.shape[0]
    flat = images.reshape(n, -1)
    for k in range(n):
        total = 0.0
        for v in flat[k]:
            total += v
        if total > 0.0:
            scale = 1.0 / total
            for i in range(flat.shape[1]):
                flat[k, i] *= scale
