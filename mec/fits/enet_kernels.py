"""Numba kernels of the exact ElasticNet grid (mec.fits.elasticnet): linear algebra and the
semi-smooth Newton path over the alphas of one l1_ratio (``enet_paths``).

The method, its exactness and its validation are described in the docstring of
:mod:`mec.fits.elasticnet`; the Lasso path (l1_ratio = 1) is in :mod:`mec.fits.lasso_kernel`.
Compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba is optional at import time so that a dry run never pays for it
    import numba as _numba
except ImportError:  # pragma: no cover - exercised only without numba
    _numba = None

_MAX_NEWTON = 60  # semi-smooth Newton iterations per grid point before giving up
# KKT tolerance of the active-set test: |x_j^T r| is compared with alpha * l1 up to
# _KKT_RTOL * alpha * l1 + _KKT_ATOL * ||x_j|| ||r|| (relative and rounding-level slack)
_KKT_RTOL = 1e-11
_KKT_ATOL = 1e-13
# reassociation lets numba vectorise the dot products; NaN/inf semantics are kept (no 'nnan')
_FM = {"reassoc", "contract"}
_LAPACK_MIN = 64  # systems larger than this use LAPACK's Cholesky (faster than plain loops)


# ---------------------------------------------------------------------------------------------
# numba kernels
# ---------------------------------------------------------------------------------------------
def _no_numba(*args, **kwargs):  # pragma: no cover
    raise ImportError("mec.fits.elasticnet needs numba (pip install numba) for its kernels")


if _numba is not None:
    njit = _numba.njit
else:  # pragma: no cover
    def njit(**kwargs):
        return lambda f: _no_numba


@njit(cache=True, fastmath=_FM)
def _chol_solve_lapack(H, b, k):
    A = np.empty((k, k))
    for i in range(k):
        for q in range(i + 1):
            A[i, q] = H[i, q]
            A[q, i] = H[i, q]
        if not A[i, i] > 0.0:
            return False
    try:
        L = np.linalg.cholesky(A)
    except Exception:  # not positive definite
        return False
    _cho_substitute(L, b, k)
    return True


@njit(cache=True, fastmath=_FM)
def _cho_substitute(L, b, k):
    """b -> x with L L^T x = b, for the lower-triangular Cholesky factor L (k x k)."""
    for i in range(k):  # forward: L y = b
        s = b[i]
        for q in range(i):
            s -= L[i, q] * b[q]
        b[i] = s / L[i, i]
    for i in range(k - 1, -1, -1):  # backward: L^T x = y
        s = b[i]
        for q in range(i + 1, k):
            s -= L[q, i] * b[q]
        b[i] = s / L[i, i]


@njit(cache=True, fastmath=_FM)
def chol_solve(H, b, k):
    """Solve H x = b for SPD H (k x k, overwritten by its Cholesky factor); b -> x.

    Only the lower triangle of H is read. Returns False when H is not numerically positive
    definite. Large systems (the 2.2 m arena's ~190-bin folds) go to LAPACK's blocked potrf.
    """
    if k > _LAPACK_MIN:
        return _chol_solve_lapack(H, b, k)
    for j in range(k):
        s = H[j, j]
        for q in range(j):
            s -= H[j, q] * H[j, q]
        if not s > 0.0:
            return False
        d = math.sqrt(s)
        H[j, j] = d
        for i in range(j + 1, k):
            s = H[i, j]
            for q in range(j):
                s -= H[i, q] * H[j, q]
            H[i, j] = s / d
    _cho_substitute(H, b, k)
    return True

@njit(cache=True, fastmath=_FM)
def pearson(pred, yvn):
    """Pearson r of pred (nv,) with yvn (nv,) = centred target / its norm; NaN if constant."""
    nv = pred.shape[0]
    mu = 0.0
    for i in range(nv):
        mu += pred[i]
    mu /= nv
    num = 0.0
    ss = 0.0
    for i in range(nv):
        d = pred[i] - mu
        num += d * yvn[i]
        ss += d * d
    if not ss > 0.0:
        return np.nan
    return num / math.sqrt(ss)

@njit(cache=True, fastmath=_FM)
def _active_set(t, sg, nsg, idx, lam1, znorm, rn):
    """Signs nsg (p,) implied by t = Z^T r for threshold lam1, with hysteresis w.r.t. sg.

    A membership or sign changes only when the KKT condition is violated by more than
    _KKT_RTOL * lam1 + _KKT_ATOL * ||z_j|| ||r|| (rounding-level slack); without it,
    coefficients that are zero up to rounding flip forever. Returns (k, same): the active
    count (indices in idx[:k]) and whether nsg equals sg.
    """
    p = t.shape[0]
    k = 0
    same = True
    for j in range(p):
        tol = _KKT_RTOL * lam1 + _KKT_ATOL * znorm[j] * rn
        tj = t[j]
        if sg[j] != 0 and sg[j] * tj >= lam1 - tol:
            nsg[j] = sg[j]
        elif tj > lam1 + tol:
            nsg[j] = 1
        elif tj < -lam1 - tol:
            nsg[j] = -1
        else:
            nsg[j] = 0
        if nsg[j] != 0:
            idx[k] = j
            k += 1
        if nsg[j] != sg[j]:
            same = False
    return k, same


@njit(cache=True, fastmath=_FM)
def _dual_objective(ytil, r, t, lam1, lam2):
    """Dual of the ElasticNet (concave in r): y.r - r.r/2 - sum_j (|t_j| - lam1)_+^2 / (2 lam2)."""
    f = 0.0
    for i in range(r.shape[0]):
        f += ytil[i] * r[i] - 0.5 * r[i] * r[i]
    e = 0.0
    for j in range(t.shape[0]):
        d = abs(t[j]) - lam1
        if d > 0.0:
            e += d * d
    return f - e / (2.0 * lam2)


@njit(cache=True, fastmath=_FM)
def _solve_active(ZT, G, ytil, c, sg, idx, k, lam1, lam2, rho, M, inM, H, b, w, r):
    """Exact minimiser for a fixed active set and signs: fills w (p,) and r = y - Z w (m,).

    Primal form (|A| < m): (G_AA + lam2 I) w_A = c_A - lam1 s_A.
    Dual form (|A| >= m): (Z_A Z_A^T + lam2 I) v = y + rho Z_A s_A, w_A = Z_A^T v - rho s_A,
    r = lam2 v (push-through identity; rho = lam1 / lam2), with Z_A Z_A^T kept in M and
    updated by rank-one terms as the active set changes. Returns False if the system is not
    numerically positive definite.
    """
    p, m = ZT.shape
    for j in range(p):
        w[j] = 0.0
    if k == 0:
        for i in range(m):
            r[i] = ytil[i]
        return True
    if k < m:
        for u in range(k):
            ju = idx[u]
            for q in range(u + 1):
                H[u, q] = G[ju, idx[q]]
            H[u, u] += lam2
            b[u] = c[ju] - lam1 * sg[ju]
        ok = chol_solve(H, b, k)
        for i in range(m):
            r[i] = ytil[i]
        if ok:
            for u in range(k):
                ju = idx[u]
                w[ju] = b[u]
                for i in range(m):
                    r[i] -= b[u] * ZT[ju, i]
        return ok
    for j in range(p):
        want = sg[j] != 0
        if want != inM[j]:
            sgn = 1.0 if want else -1.0
            for i in range(m):
                zi = sgn * ZT[j, i]
                for q in range(i + 1):
                    M[i, q] += zi * ZT[j, q]
            inM[j] = want
    for i in range(m):
        for q in range(i + 1):
            H[i, q] = M[i, q]
        H[i, i] += lam2
        b[i] = ytil[i]
    for u in range(k):
        ju = idx[u]
        f = rho * sg[ju]
        for i in range(m):
            b[i] += f * ZT[ju, i]
    ok = chol_solve(H, b, m)
    if ok:
        for u in range(k):
            ju = idx[u]
            s = 0.0
            for i in range(m):
                s += ZT[ju, i] * b[i]
            w[ju] = s - rho * sg[ju]
        for i in range(m):
            r[i] = lam2 * b[i]
    else:
        for i in range(m):
            r[i] = ytil[i]
    return ok


@njit(cache=True, fastmath=_FM)
def _matvec_t(ZT, r, t):
    p, m = ZT.shape
    for j in range(p):
        s = 0.0
        for i in range(m):
            s += ZT[j, i] * r[i]
        t[j] = s


@njit(cache=True, fastmath=_FM)
def _norm(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return math.sqrt(s)


@njit(cache=True, fastmath=_FM)
def _newton_point(ZT, G, ytil, c, lam1, lam2, rho, znorm, sg, nsg, idx, inM, M, H, b, w, wf,
                  t, tf, tt, r, rf, rt, stats):
    """Solve one grid point exactly from the warm state (sg, r, t); True when converged.

    Damped semi-smooth Newton on the dual (see enet_paths); on success w, r, t, sg hold
    the solution."""
    p, m = ZT.shape
    converged = False
    # warm start: previous active set (or the one implied by r when empty)
    k, same = _active_set(t, sg, nsg, idx, lam1, znorm, _norm(r))
    has = False
    for j in range(p):
        if sg[j] != 0:
            has = True
            break
    if has:
        k = 0
        for j in range(p):
            if sg[j] != 0:
                idx[k] = j
                k += 1
    else:
        for j in range(p):
            sg[j] = nsg[j]
    for it in range(_MAX_NEWTON):
        stats[0] += 1
        ok = _solve_active(ZT, G, ytil, c, sg, idx, k, lam1, lam2, rho, M, inM,
                           H, b, wf, rf)
        if not ok:
            break
        _matvec_t(ZT, rf, tf)
        k, same = _active_set(tf, sg, nsg, idx, lam1, znorm, _norm(rf))
        if same:
            converged = True
            for j in range(p):
                w[j] = wf[j]
                t[j] = tf[j]
            for i in range(m):
                r[i] = rf[i]
            break
        if it == 0:
            for j in range(p):
                t[j] = tf[j]
            for i in range(m):
                r[i] = rf[i]
        else:
            f0 = _dual_objective(ytil, r, t, lam1, lam2)
            tau = 1.0
            while True:
                for i in range(m):
                    rt[i] = r[i] + tau * (rf[i] - r[i])
                for j in range(p):
                    tt[j] = t[j] + tau * (tf[j] - t[j])
                if _dual_objective(ytil, rt, tt, lam1, lam2) > f0 or tau < 1e-12:
                    break
                tau *= 0.5
                stats[3] += 1
            for i in range(m):
                r[i] = rt[i]
            for j in range(p):
                t[j] = tt[j]
        k, same = _active_set(t, sg, nsg, idx, lam1, znorm, _norm(r))
        for j in range(p):
            sg[j] = nsg[j]
    return converged

@njit(cache=True, fastmath=_FM)
def enet_paths(ZT, G, Ytil, C, XvT, Yvn, alphas, l1s, out, stats, wout):
    """Validation Pearson r of the exact ElasticNet solutions over a grid.

    Long because: one Numba kernel looping over targets, l1 ratios and alphas with warm
    starts carried from each grid point to the next; the solver steps it calls are already
    separate kernels.

    ZT: (p, m) rotated centred fit bins (row j = source j); G = ZT ZT^T (p, p).
    Ytil: (T, m) rotated centred targets; C: (T, p) = ZT @ Ytil[t].
    XvT: (p, nv) evaluation bins centred by the fit means; Yvn: (T, nv) centred and
        normalised evaluation targets (all-zero row: constant target, r NaN).
    alphas: (na,) decreasing; l1s: (nl,) each in (0, 1).
    out: (T, nl, na) filled with r (NaN where every coefficient is 0).
    stats: (5,) int64 counters: linear solves, grid points solved, points not converged,
        line-search halvings, continuations (a point re-solved in smaller alpha steps).
    wout: (T, nl, p) receives the coefficients at the last alpha (or a (0, 0, 0) array).

    Per grid point: damped semi-smooth Newton on the (strongly concave, piecewise quadratic)
    dual in r. Each step solves the system of the active set implied by the current r
    (_solve_active); it stops when the solution implies the same active set and signs (then
    every KKT condition holds). The first step of each point reuses the previous alpha's
    active set (warm start); later steps are accepted only if they increase the dual
    objective, else halved (global convergence).
    """
    p, m = ZT.shape
    T = Ytil.shape[0]
    na = alphas.shape[0]
    nl = l1s.shape[0]
    nv = XvT.shape[1]
    w = np.zeros(p)
    wf = np.zeros(p)
    sg = np.zeros(p, np.int8)
    sg0 = np.zeros(p, np.int8)
    t0 = np.zeros(p)
    r0 = np.zeros(m)
    nsg = np.zeros(p, np.int8)
    inM = np.zeros(p, np.bool_)
    t = np.zeros(p)
    tf = np.zeros(p)
    tt = np.zeros(p)
    r = np.zeros(m)
    rf = np.zeros(m)
    rt = np.zeros(m)
    M = np.zeros((m, m))
    H = np.zeros((m, m))
    b = np.zeros(m)
    idx = np.zeros(p, np.int64)
    pred = np.zeros(nv)
    znorm = np.zeros(p)
    for j in range(p):
        znorm[j] = _norm(ZT[j])
    for ti in range(T):
        ytil = Ytil[ti]
        c = C[ti]
        cmax = 0.0
        for j in range(p):
            if abs(c[j]) > cmax:
                cmax = abs(c[j])
        for li in range(nl):
            l1 = l1s[li]
            rho = l1 / (1.0 - l1)
            # path state: start at w = 0 (r = y, t = c)
            for j in range(p):
                sg[j] = 0
                t[j] = c[j]
                inM[j] = False
            for i in range(m):
                r[i] = ytil[i]
                for q in range(m):
                    M[i, q] = 0.0
            a_prev = cmax / l1  # the state w = 0 is the solution at alpha * l1 = max|c|
            for ai in range(na):
                a = alphas[ai]
                lam1 = a * l1
                lam2 = a - lam1
                if lam1 >= cmax:  # KKT bound: every coefficient exactly zero (screening)
                    out[ti, li, ai] = np.nan
                    continue
                stats[1] += 1
                for j in range(p):  # save the warm state (previous converged point)
                    sg0[j] = sg[j]
                    t0[j] = t[j]
                for i in range(m):
                    r0[i] = r[i]
                converged = _newton_point(ZT, G, ytil, c, lam1, lam2, rho, znorm, sg, nsg, idx,
                                          inM, M, H, b, w, wf, t, tf, tt, r, rf, rt, stats)
                nsub = 8
                while not converged and nsub <= 512:
                    # continuation: walk from the previous converged alpha in nsub geometric steps,
                    # each close enough for the warm-started Newton to converge
                    for j in range(p):
                        sg[j] = sg0[j]
                        t[j] = t0[j]
                    for i in range(m):
                        r[i] = r0[i]
                    converged = True
                    for q in range(1, nsub + 1):
                        aq = a_prev * (a / a_prev) ** (q / nsub) if q < nsub else a
                        converged = _newton_point(
                            ZT, G, ytil, c, aq * l1, aq - aq * l1, rho, znorm, sg, nsg, idx, inM,
                            M, H, b, w, wf, t, tf, tt, r, rf, rt, stats)
                        if not converged:
                            break
                    stats[4] += 1
                    nsub *= 8
                if not converged:
                    stats[2] += 1
                    out[ti, li, ai] = np.nan
                    continue
                a_prev = a
                if ai == na - 1 and wout.shape[0] > 0:
                    for j in range(p):
                        wout[ti, li, j] = w[j]
                # evaluation r (intercept dropped: r is shift invariant)
                out[ti, li, ai] = _score_w(w, XvT, Yvn[ti], pred)
    return out


@njit(cache=True, fastmath=_FM)
def _score_w(w, XvT, yvn, pred):
    """Pearson r of the predictions X_ev w (intercept dropped) with the evaluation target."""
    p = w.shape[0]
    nv = XvT.shape[1]
    for i in range(nv):
        pred[i] = 0.0
    nz = False
    for j in range(p):
        wj = w[j]
        if wj != 0.0:
            nz = True
            for i in range(nv):
                pred[i] += wj * XvT[j, i]
    if not nz:
        return np.nan
    return pearson(pred, yvn)

