"""The per-cell ElasticNet grid search (SPEC 4.4), exact and fast.

Procedure (SPEC 4.4), for every target cell and every outer train/test split:

1. inner 2-fold cross-validation on that split's training bins. The folds are
   ``sklearn.model_selection.KFold(n_splits=2, shuffle=False)`` over the split's ``train``
   index array *in the order the split gives it* (for random splits that order is already a
   random permutation, SPEC 4.2): fold 0 validates on ``train[:ceil(n/2)]`` and fits on the
   rest, fold 1 the other way round;
2. for every (alpha, l1_ratio) of the grid: fit an ElasticNet on the fold's fit bins, score
   the Pearson r of its predictions on the fold's validation bins, average the two folds
   (a NaN r - constant predictions, e.g. all coefficients zero - makes the mean NaN, and NaN
   ranks below every number);
3. pick the combination with the best mean r (first in grid order, alpha-major, among exact
   ties; the user's ``alphas`` / ``l1_ratios`` order is the grid order);
4. refit on the whole training part with that choice and score Pearson r on the test bins.

Alpha convention. ``alpha`` is in the user's convention (SPEC 4.4, ``mec.core.constants``);
scikit-learn's ElasticNet gets ``alpha / n_fit`` where **n_fit is the number of bins of the
fit being done**: the inner fold's fit half (about n_train / 2) for the cross-validation fits,
the whole training part (n_train) for the refit - exactly what ``mec.mappers.SKLinearMap``
does with ``X.shape[0]`` when the choices are reused through ``map_kwargs_per_cell``. With it
the problem solved is, on bins centred by the fit bins' means (``fit_intercept=True``),

    minimise_w  0.5 ||y - X w||^2 + alpha * (l1_ratio ||w||_1 + 0.5 (1 - l1_ratio) ||w||^2),

so ``ElasticNet(alpha=a / n_fit, l1_ratio -> 0)`` is ``Ridge(alpha=a)`` and one user alpha
means the same penalty in the inner fits and in the refit.

Exactness. Every fit is solved to machine precision (the exact minimiser), not to
scikit-learn's default ``tol=1e-4`` duality gap: that tolerance leaves validation r values
wrong in the 4th-6th digit, and at tiny alphas with more sources than bins coordinate descent
stops at ``max_iter`` far from the minimiser, so "the same choice as scikit-learn with default
tolerance" is not well defined. The brute-force reference in the tests is scikit-learn's
``ElasticNet`` run to convergence (``tol=0``, large ``max_iter``) on well-conditioned cases.

How it is fast (same answers, see tests/test_elasticnet.py):

* the design matrix of an animal's source is shared by all its target cells: the fit bins are
  centred and rotated once per fold into an (n_fit - 1)-dimensional orthonormal basis of the
  centred subspace (``Z``), with the Gram matrix ``Z^T Z`` precomputed;
* for each l1_ratio < 1 the alphas are walked from large to small with warm starts, each point
  solved exactly by a semi-smooth Newton method on the dual (the residual r in n_fit - 1
  dimensions): given the active set A = {j : |z_j^T r| > alpha l1} and its signs, the
  minimiser is one linear solve, in the primal (|A| x |A|, Gram) or dual ((n-1) x (n-1),
  incrementally updated Z_A Z_A^T) form, whichever is smaller; the iteration stops when the
  solve reproduces the active set and signs it came from (then the KKT conditions hold
  exactly). Warm starts make that one or two solves per grid point;
* screening: when alpha * l1_ratio >= max_j |x_j^T y| (KKT bound) every coefficient is exactly
  zero, predictions are constant and r is NaN - no solve;
* l1_ratio == 1 (the Lasso, no ridge term) is solved along its exact piecewise-linear path
  by the LARS homotopy (Efron et al. 2004, Lasso modification) and read at every alpha;
* the inner loops are compiled with numba (cached on disk after the first run).

Validation. tests/test_elasticnet.py compares every grid score, choice and test score with a
brute-force scikit-learn search, and checks the KKT conditions where coordinate descent cannot
converge; benchmarks/elasticnet_grid.py times both on data shaped like the synthetic dataset.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd

from mec.data.arenas import arena_id, arena_key

try:  # numba is optional at import time so that a dry run never pays for it
    import numba as _numba
except ImportError:  # pragma: no cover - exercised only without numba
    _numba = None

__all__ = [
    "elasticnet_grid_search",
    "elasticnet_cv_grid",
    "elasticnet_animal_table",
    "choices_to_map_kwargs_per_cell",
    "inner_folds",
    "grid_constants",
    "elasticnet_coef",
    "run_elasticnet_grid",
    "gather_elasticnet",
]

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


@njit(cache=True, fastmath=_FM)
def lasso_paths(ZT, G, C, XvT, Yvn, alphas, out, stats):
    """Validation r of the exact Lasso (l1_ratio = 1) at each alpha, by the LARS homotopy.

    Minimises 0.5 ||y - Z w||^2 + alpha ||w||_1 (Efron et al. 2004, Lasso modification): the
    solution is piecewise linear in alpha; the path is followed kink by kink from
    alpha_max = max|Z^T y| (w = 0) down, variables joining when their correlation reaches the
    active ones' and leaving when their coefficient crosses zero, and read exactly at every
    grid alpha inside each segment. alphas: (na,) decreasing; out: (T, na).
    stats[0] counts path steps.
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
    for ti in range(T):
        c = C[ti]
        for j in range(p):
            w[j] = 0.0
            sg[j] = 0
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
            gi += 1
    return out


def _kernels():
    return {"enet_paths": enet_paths, "pearson": pearson, "lasso_paths": lasso_paths}




# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def grid_constants(grid: str = "short") -> tuple[np.ndarray, np.ndarray]:
    """(alphas, l1_ratios) of the "short" or "full" grid of mec.core.constants (SPEC 4.4)."""
    from mec.core import constants

    if grid == "short":
        return np.asarray(constants.ALPHA_RNG_SHORT), np.asarray(constants.L1_RATIO_RNG_SHORT)
    if grid == "full":
        return np.asarray(constants.ALPHA_RNG), np.asarray(constants.L1_RATIO_RNG)
    raise ValueError(f"ElasticNet grid must be 'short' or 'full', got {grid!r}")


def inner_folds(train: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two inner folds of an outer split: [(fit_bins, validation_bins), ...].

    ``KFold(n_splits=2, shuffle=False)`` over ``train`` in the given order (SPEC 4.4 "two
    halves of 10% each"): validation = train[:ceil(n/2)], then train[ceil(n/2):].
    """
    from sklearn.model_selection import KFold

    train = np.asarray(train)
    return [(train[f], train[v]) for f, v in KFold(n_splits=2, shuffle=False).split(train)]


def _centred_basis(n: int) -> np.ndarray:
    """(n, n-1) orthonormal basis of the vectors summing to zero (Householder reflection)."""
    u = np.full(n, 1.0 / math.sqrt(n))
    v = -u.copy()
    v[0] += 1.0
    vv = float(v @ v)
    if vv == 0.0:  # n == 1
        return np.zeros((1, 0))
    H = np.eye(n) - 2.0 * np.outer(v, v) / vv  # H e1 = u; columns 1.. span u-perp
    return H[:, 1:]


class _Fold:
    """Everything the kernels need about one (fit bins, evaluation bins) pair."""

    def __init__(self, X, Y, fit, ev):
        Xf = X[fit]
        Yf = Y[fit]
        xm = Xf.mean(axis=0)
        ym = Yf.mean(axis=0)
        Q = _centred_basis(len(fit))  # Q^T 1 = 0, so Q^T X_fit = Q^T (X_fit - mean)
        self.ZT = np.ascontiguousarray((Q.T @ (Xf - xm)).T)  # (p, m)
        self.G = self.ZT @ self.ZT.T  # (p, p) Gram of the centred fit bins
        self.Ytil = np.ascontiguousarray((Q.T @ (Yf - ym)).T)  # (T, m)
        self.C = self.Ytil @ self.ZT.T  # (T, p) = X_c^T y_c
        self.n_fit = len(fit)
        self.XvT = np.ascontiguousarray((X[ev] - xm).T)  # (p, nv)
        yv = Y[ev] - Y[ev].mean(axis=0)
        nrm = np.sqrt((yv * yv).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            self.Yvn = np.ascontiguousarray(np.where(nrm > 0, yv / nrm, 0.0).T)  # (T, nv)


def _lasso_scores(fold: _Fold, alphas_desc: np.ndarray, targets) -> np.ndarray:
    """(len(targets), na) evaluation r of the exact Lasso (l1_ratio = 1) at each alpha."""
    out = np.full((len(targets), len(alphas_desc)), np.nan)
    st = np.zeros(1, np.int64)
    _kernels()["lasso_paths"](fold.ZT, fold.G, np.ascontiguousarray(fold.C[targets]), fold.XvT,
                              np.ascontiguousarray(fold.Yvn[targets]),
                              np.ascontiguousarray(alphas_desc, float), out, st)
    return out


def _fold_scores(fold: _Fold, alphas_desc, l1s, targets=None, stats=None) -> np.ndarray:
    """(T', nl, na) evaluation r of every grid point (alphas decreasing) on one fold."""
    kern = _kernels()["enet_paths"]
    T = fold.Ytil.shape[0]
    targets = np.arange(T) if targets is None else np.asarray(targets)
    na, nl = len(alphas_desc), len(l1s)
    out = np.full((len(targets), nl, na), np.nan)
    if stats is None:
        stats = np.zeros(5, np.int64)
    enet = np.flatnonzero(l1s < 1.0)
    if enet.size:
        sub = np.full((len(targets), enet.size, na), np.nan)
        kern(fold.ZT, fold.G, np.ascontiguousarray(fold.Ytil[targets]),
             np.ascontiguousarray(fold.C[targets]), fold.XvT,
             np.ascontiguousarray(fold.Yvn[targets]), np.ascontiguousarray(alphas_desc, float),
             np.ascontiguousarray(l1s[enet], float), sub, stats, np.zeros((0, 0, 0)))
        out[:, enet, :] = sub
    for li in np.flatnonzero(l1s == 1.0):
        out[:, li, :] = _lasso_scores(fold, alphas_desc, targets)
    return out


def elasticnet_coef(X, y, alpha, l1_ratio):
    """Exact ElasticNet coefficients of one fit (for checks; the grid never needs them).

    X: (n, p), y: (n,); alpha in the user convention over these n bins (sklearn alpha / n),
    0 < l1_ratio < 1. Minimises 0.5 ||y_c - X_c w||^2 + alpha (l1 |w|_1 + (1 - l1) |w|^2 / 2)
    on centred data by the grid's kernel, walking down the paper's alpha grid to ``alpha``
    with warm starts. Returns (coef (p,), intercept).
    """
    from mec.core import constants

    X = np.asarray(X, float)
    y = np.asarray(y, float).reshape(-1, 1)
    if not 0 < l1_ratio < 1:
        raise ValueError(f"elasticnet_coef needs 0 < l1_ratio < 1, got {l1_ratio!r}")
    fold = _Fold(X, y, np.arange(X.shape[0]), np.arange(X.shape[0]))
    path = np.concatenate([np.sort(constants.ALPHA_RNG[constants.ALPHA_RNG > alpha])[::-1],
                           [float(alpha)]])
    wout = np.zeros((1, 1, X.shape[1]))
    out = np.full((1, 1, len(path)), np.nan)
    enet_paths(fold.ZT, fold.G, fold.Ytil, fold.C, fold.XvT, fold.Yvn, path,
               np.array([float(l1_ratio)]), out, np.zeros(5, np.int64), wout)
    w = wout[0, 0]
    return w, float(y.mean() - X.mean(axis=0) @ w)


def _check_grid(alphas, l1_ratios):
    alphas = np.asarray(alphas, dtype=float).ravel()
    l1s = np.asarray(l1_ratios, dtype=float).ravel()
    if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
        raise ValueError(f"ElasticNet alphas must be finite and > 0, got {alphas!r}")
    if l1s.size == 0 or np.any(~(l1s > 0)) or np.any(l1s > 1):
        raise ValueError(f"ElasticNet l1_ratios must be in (0, 1], got {l1s!r}")
    if len(np.unique(alphas)) != alphas.size or len(np.unique(l1s)) != l1s.size:
        raise ValueError("ElasticNet alphas and l1_ratios must not repeat a value")
    return alphas, l1s


def elasticnet_cv_grid(X_src, Y_tgt, train, alphas, l1_ratios, return_folds=False,
                       stats=None):
    """Mean inner-CV validation Pearson r of every grid point for one outer split.

    X_src: (n_bins, n_src), Y_tgt: (n_bins, n_tgt), finite on the bins used.
    train: (n_train,) bin indices of the outer training part (order matters, see module doc).
    Returns (n_tgt, n_alpha, n_l1) mean r over the two folds (NaN where either fold is NaN),
    in the given alpha / l1 order; with return_folds also the (2, n_tgt, n_alpha, n_l1) folds.
    stats: optional (5,) int64 solver counters, incremented (see enet_paths).
    """
    X = np.asarray(X_src, dtype=float)
    Y = np.asarray(Y_tgt, dtype=float)
    alphas, l1s = _check_grid(alphas, l1_ratios)
    order = np.argsort(-alphas, kind="stable")
    folds = []
    for fit, val in inner_folds(train):
        f = _Fold(X, Y, fit, val)
        s = _fold_scores(f, alphas[order], l1s, stats=stats)  # (T, nl, na_desc)
        g = np.empty_like(s)
        g[:, :, order] = s
        folds.append(np.transpose(g, (0, 2, 1)))
    folds = np.stack(folds)
    mean = folds.mean(axis=0)  # NaN if either fold is NaN
    return (mean, folds) if return_folds else mean


def _choose(cv: np.ndarray) -> np.ndarray:
    """Index (alpha-major flat) of the best mean r per target; NaN ranks worst; first on ties."""
    flat = cv.reshape(cv.shape[0], -1)
    filled = np.where(np.isnan(flat), -np.inf, flat)
    return np.argmax(filled, axis=1)


def _refit_test_scores(X, Y, train, test, alphas, l1s, a_idx, l_idx) -> np.ndarray:
    """Test Pearson r of each target refit on all of train with its chosen (alpha, l1)."""
    T = Y.shape[1]
    fold = _Fold(X, Y, np.asarray(train), np.asarray(test))
    out = np.full(T, np.nan)
    for li in np.unique(l_idx):
        tg = np.flatnonzero(l_idx == li)
        # walk the alphas down to the smallest chosen one for these targets (warm starts)
        amin = alphas[a_idx[tg]].min()
        path = np.sort(alphas[alphas >= amin])[::-1]
        s = _fold_scores(fold, path, l1s[li : li + 1], targets=tg)  # (len(tg), 1, len(path))
        for row, ti in enumerate(tg):
            out[ti] = s[row, 0, int(np.flatnonzero(path == alphas[a_idx[ti]])[0])]
    return out


def elasticnet_grid_search(X_src, Y_tgt, splits, alphas, l1_ratios, progress=True,
                           return_stats=False):
    """Per-target ElasticNet hyperparameter choice and test score for every outer split.

    X_src: (n_bins, n_src) source responses (e.g. Hz), finite on every bin used by ``splits``.
    Y_tgt: (n_bins, n_tgt) target cells' responses, same bins.
    splits: list of {"train": idx, "test": idx} (rows of X_src / Y_tgt), e.g. from
        :func:`mec.fits.splits.generate_train_test_splits` on the kept bins.
    alphas: user-convention alphas (sklearn gets alpha / n_fit, module docstring);
    l1_ratios: in (0, 1].
    Returns a DataFrame with one row per target and split: target (column of Y_tgt), split,
    alpha, l1_ratio (the choice), cv_score (its mean inner validation r), test_score (Pearson r
    on the test bins after refitting on the whole training part).
    """
    X = np.asarray(X_src, dtype=float)
    Y = np.asarray(Y_tgt, dtype=float)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"X_src {X.shape} and Y_tgt {Y.shape} must be 2-D with the same bins")
    alphas, l1s = _check_grid(alphas, l1_ratios)
    rows = []
    stats = np.zeros(5, np.int64)
    it = range(len(splits))
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="elasticnet splits", leave=False)
    for s in it:
        train = np.asarray(splits[s]["train"])
        test = np.asarray(splits[s]["test"])
        used = np.concatenate([train, test])
        if not (np.isfinite(X[used]).all() and np.isfinite(Y[used]).all()):
            raise ValueError(f"split {s}: X_src / Y_tgt have non-finite values on its bins")
        if len(train) < 4:
            raise ValueError(f"split {s}: {len(train)} training bins; inner 2-fold CV needs >= 4")
        cv = elasticnet_cv_grid(X, Y, train, alphas, l1s, stats=stats)  # (T, na, nl)
        best = _choose(cv)
        a_idx, l_idx = np.unravel_index(best, cv.shape[1:])
        test_r = _refit_test_scores(X, Y, train, test, alphas, l1s, a_idx, l_idx)
        for ti in range(Y.shape[1]):
            rows.append((ti, s, alphas[a_idx[ti]], l1s[l_idx[ti]], cv[ti, a_idx[ti], l_idx[ti]],
                         test_r[ti]))
    df = pd.DataFrame(rows, columns=["target", "split", "alpha", "l1_ratio", "cv_score",
                                     "test_score"])
    if stats[2]:
        warnings.warn(f"{stats[2]} ElasticNet grid points did not converge", RuntimeWarning)
    return (df, stats) if return_stats else df


# ---------------------------------------------------------------------------------------------
# dataset level
# ---------------------------------------------------------------------------------------------
def _cell_slice(cells, n_cells: int) -> np.ndarray:
    """Target cell indices from None (all), a slice, an index array, or (i, k) = chunk i of k."""
    if cells is None:
        return np.arange(n_cells)
    if isinstance(cells, slice):
        return np.arange(n_cells)[cells]
    if isinstance(cells, tuple) and len(cells) == 2:
        i, k = int(cells[0]), int(cells[1])
        if k < 1 or not 0 <= i < k:
            raise ValueError(f"cell chunk (i={i}, k={k}) needs k >= 1 and 0 <= i < k")
        return np.array_split(np.arange(n_cells), k)[i]
    idx = np.asarray(cells, dtype=int).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= n_cells):
        raise ValueError(f"cell indices {idx.tolist()} out of range for {n_cells} cells")
    return idx


def elasticnet_animal_table(dataset, arena, animal, alphas, l1_ratios, train_frac=0.2,
                            num_splits=10, split_start_seed=0, cells=None, progress=True):
    """ElasticNet choices of one animal's cells with the inter-animal holdout source (SPEC 4.3,
    4.4): results/elasticnet/{arena}/{animal}.csv rows.

    dataset: ``dataset[arena][animal] = {"resp": (nx, ny, n_cells), "cell_ids": ...}``.
    arena: float key (m); animal: key of ``dataset[arena]``.
    cells: None (all), a slice / index array, or (i, k) = chunk i of k (np.array_split order).
    The kept bins (finite in every source cell and every target cell of the animal, not only
    the chunk, with mec.fits.bins' exceptions for single broken units) and the splits are
    those of mec.fits.core's inter-animal holdout fit, so the choices line up with its splits.
    Returns a DataFrame: arena, animal, cell_id, split, alpha (user convention), l1_ratio,
    cv_score, test_score; rows cell-major (cells in dataset order, then split).
    """
    from mec.fits.bins import FitInputError, FitInputWarning, kept_bins
    from mec.fits.splits import generate_train_test_splits

    if arena not in dataset:
        raise ValueError(f"arena {arena!r} not in the dataset (arenas: {list(dataset)})")
    adata = dataset[arena]
    if animal not in adata:
        raise ValueError(f"animal {animal!r} not in arena {arena!r} (animals: {list(adata)})")
    others = [a for a in adata if a != animal]
    if not others:
        raise ValueError(f"arena {arena!r} has only animal {animal!r}; holdout needs >= 2")
    target = np.asarray(adata[animal]["resp"], dtype=float)
    nx, ny, n_cells = target.shape
    source = np.concatenate([np.asarray(adata[a]["resp"], dtype=float) for a in others], axis=-1)
    if source.shape[:2] != (nx, ny):
        raise ValueError(f"arena {arena!r}: source maps {source.shape[:2]} differ from target "
                         f"animal {animal!r} maps {(nx, ny)}")
    X = source.reshape(-1, source.shape[-1])
    Y = target.reshape(-1, n_cells)
    ids = np.asarray(adata[animal]["cell_ids"]).astype(str)
    src_ids = [str(c) for a in others for c in np.asarray(adata[a]["cell_ids"]).ravel()]
    where = f"ElasticNet grid, arena {arena_key(arena)}, target animal {animal}"
    cols = ["arena", "animal", "cell_id", "split", "alpha", "l1_ratio", "cv_score", "test_score"]
    sel = _cell_slice(cells, n_cells)
    if sel.size == 0:
        return pd.DataFrame(columns=cols)
    # The bins and units of mec.fits.core's holdout fit (mec.fits.bins): the animal's cells
    # together on the bins they share; a cell left out of that fit on its own bins.
    kept = kept_bins(np.isfinite(X), np.isfinite(Y), src_ids, ids, where)
    fits = []
    if kept.targets[sel].any():
        fits.append((sel[kept.targets[sel]], kept, where))
    for j in sel[np.isin(sel, kept.alone)]:
        at = f"{where}, cell {ids[j]!r} on its own bins"
        try:
            fits.append((np.array([j]), kept_bins(np.isfinite(X), np.isfinite(Y[:, [j]]), src_ids,
                                                  ids[[j]], at), at))
        except FitInputError as err:
            warnings.warn(f"{err}; no choice made", FitInputWarning, stacklevel=2)
    parts = []
    for tgt, kb, at in fits:
        try:
            splits = generate_train_test_splits(nx * ny, train_frac=train_frac,
                                                num_splits=num_splits,
                                                split_start_seed=split_start_seed,
                                                grid_shape=(nx, ny), valid=kb.valid)
            part = elasticnet_grid_search(X[kb.valid][:, kb.sources], Y[kb.valid][:, tgt], splits,
                                          alphas, l1_ratios, progress=progress)
        except ValueError as err:
            if at != where:  # one cell on its own bins: the others go on (as in mec.fits.core)
                warnings.warn(f"{at}: {err}; no choice made", FitInputWarning, stacklevel=2)
                continue
            raise type(err)(f"{at}: {err}") from None
        part["target"] = tgt[part["target"].to_numpy()]
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=cols)
    df = pd.concat(parts, ignore_index=True)
    # cell-major rows (cell order of the dataset, then split): chunks concatenate in order
    df = df.sort_values(["target", "split"], kind="stable").reset_index(drop=True)
    df.insert(0, "cell_id", ids[df["target"].to_numpy()])
    df.insert(0, "animal", str(animal))
    df.insert(0, "arena", arena_id(arena))
    return df[cols]


def choices_to_map_kwargs_per_cell(table) -> dict:
    """``{cell_id: [per-split kwargs]}`` for ``map_kwargs_per_cell`` ("fixed inter-animal").

    Each entry is ``{"regression_type": "ElasticNet", "alpha": a, "l1_ratio": r}`` with ``a``
    in the USER convention (not divided): mec.mappers.SKLinearMap divides it by the number of
    training bins of the fit it does, the same n_fit convention as this module.
    """
    from mec.fits.core import elasticnet_kwargs_per_cell

    return elasticnet_kwargs_per_cell(table)


# ---------------------------------------------------------------------------------------------
# pipeline entry points (workflow/scripts/elasticnet_grid.py, elasticnet_gather.py)
# ---------------------------------------------------------------------------------------------
def run_elasticnet_grid(dataset_path, arena, animal, grid="short", train_frac=0.2, num_splits=10,
                        split_start_seed=0, chunk=None, out_path=None, progress=True):
    """One job of the grid: one arena, one animal, optionally chunk i of k of its cells.

    dataset_path: HDF5 dataset (mec.data.load_dataset); arena: float (m); animal: str;
    grid: "short" | "full" (mec.core.constants); chunk: None or (i, k); out_path: CSV written
    atomically (the results/elasticnet/{arena}/{animal}.csv columns). Returns the table.
    """
    from mec.data import load_dataset
    from mec.data.report import check_animals
    from mec.io import write_table

    arena = arena_id(arena)
    alphas, l1s = grid_constants(grid)
    ds = load_dataset(dataset_path, arenas=[arena])
    check_animals(ds, where=f"dataset {dataset_path}")  # as interanimal: one rule, one error
    cells = None if chunk is None else (int(chunk[0]), int(chunk[1]))
    t0 = time.perf_counter()
    df = elasticnet_animal_table(ds, arena, animal, alphas, l1s, train_frac=train_frac,
                                 num_splits=num_splits, split_start_seed=split_start_seed,
                                 cells=cells, progress=progress)
    print(f"elasticnet grid {grid} ({len(alphas)} x {len(l1s)}), arena {arena_key(arena)}, animal "
          f"{animal}, chunk {chunk}: {df['cell_id'].nunique()} cells x {num_splits} splits in "
          f"{time.perf_counter() - t0:.1f} s")
    if out_path is not None:
        write_table(df, out_path)
    return df


def gather_elasticnet(chunk_paths, out_path=None):
    """Concatenate chunk tables of one animal into results/elasticnet/{arena}/{animal}.csv.

    Rows keep the chunks' order (chunk i of k holds consecutive cells, cell-major), so the
    result equals the unchunked table; a cell in two chunks is an error.
    """
    from mec.io import write_table

    parts = [pd.read_csv(p, dtype={"cell_id": str, "animal": str}) for p in chunk_paths]
    if not parts:
        raise ValueError("gather_elasticnet needs at least one chunk table")
    df = pd.concat(parts, ignore_index=True)
    dup = df.duplicated(["cell_id", "split"])
    if dup.any():
        raise ValueError(f"cells in more than one chunk: {sorted(set(df.loc[dup, 'cell_id']))[:5]}")
    if out_path is not None:
        write_table(df, out_path)
    return df
