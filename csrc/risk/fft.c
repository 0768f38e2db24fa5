/* Aggregate loss distributions by FFT convolution, one interface over the
 * backends' FFT libraries (cpu: FFTW, defined here as the cpu backend's fft
 * op; opencl: clFFT; cuda: cuFFT), and the spectrum combination kernel. */
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/risk.h"
#include "../backends/cpu/cpu_kernels.h"
#include "../core/internal.h"
#include "risk_internal.h"

/* FFTW's planner is not thread-safe (its execute is): plans are made and
 * destroyed under this lock, the library's one piece of shared state here. */
static pthread_mutex_t fftw_planner = PTHREAD_MUTEX_INITIALIZER;

zc_status zc_cpu_fft(int idx, void *handle, size_t n, size_t batch, int inverse)
{
    (void)idx;
    if (n > INT32_MAX || batch > INT32_MAX)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "FFTW takes int sizes: n = %zu, batch = %zu", n, batch);
    fftw_complex *x = handle;
    int len = (int)n;
    /* FFTW_ESTIMATE plans without measuring, so the algorithm (and every
     * bit of the result) is the same on each run. */
    pthread_mutex_lock(&fftw_planner);
    fftw_plan plan = fftw_plan_many_dft(1, &len, (int)batch, x, NULL, 1, len, x, NULL, 1, len,
                                        inverse ? FFTW_BACKWARD : FFTW_FORWARD, FFTW_ESTIMATE);
    pthread_mutex_unlock(&fftw_planner);
    if (!plan)
        return ZC_ERR(ZC_ERR_BACKEND, "FFTW cannot plan %zu transforms of length %zu", batch, n);
    fftw_execute(plan);
    pthread_mutex_lock(&fftw_planner);
    fftw_destroy_plan(plan);
    pthread_mutex_unlock(&fftw_planner);
    return ZC_OK;
}

typedef struct agg_job {
    const double *pmf, *lambda;
    size_t ndist, n, m, len; /* len: FFT length */
    double *out;
} agg_job;

static zc_status agg_op(int dev, void *user)
{
    const agg_job *job = user;
    size_t len = job->len, spec_bytes = job->ndist * len * 2 * sizeof(double);
    double *host = calloc(job->ndist * len * 2, sizeof(double));
    double *lam = calloc(job->ndist, sizeof(double));
    if (!host || !lam) {
        free(host);
        free(lam);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "FFT input of %zu x %zu", job->ndist, len);
    }
    for (size_t i = 0; i < job->ndist; i++) {
        for (size_t k = 0; k < job->n; k++)
            host[2 * (i * len + k)] = job->pmf[i * job->n + k];
        lam[i] = job->lambda ? job->lambda[i] : 0.0;
    }
    /* Device buffers always: the transforms work in place. */
    zc_devbuf *spec = NULL, *lbuf = NULL, *agg = NULL;
    zc_status st = zc_buf_alloc(dev, spec_bytes, &spec);
    if (st == ZC_OK)
        st = zc_buf_write(spec, 0, host, spec_bytes);
    if (st == ZC_OK)
        st = zc_buf_alloc(dev, job->ndist * sizeof(double), &lbuf);
    if (st == ZC_OK)
        st = zc_buf_write(lbuf, 0, lam, job->ndist * sizeof(double));
    if (st == ZC_OK)
        st = zc_buf_alloc(dev, len * 2 * sizeof(double), &agg);
    if (st == ZC_OK)
        st = zc_dev_fft(dev, spec, len, job->ndist, 0);
    if (st == ZC_OK) {
        zc_karg args[] = {zc_arg_buf(spec),        zc_arg_buf(lbuf), zc_arg_buf(agg), zc_arg_u64(job->ndist),
                          zc_arg_u64(len), zc_arg_u32(job->lambda ? 1u : 0u)};
        st = zc_launch(dev, "zc_risk_fft_combine", len, args, 6);
    }
    if (st == ZC_OK)
        st = zc_dev_fft(dev, agg, len, 1, 1);
    if (st == ZC_OK)
        st = zc_buf_read(agg, 0, host, len * 2 * sizeof(double));
    if (st == ZC_OK)
        for (size_t k = 0; k < job->m; k++)
            job->out[k] = host[2 * k] / (double)len;
    zc_buf_free(agg);
    zc_buf_free(lbuf);
    zc_buf_free(spec);
    free(lam);
    free(host);
    return st;
}

zc_status zc_risk_aggregate_loss(int *device, const double *pmf, size_t ndist, size_t n, const double *lambda,
                                 size_t m, double *out, double *tail_mass)
{
    if (!device || !pmf || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, pmf and out must not be NULL");
    ZC_CHECK(zc_risk_check_size("pmf", ndist, n));
    if (m == 0 || m > ((size_t)1 << 40))
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "grid size m must be in [1, 2^40], got %zu", m);
    ZC_CHECK(zc_risk_check_finite("pmf", pmf, ndist * n));
    for (size_t i = 0; i < ndist * n; i++)
        if (pmf[i] < 0.0)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "pmf must not be negative (element %zu is %g)", i, pmf[i]);
    if (lambda)
        for (size_t i = 0; i < ndist; i++)
            if (!isfinite(lambda[i]) || lambda[i] < 0.0)
                return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "lambda[%zu] must be finite and >= 0, got %g", i, lambda[i]);
    /* Long enough for the plain sum's whole support, and twice the grid. */
    size_t need = 2 * (m > n ? m : n);
    if (!lambda && ndist * (n - 1) + 1 > need)
        need = ndist * (n - 1) + 1;
    size_t len = 1;
    while (len < need)
        len <<= 1;
    if (len > SIZE_MAX / 16 / ndist)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "FFT of %zu x %zu is too large", ndist, len);
    agg_job job = {pmf, lambda, ndist, n, m, len, out};
    ZC_CHECK(zc_run(device, "risk_aggregate_loss", agg_op, &job));
    if (tail_mass) {
        double s = 0.0;
        for (size_t k = 0; k < m; k++)
            s += out[k];
        *tail_mass = 1.0 - s;
    }
    return ZC_OK;
}
