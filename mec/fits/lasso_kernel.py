"""Numba kernel of the exact Lasso path (l1_ratio = 1) by the LARS homotopy, for the ElasticNet
grid (mec.fits.elasticnet, whose docstring describes the method and its validation)."""

from __future__ import annotations

import numpy as np

from mec.fits.enet_kernels import _FM, _score_w, chol_solve, njit


@njit(cache=True, fastmath=_FM)
def lasso_paths(ZT, G, C, XvT, Yvn, alphas, out, stats, wout):
    """Validation r of the exact Lasso (l1_ratio = 1) at each alpha, by the LARS homotopy.

    Long because: one Numba kernel whose homotopy state (active set, its Cholesky factor,
    correlations, coefficients) is updated in place at every kink; calls between kernels would
    have to carry all of it.

    Minimises 0.5 ||y - Z w||^2 + alpha ||w||_1 (Efron et al. 2004, Lasso modification): the
    solution is piecewise linear in alpha; the path is followed kink by kink from
    alpha_max = max|Z^T y| (w = 0) down, variables joining when their correlation reaches the
    active ones' and leaving when their coefficient crosses zero, and read exactly at every
    grid alpha inside each segment. alphas: (na,) decreasing; out: (T, na).
    stats[0] counts path steps. wout: (T, p) receives the coefficients at the last alpha (zero
    above alpha_max), or a (0, 0) array.
    """
    p, m = ZT.shape
    T = C.shape[0]
    na = alphas.shape[0]
    nv = XvT.shape[1]
    w = np.zeros(p)
    wg = np.zeros(p)
    d = np.zeros(p)
    corr = np.zeros(p)
    a = np.zeros(p)
    sg = np.zeros(p, np.int8)
    idx = np.zeros(p, np.int64)
    H = np.zeros((p, p)) if p < m else np.zeros((m, m))
    b = np.zeros(max(p, m))
    pred = np.zeros(nv)
    keep = wout.shape[0] > 0
    for ti in range(T):
        c = C[ti]
        for j in range(p):
            w[j] = 0.0
            sg[j] = 0
            if keep:
                wout[ti, j] = 0.0
        lam = 0.0
        jmax = 0
        for j in range(p):
            if abs(c[j]) > lam:
                lam = abs(c[j])
                jmax = j
        gi = 0
        while gi < na and alphas[gi] >= lam:  # above alpha_max: w = 0, r NaN
            out[ti, gi] = np.nan
            gi += 1
        if lam == 0.0:
            continue
        k = 1
        idx[0] = jmax
        sg[jmax] = 1 if c[jmax] > 0 else -1
        for step in range(8 * (p + m)):
            if gi >= na:
                break
            stats[0] += 1
            # direction on the active set: G_AA d_A = s_A
            for u in range(k):
                for q in range(u + 1):
                    H[u, q] = G[idx[u], idx[q]]
                b[u] = sg[idx[u]]
            ok = chol_solve(H, b, k)
            if not ok:
                break
            for j in range(p):
                d[j] = 0.0
            for u in range(k):
                d[idx[u]] = b[u]
            # correlations corr = c - G w and their rate a = G d (per unit decrease of lam)
            for j in range(p):
                s1 = c[j]
                s2 = 0.0
                for u in range(k):
                    ju = idx[u]
                    g = G[j, ju]
                    s1 -= g * w[ju]
                    s2 += g * d[ju]
                corr[j] = s1
                a[j] = s2
            # step gamma: join (|corr_j - g a_j| = lam - g), drop (w_j + g d_j = 0), or lam
            gam = lam
            event = -1
            drop = False
            for j in range(p):
                if sg[j] == 0:
                    den = 1.0 - a[j]
                    if den > 1e-12:
                        g1 = (lam - corr[j]) / den
                        if 0.0 < g1 < gam:
                            gam = g1
                            event = j
                            drop = False
                    den = 1.0 + a[j]
                    if den > 1e-12:
                        g2 = (lam + corr[j]) / den
                        if 0.0 < g2 < gam:
                            gam = g2
                            event = j
                            drop = False
                elif d[j] != 0.0:
                    g3 = -w[j] / d[j]
                    if 0.0 < g3 < gam:
                        gam = g3
                        event = j
                        drop = True
            new_lam = lam - gam
            # grid alphas inside this segment: w(alpha) = w + (lam - alpha) d
            while gi < na and alphas[gi] >= new_lam:
                h = lam - alphas[gi]
                for j in range(p):
                    wg[j] = w[j] + h * d[j] if sg[j] != 0 else 0.0
                out[ti, gi] = _score_w(wg, XvT, Yvn[ti], pred)
                if keep and gi == na - 1:
                    for j in range(p):
                        wout[ti, j] = wg[j]
                gi += 1
            for j in range(p):
                if sg[j] != 0:
                    w[j] += gam * d[j]
            lam = new_lam
            if event < 0 or lam <= 0.0:
                break
            if drop:
                w[event] = 0.0
                sg[event] = 0
                kk = 0
                for u in range(k):
                    if idx[u] != event:
                        idx[kk] = idx[u]
                        kk += 1
                k = kk
            else:
                if k >= m or k >= p:
                    break
                sg[event] = 1 if corr[event] - gam * a[event] > 0 else -1
                idx[k] = event
                k += 1
        # below the last kink (lam reached 0 or the rank): the last solution
        while gi < na:
            out[ti, gi] = _score_w(w, XvT, Yvn[ti], pred)
            if keep and gi == na - 1:
                for j in range(p):
                    wout[ti, j] = w[j]
            gi += 1
    return out

