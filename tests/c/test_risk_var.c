/* Risk from C: VaR/ES known answers and the quantile convention, historical
 * portfolios and rolling windows against per-row tails, parametric VaR,
 * Cholesky errors, Monte Carlo determinism (thread counts, Philox stream,
 * cpu AVX2 vs scalar, cpu vs opencl), stress revaluation, FFT aggregation against direct
 * convolution and Panjer's recursion, and argument errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkclob/zkclob.h"

static int cpu_device(void)
{
    int dev;
    assert_int_equal(zc_device_find("cpu", &dev), ZC_OK);
    return dev;
}

static int close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(1.0, fmax(fabs(a), fabs(b))); }

/* Deterministic pseudo-random values in [-1, 1). */
static double lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static void test_var_es_known_answer(void **state)
{
    (void)state;
    double x[100], var, es;
    /* A shuffled 1..100: h = 99 * 0.95 = 94.05 between 95 and 96. */
    for (int i = 0; i < 100; i++)
        x[i] = (double)((i * 37) % 100 + 1);
    int dev = cpu_device();
    assert_int_equal(zc_risk_var_es(&dev, x, 1, 100, 0.95, &var, &es), ZC_OK);
    assert_true(close_rel(var, 95.05, 1e-13));
    assert_true(es == 98.0); /* mean of 96..100 */
    /* Ties: every loss equal. */
    for (int i = 0; i < 100; i++)
        x[i] = 3.5;
    assert_int_equal(zc_risk_var_es(&dev, x, 1, 100, 0.99, &var, &es), ZC_OK);
    assert_true(var == 3.5 && es == 3.5);
    /* One loss. */
    assert_int_equal(zc_risk_var_es(&dev, x, 1, 1, 0.5, &var, &es), ZC_OK);
    assert_true(var == 3.5 && es == 3.5);
}

static void test_historical_matches_rows(void **state)
{
    (void)state;
    enum { S = 300, A = 7, P = 5 };
    static double pnl[S * A], w[P * A], loss[P * S], var[P], es[P], rv[P], re[P];
    uint64_t seed = 1;
    for (int i = 0; i < S * A; i++)
        pnl[i] = lcg(&seed) * 10.0;
    for (int i = 0; i < P * A; i++)
        w[i] = lcg(&seed);
    for (int p = 0; p < P; p++)
        for (int s = 0; s < S; s++) {
            double acc = 0.0;
            for (int a = 0; a < A; a++)
                acc += w[p * A + a] * pnl[s * A + a];
            loss[p * S + s] = -acc;
        }
    int dev = cpu_device();
    assert_int_equal(zc_risk_historical(&dev, pnl, S, A, w, P, 0.99, var, es), ZC_OK);
    assert_int_equal(zc_risk_var_es(&dev, loss, P, S, 0.99, rv, re), ZC_OK);
    for (int p = 0; p < P; p++)
        assert_true(var[p] == rv[p] && es[p] == re[p]);

    /* Per position and rolling. */
    static double col[S], pv[A], pe[A], rollv[A * (S - 49)], rolle[A * (S - 49)];
    assert_int_equal(zc_risk_historical(&dev, pnl, S, A, NULL, A, 0.975, pv, pe), ZC_OK);
    assert_int_equal(zc_risk_rolling(&dev, pnl, S, A, 50, 0.975, rollv, rolle), ZC_OK);
    for (int a = 0; a < A; a++) {
        for (int s = 0; s < S; s++)
            col[s] = -pnl[s * A + a];
        double v, e;
        assert_int_equal(zc_risk_var_es(&dev, col, 1, S, 0.975, &v, &e), ZC_OK);
        assert_true(v == pv[a] && e == pe[a]);
        for (int t = 0; t < S - 49; t += 37) {
            assert_int_equal(zc_risk_var_es(&dev, col + t, 1, 50, 0.975, &v, &e), ZC_OK);
            assert_true(v == rollv[a * (S - 49) + t] && e == rolle[a * (S - 49) + t]);
        }
    }
}

static void test_parametric_and_cholesky(void **state)
{
    (void)state;
    double w1 = 1.0, c1 = 1.0, var, es, sigma, m, c;
    assert_int_equal(zc_risk_parametric(&w1, NULL, &c1, 1, 0.99, &var, &es, &sigma, &m, &c), ZC_OK);
    /* scipy.stats.norm.ppf(0.99) and norm.pdf(ppf) / 0.01 */
    assert_true(close_rel(var, 2.3263478740408408, 1e-14));
    assert_true(close_rel(es, 2.6652142203458076, 1e-14));
    double z;
    assert_int_equal(zc_risk_norm_ppf(1e-10, &z), ZC_OK);
    assert_true(close_rel(z, -6.361340902404056, 1e-14));

    double w[3] = {1.0, -2.0, 0.5}, cov[9] = {4, 1, 0.5, 1, 3, -0.2, 0.5, -0.2, 2}, marg[3], comp[3];
    assert_int_equal(zc_risk_parametric(w, NULL, cov, 3, 0.95, &var, &es, &sigma, marg, comp), ZC_OK);
    assert_true(close_rel(comp[0] + comp[1] + comp[2], var, 1e-13));

    double L[9];
    assert_int_equal(zc_risk_cholesky(cov, 3, L), ZC_OK);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0.0;
            for (int k = 0; k < 3; k++)
                s += L[i * 3 + k] * L[j * 3 + k];
            assert_true(close_rel(s, cov[i * 3 + j], 1e-14));
        }
    double bad[4] = {1, 2, 2, 1}, asym[4] = {1, 0.1, 0.2, 1}, sing[4] = {1, 1, 1, 1};
    assert_int_equal(zc_risk_cholesky(bad, 2, L), ZC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zc_last_error(), "positive definite"));
    assert_int_equal(zc_risk_cholesky(asym, 2, L), ZC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zc_last_error(), "symmetric"));
    assert_int_equal(zc_risk_cholesky(sing, 2, L), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_risk_parametric(w, NULL, bad, 2, 0.99, &var, &es, NULL, NULL, NULL),
                     ZC_ERR_INVALID_ARGUMENT);
}

enum { NA = 5, NP = 4000 };

static void mc_setup(double *spot, double *cov, zc_risk_position *pos)
{
    for (int i = 0; i < NA; i++) {
        spot[i] = 100.0 + 10.0 * i;
        for (int j = 0; j < NA; j++)
            cov[i * NA + j] = (i == j ? 1.0 : 0.3) * 0.0004;
    }
    zc_risk_position p[4] = {{0, ZC_RISK_LINEAR, 10.0, 0, 0, 0},
                             {1, ZC_RISK_CALL, -5.0, 110.0, 0.5, 0.2},
                             {3, ZC_RISK_PUT, 7.0, 120.0, 0.25, 0.3},
                             {4, ZC_RISK_LINEAR, -3.0, 0, 0, 0}};
    memcpy(pos, p, sizeof p);
}

static void test_monte_carlo_deterministic(void **state)
{
    (void)state;
    double spot[NA], cov[NA * NA];
    zc_risk_position pos[4];
    mc_setup(spot, cov, pos);
    zc_risk_market mkt = {spot, NA, 1, 1.0 / 252, 0.01};
    zc_risk_mc_params p = {NP, 42, 0.99};
    static double la[NP], lb[NP];
    zc_risk_mc_result ra, rb;
    int dev = cpu_device();
    assert_int_equal(zc_device_set_threads(dev, 1), ZC_OK);
    assert_int_equal(zc_risk_monte_carlo(&dev, &p, &mkt, NULL, cov, pos, 4, &ra, la), ZC_OK);
    assert_int_equal(zc_device_set_threads(dev, 0), ZC_OK);
    assert_int_equal(zc_risk_monte_carlo(&dev, &p, &mkt, NULL, cov, pos, 4, &rb, lb), ZC_OK);
    assert_memory_equal(la, lb, sizeof la);
    assert_memory_equal(&ra, &rb, sizeof ra);
    assert_true(ra.var_lo <= ra.var && ra.var <= ra.var_hi && ra.es >= ra.var && ra.es_se > 0.0);
    /* The summary is that of the returned losses. */
    double v, e;
    assert_int_equal(zc_risk_var_es(&dev, la, 1, NP, 0.99, &v, &e), ZC_OK);
    assert_true(v == ra.var && close_rel(e, ra.es, 1e-12));

    /* Identity covariance, zero mean: shocks are the Philox normals (to the
     * rounding of the vector log/sin/cos the cpu backend may use). */
    double eye[NA * NA] = {0}, shocks[3 * NA], ref[NA];
    for (int i = 0; i < NA; i++)
        eye[i * NA + i] = 1.0;
    assert_int_equal(zc_risk_mc_scenarios(&dev, 42, 1000, 3, NA, NULL, eye, shocks), ZC_OK);
    for (int k = 0; k < 3; k++) {
        zc_philox_params pp = {ZC_PHILOX_4X32, {42, 0}, {0, 1000 + (uint64_t)k, 0, 0}};
        assert_int_equal(zc_philox_generate(&dev, &pp, ZC_RANDOM_NORMAL, ref, NA), ZC_OK);
        for (int i = 0; i < NA; i++)
            assert_true(close_rel(shocks[k * NA + i], ref[i], 1e-13));
    }
}

/* The cpu backend's AVX2+FMA Monte Carlo block against its scalar path:
 * the same Philox stream, so the losses agree to the rounding of the vector
 * log/sin/cos and the fma. 14 assets: two 6-row micro-kernel blocks plus
 * single rows; 1001 paths: a partial last block. */
static void test_monte_carlo_simd_matches_scalar(void **state)
{
    (void)state;
    if (zc_zk_simd_best() != ZC_SIMD_AVX2) {
        skip();
        return;
    }
    enum { N = 14, P = 1001 };
    double spot[N], cov[N * N], unused[NA * NA];
    zc_risk_position pos[4];
    mc_setup(spot, unused, pos);
    for (int i = 0; i < N; i++) {
        spot[i] = 100.0 + 10.0 * i;
        for (int j = 0; j < N; j++)
            cov[i * N + j] = (i == j ? 1.0 : 0.3) * 0.0004;
    }
    static double la[P], lb[P];
    zc_risk_mc_result ra, rb;
    int dev = cpu_device();
    for (uint32_t geometric = 0; geometric < 2; geometric++) {
        zc_risk_market mkt = {spot, N, geometric, 1.0 / 252, 0.01};
        zc_risk_mc_params p = {P, 5, 0.99};
        assert_int_equal(zc_zk_simd_set(ZC_SIMD_SCALAR), ZC_OK);
        zc_status st = zc_risk_monte_carlo(&dev, &p, &mkt, NULL, cov, pos, 4, &ra, la);
        assert_int_equal(zc_zk_simd_set(ZC_SIMD_AVX2), ZC_OK);
        assert_int_equal(st, ZC_OK);
        assert_int_equal(zc_risk_monte_carlo(&dev, &p, &mkt, NULL, cov, pos, 4, &rb, lb), ZC_OK);
        assert_true(memcmp(la, lb, sizeof la) != 0);
        for (int i = 0; i < P; i++)
            assert_true(close_rel(la[i], lb[i], 1e-9));
        assert_true(close_rel(ra.var, rb.var, 1e-9) && close_rel(ra.es, rb.es, 1e-9));
    }
}

static void test_opencl_agrees(void **state)
{
    (void)state;
    int ocl;
    if (zc_device_find("opencl", &ocl) != ZC_OK) {
        skip();
        return;
    }
    double spot[NA], cov[NA * NA];
    zc_risk_position pos[4];
    mc_setup(spot, cov, pos);
    zc_risk_market mkt = {spot, NA, 0, 1.0 / 252, 0.01};
    zc_risk_mc_params p = {NP, 7, 0.99};
    static double la[NP], lb[NP];
    zc_risk_mc_result ra, rb;
    int cpu = cpu_device(), dev = ocl;
    assert_int_equal(zc_risk_monte_carlo(&cpu, &p, &mkt, NULL, cov, pos, 4, &ra, la), ZC_OK);
    assert_int_equal(zc_risk_monte_carlo(&dev, &p, &mkt, NULL, cov, pos, 4, &rb, lb), ZC_OK);
    assert_int_equal(dev, ocl);
    for (int i = 0; i < NP; i++)
        assert_true(close_rel(la[i], lb[i], 1e-9));
    assert_true(close_rel(ra.var, rb.var, 1e-9));

    enum { S = 200, A = 3, P = 4 };
    static double pnl[S * A], w[P * A], va[P], ea[P], vb[P], eb[P];
    uint64_t seed = 9;
    for (int i = 0; i < S * A; i++)
        pnl[i] = lcg(&seed);
    for (int i = 0; i < P * A; i++)
        w[i] = lcg(&seed);
    cpu = cpu_device();
    dev = ocl;
    assert_int_equal(zc_risk_historical(&cpu, pnl, S, A, w, P, 0.95, va, ea), ZC_OK);
    assert_int_equal(zc_risk_historical(&dev, pnl, S, A, w, P, 0.95, vb, eb), ZC_OK);
    for (int i = 0; i < P; i++)
        assert_true(close_rel(va[i], vb[i], 1e-12) && close_rel(ea[i], eb[i], 1e-12));
}

static void test_stress_linear(void **state)
{
    (void)state;
    double spot[2] = {50.0, 200.0}, shocks[4] = {0.1, -0.05, -0.2, 0.0}, pnl[2];
    zc_risk_position pos[2] = {{0, ZC_RISK_LINEAR, 3.0, 0, 0, 0}, {1, ZC_RISK_LINEAR, -2.0, 0, 0, 0}};
    zc_risk_market mkt = {spot, 2, 0, 0.0, 0.0};
    int dev = cpu_device();
    assert_int_equal(zc_risk_stress(&dev, &mkt, pos, 2, shocks, 2, pnl), ZC_OK);
    assert_true(close_rel(pnl[0], 3.0 * 5.0 + 2.0 * 10.0, 1e-14));
    assert_true(close_rel(pnl[1], -30.0, 1e-14));
    /* A call deep in the money with no time value moves like the stock. */
    zc_risk_position call = {0, ZC_RISK_CALL, 1.0, 10.0, 0.0, 0.2};
    assert_int_equal(zc_risk_stress(&dev, &mkt, &call, 1, shocks, 1, pnl), ZC_OK);
    assert_true(close_rel(pnl[0], 5.0, 1e-14));
}

static void test_aggregate_loss(void **state)
{
    (void)state;
    double pmf[2 * 4] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.25, 0.25, 0.0}, out[7], tail;
    int dev = cpu_device();
    assert_int_equal(zc_risk_aggregate_loss(&dev, pmf, 2, 4, NULL, 7, out, &tail), ZC_OK);
    for (int k = 0; k < 7; k++) {
        double ref = 0.0;
        for (int i = 0; i <= k; i++)
            if (i < 4 && k - i < 4)
                ref += pmf[i] * pmf[4 + k - i];
        assert_true(fabs(out[k] - ref) < 1e-15);
    }
    assert_true(fabs(tail) < 1e-14);

    /* Compound Poisson vs Panjer: g0 = e^{-l(1-f0)}, gk = l/k sum j fj g(k-j). */
    enum { M = 64 };
    double sev[4] = {0.0, 0.5, 0.3, 0.2}, lam = 2.0, agg[M], g[M];
    assert_int_equal(zc_risk_aggregate_loss(&dev, sev, 1, 4, &lam, M, agg, &tail), ZC_OK);
    g[0] = exp(-lam * (1.0 - sev[0]));
    for (int k = 1; k < M; k++) {
        double s = 0.0;
        for (int j = 1; j <= k && j < 4; j++)
            s += j * sev[j] * g[k - j];
        g[k] = lam / k * s;
    }
    for (int k = 0; k < M; k++)
        assert_true(fabs(agg[k] - g[k]) < 1e-12);
    assert_true(fabs(tail) < 1e-12);
    double neg[2] = {1.5, -0.5};
    assert_int_equal(zc_risk_aggregate_loss(&dev, neg, 1, 2, NULL, 3, agg, &tail), ZC_ERR_INVALID_ARGUMENT);
}

static void test_argument_errors(void **state)
{
    (void)state;
    double x[4] = {1, 2, NAN, 4}, v, e;
    int dev = cpu_device();
    assert_int_equal(zc_risk_var_es(&dev, x, 1, 4, 0.99, &v, &e), ZC_ERR_INVALID_ARGUMENT);
    x[2] = 3;
    assert_int_equal(zc_risk_var_es(&dev, x, 1, 4, 1.0, &v, &e), ZC_ERR_OUT_OF_RANGE);
    assert_int_equal(zc_risk_var_es(&dev, x, 1, 4, 0.0, &v, &e), ZC_ERR_OUT_OF_RANGE);
    assert_int_equal(zc_risk_var_es(&dev, x, 1, 0, 0.5, &v, &e), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_risk_historical(&dev, x, 2, 2, NULL, 3, 0.5, &v, &e), ZC_ERR_INVALID_ARGUMENT);
    assert_int_equal(zc_risk_rolling(&dev, x, 4, 1, 5, 0.5, &v, &e), ZC_ERR_OUT_OF_RANGE);

    double spot[NA], cov[NA * NA];
    zc_risk_position pos[4];
    mc_setup(spot, cov, pos);
    zc_risk_market mkt = {spot, NA, 0, 0.0, 0.0};
    zc_risk_mc_params p = {0, 1, 0.99};
    zc_risk_mc_result r;
    assert_int_equal(zc_risk_monte_carlo(&dev, &p, &mkt, NULL, cov, pos, 4, &r, NULL), ZC_ERR_INVALID_ARGUMENT);
    p.paths = 10;
    pos[1].asset = NA;
    assert_int_equal(zc_risk_monte_carlo(&dev, &p, &mkt, NULL, cov, pos, 4, &r, NULL), ZC_ERR_OUT_OF_RANGE);
    pos[1].asset = 1;
    cov[1] = cov[NA] = 1.0; /* correlation far above 1 */
    assert_int_equal(zc_risk_monte_carlo(&dev, &p, &mkt, NULL, cov, pos, 4, &r, NULL), ZC_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zc_last_error(), "positive definite"));
    p.confidence = 1.5;
    assert_int_equal(zc_risk_monte_carlo(&dev, &p, &mkt, NULL, cov, pos, 4, &r, NULL), ZC_ERR_OUT_OF_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_var_es_known_answer),       cmocka_unit_test(test_historical_matches_rows),
        cmocka_unit_test(test_parametric_and_cholesky),   cmocka_unit_test(test_monte_carlo_deterministic),
        cmocka_unit_test(test_monte_carlo_simd_matches_scalar),
        cmocka_unit_test(test_opencl_agrees),             cmocka_unit_test(test_stress_linear),
        cmocka_unit_test(test_aggregate_loss),            cmocka_unit_test(test_argument_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zc_shutdown();
    return rc;
}
