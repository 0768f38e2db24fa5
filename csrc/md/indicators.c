/* Host orchestration of the technical indicators: parameter checks, the
 * batch launch on any backend, and the streaming state on the cpu backend. */
#include <stdlib.h>
#include <string.h>

#include "zkclob/md.h"

#include "../../kernels/indicators.h"
#include "../core/internal.h"
#include "zkclob/device.h"

_Static_assert(ZC_MD_SMA == ZC_IND_SMA && ZC_MD_ZSCORE == ZC_IND_ZSCORE && ZC_MD_KIND_COUNT == ZC_IND_COUNT,
               "public kinds mirror kernels/indicators.h");
_Static_assert(ZC_MD_IN_HIGH == ZC_IND_IN_HIGH && ZC_MD_IN_VOLUME == ZC_IND_IN_VOLUME, "input bits");
_Static_assert(sizeof(zc_ind_state) == ZC_IND_STATE_WORDS * sizeof(double), "raw covers every state");

#define MAX_PERIOD 100000
/* Window scratch of one batch launch; symbols are launched in groups below it. */
#define RING_BUDGET_BYTES ((size_t)64 << 20)

static const char *const kind_names[ZC_MD_KIND_COUNT] = {
    "sma", "ema", "wma", "dema", "tema", "rsi", "macd", "bbands", "atr",
    "stoch", "willr", "cci", "adx", "mfi", "obv", "vwap", "stddev", "zscore"};

const char *zc_md_kind_name(zc_md_kind kind)
{
    return (unsigned)kind < ZC_MD_KIND_COUNT ? kind_names[kind] : NULL;
}

static zc_ind_params to_params(const zc_md_indicator *ind)
{
    zc_ind_params p;
    p.kind = (int32_t)ind->kind;
    for (int i = 0; i < 3; i++)
        p.p[i] = ind->period[i];
    p.d[0] = ind->param[0];
    p.d[1] = ind->param[1];
    return p;
}

static zc_status check_period(const char *kind, const char *what, int32_t v, int32_t lo)
{
    if (v < lo || v > MAX_PERIOD)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "%s: %s must be in [%d, %d], got %d", kind, what, lo, MAX_PERIOD, v);
    return ZC_OK;
}

zc_status zc_md_indicator_check(const zc_md_indicator *ind)
{
    if (!ind)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "indicator must not be NULL");
    if ((unsigned)ind->kind >= ZC_MD_KIND_COUNT)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown indicator kind %d", (int)ind->kind);
    const char *name = kind_names[ind->kind];
    const int32_t *p = ind->period;
    switch (ind->kind) {
    case ZC_MD_SMA:
    case ZC_MD_EMA:
    case ZC_MD_WMA:
    case ZC_MD_DEMA:
    case ZC_MD_TEMA:
    case ZC_MD_ATR:
        return check_period(name, "period", p[0], 1);
    case ZC_MD_MACD:
        ZC_CHECK(check_period(name, "fast period", p[0], 2));
        ZC_CHECK(check_period(name, "slow period", p[1], 2));
        return check_period(name, "signal period", p[2], 1);
    case ZC_MD_STOCH:
        ZC_CHECK(check_period(name, "fastk period", p[0], 1));
        ZC_CHECK(check_period(name, "slowk period", p[1], 1));
        return check_period(name, "slowd period", p[2], 1);
    case ZC_MD_BBANDS:
        if (!zc_ind_finite(ind->param[0]) || !zc_ind_finite(ind->param[1]))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "bbands: deviations must be finite");
        return check_period(name, "period", p[0], 2);
    case ZC_MD_STDDEV:
        if (!zc_ind_finite(ind->param[0]))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "stddev: nbdev must be finite");
        return check_period(name, "period", p[0], 2);
    case ZC_MD_OBV:
        return ZC_OK;
    case ZC_MD_VWAP:
        return check_period(name, "period", p[0], 0);
    default: /* RSI, WILLR, CCI, ADX, MFI, ZSCORE */
        return check_period(name, "period", p[0], 2);
    }
}

int zc_md_indicator_outputs(const zc_md_indicator *ind) { return zc_ind_outputs((int32_t)ind->kind); }

int64_t zc_md_indicator_lookback(const zc_md_indicator *ind)
{
    zc_ind_params p = to_params(ind);
    return zc_ind_lookback(&p);
}

static zc_status check_volume(const double *v, size_t n)
{
    /* Blocks without an early exit vectorise (a pass over the whole volume
     * of a batch); the block with a negative value is searched again. */
    for (size_t b = 0; b < n; b += 4096) {
        size_t end = n - b < 4096 ? n : b + 4096;
        int neg = 0;
        for (size_t i = b; i < end; i++)
            neg |= v[i] < 0.0;
        for (size_t i = b; neg && i < end; i++)
            if (v[i] < 0.0)
                return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "volume must not be negative (element %zu is %g)", i, v[i]);
    }
    return ZC_OK;
}

/* ---- batch ---- */

typedef struct batch_job {
    zc_ind_params p;
    size_t nsym, ntime;
    const double *in[4]; /* high, low, close, volume; unread ones point at close */
    double *out[3];      /* unwritten ones point at out[0] */
    int nout;
} batch_job;

static zc_status batch_launch(int dev, const batch_job *job, zc_devbuf *const in[4], zc_devbuf *const out[3],
                              zc_devbuf *ring, size_t sym0, size_t count, size_t ring_len)
{
    zc_karg args[18] = {zc_arg_u32((uint32_t)job->p.kind), zc_arg_u32((uint32_t)job->p.p[0]),
                        zc_arg_u32((uint32_t)job->p.p[1]), zc_arg_u32((uint32_t)job->p.p[2]),
                        zc_arg_f64(job->p.d[0]),           zc_arg_f64(job->p.d[1]),
                        zc_arg_u64(sym0),                  zc_arg_u64(count),
                        zc_arg_u64(job->ntime),            zc_arg_u64(ring_len)};
    for (int i = 0; i < 4; i++)
        args[10 + i] = zc_arg_buf(in[i]);
    for (int q = 0; q < 3; q++)
        args[14 + q] = zc_arg_buf(out[q]);
    args[17] = zc_arg_buf(ring);
    return zc_launch(dev, "zc_md_indicators", count, args, 18);
}

static zc_status batch_op(int dev, void *user)
{
    const batch_job *job = user;
    zc_device_info info;
    ZC_CHECK(zc_device_info_get(dev, &info));
    int shared = (info.caps & ZC_CAP_HOST_SHARED) != 0;
    size_t bytes = job->nsym * job->ntime * sizeof(double);
    size_t ring_len = (size_t)zc_ind_ring_len(&job->p);
    size_t group = job->nsym;
    if (ring_len && group > RING_BUDGET_BYTES / (ring_len * sizeof(double)))
        group = RING_BUDGET_BYTES / (ring_len * sizeof(double));
    if (group == 0)
        group = 1;

    zc_devbuf *in[4] = {NULL}, *out[3] = {NULL}, *ring = NULL;
    zc_status st = ZC_OK;
    /* Distinct host arrays get one buffer each; aliases share it. */
    for (int i = 0; i < 4 && st == ZC_OK; i++) {
        for (int j = 0; j < i && !in[i]; j++)
            if (job->in[j] == job->in[i])
                in[i] = in[j];
        if (in[i])
            continue;
        if (shared) {
            st = zc_buf_wrap(dev, (void *)job->in[i], bytes, &in[i]);
        } else {
            st = zc_buf_alloc(dev, bytes, &in[i]);
            if (st == ZC_OK)
                st = zc_buf_write(in[i], 0, job->in[i], bytes);
        }
    }
    for (int q = 0; q < 3 && st == ZC_OK; q++) {
        if (q >= job->nout) {
            out[q] = out[0];
            continue;
        }
        st = shared ? zc_buf_wrap(dev, job->out[q], bytes, &out[q]) : zc_buf_alloc(dev, bytes, &out[q]);
    }
    if (st == ZC_OK)
        st = zc_buf_alloc(dev, (ring_len ? ring_len : 1) * group * sizeof(double), &ring);
    for (size_t s = 0; s < job->nsym && st == ZC_OK; s += group) {
        size_t count = job->nsym - s < group ? job->nsym - s : group;
        st = batch_launch(dev, job, in, out, ring, s, count, ring_len);
    }
    for (int q = 0; q < job->nout && st == ZC_OK && !shared; q++)
        st = zc_buf_read(out[q], 0, job->out[q], bytes);
    zc_buf_free(ring);
    for (int q = 0; q < job->nout; q++)
        zc_buf_free(out[q]);
    for (int i = 0; i < 4; i++) {
        int alias = 0;
        for (int j = 0; j < i; j++)
            alias |= in[j] == in[i];
        if (!alias)
            zc_buf_free(in[i]);
    }
    return st;
}

zc_status zc_md_indicator_batch(int *device, const zc_md_indicator *ind, size_t nsym, size_t ntime,
                                const double *high, const double *low, const double *close, const double *volume,
                                double *const out[3])
{
    if (!device || !out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device and out must not be NULL");
    ZC_CHECK(zc_md_indicator_check(ind));
    if (ntime && nsym > SIZE_MAX / sizeof(double) / ntime)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu x %zu bars is too large", nsym, ntime);
    if (ntime > INT64_MAX)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "ntime = %zu is too large", ntime);
    batch_job job = {to_params(ind), nsym, ntime, {high, low, close, volume}, {out[0], out[1], out[2]},
                     zc_ind_outputs((int32_t)ind->kind)};
    uint32_t need = zc_ind_inputs(job.p.kind);
    static const char *const in_names[4] = {"high", "low", "close", "volume"};
    for (int i = 0; i < 4; i++) {
        if (!(need & (1u << i))) {
            job.in[i] = close;
            continue;
        }
        if (!job.in[i] && nsym && ntime)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%s needs %s", kind_names[ind->kind], in_names[i]);
    }
    for (int q = 0; q < 3; q++) {
        if (q >= job.nout)
            job.out[q] = out[0];
        else if (!out[q] && nsym && ntime)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "output %d must not be NULL", q);
    }
    if (nsym == 0 || ntime == 0)
        return ZC_OK;
    if (need & ZC_IND_IN_VOLUME)
        ZC_CHECK(check_volume(volume, nsym * ntime));
    return zc_run(device, "md_indicator", batch_op, &job);
}

/* ---- several indicators ---- */

typedef struct multi_job {
    const zc_md_indicator *inds;
    int count, columns;
    size_t nsym, ntime;
    const double *in[4];
    double *out;
} multi_job;

/* cpu: one launch over symbols, every indicator per group of rows. */
static zc_status multi_op_cpu(int dev, const multi_job *job)
{
    zc_ind_params params[64];
    size_t ring = 0;
    for (int j = 0; j < job->count; j++) {
        params[j] = to_params(&job->inds[j]);
        ring += (size_t)zc_ind_ring_len(&params[j]);
    }
    size_t group = job->nsym;
    if (ring && group > RING_BUDGET_BYTES / (ring * sizeof(double)))
        group = RING_BUDGET_BYTES / (ring * sizeof(double));
    if (group == 0)
        group = 1;
    size_t bytes = job->nsym * job->ntime * sizeof(double);
    zc_devbuf *b[8] = {NULL};
    zc_status st = zc_buf_wrap(dev, params, (size_t)job->count * sizeof *params, &b[0]);
    for (int i = 0; i < 4 && st == ZC_OK; i++)
        st = zc_buf_wrap(dev, (void *)job->in[i], bytes, &b[1 + i]);
    if (st == ZC_OK)
        st = zc_buf_wrap(dev, job->out, bytes * (size_t)job->columns, &b[5]);
    if (st == ZC_OK)
        st = zc_buf_alloc(dev, (ring ? ring : 1) * group * sizeof(double), &b[6]);
    for (size_t s = 0; s < job->nsym && st == ZC_OK; s += group) {
        size_t count = job->nsym - s < group ? job->nsym - s : group;
        zc_karg args[12] = {zc_arg_buf(b[0]), zc_arg_u32((uint32_t)job->count), zc_arg_u64(s), zc_arg_u64(count),
                            zc_arg_u64(job->nsym), zc_arg_u64(job->ntime), zc_arg_u64(ring), zc_arg_buf(b[1]),
                            zc_arg_buf(b[2]), zc_arg_buf(b[3]), zc_arg_buf(b[4]), zc_arg_buf(b[5])};
        zc_karg all[13];
        memcpy(all, args, sizeof args);
        all[12] = zc_arg_buf(b[6]);
        st = zc_launch(dev, "zc_md_indicators_multi", count, all, 13);
    }
    for (int i = 0; i < 7; i++)
        zc_buf_free(b[i]);
    return st;
}

static zc_status multi_op(int dev, void *user)
{
    const multi_job *job = user;
    zc_device_info info;
    ZC_CHECK(zc_device_info_get(dev, &info));
    if (info.backend == ZC_BACKEND_CPU)
        return multi_op_cpu(dev, job);
    /* Other backends: one launch per indicator; the orchestration differs, the results do not. */
    size_t plane = job->nsym * job->ntime, col = 0;
    for (int j = 0; j < job->count; j++) {
        batch_job one = {to_params(&job->inds[j]), job->nsym, job->ntime, {job->in[0], job->in[1], job->in[2],
                         job->in[3]}, {NULL, NULL, NULL}, zc_ind_outputs((int32_t)job->inds[j].kind)};
        for (int q = 0; q < 3; q++)
            one.out[q] = job->out + (col + (size_t)(q < one.nout ? q : 0)) * plane;
        ZC_CHECK(batch_op(dev, &one));
        col += (size_t)one.nout;
    }
    return ZC_OK;
}

zc_status zc_md_indicators_batch(int *device, const zc_md_indicator *inds, int count, size_t nsym, size_t ntime,
                                 const double *high, const double *low, const double *close, const double *volume,
                                 double *out)
{
    if (!device || (!inds && count))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device and indicators must not be NULL");
    if (count <= 0 || count > 64)
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "between 1 and 64 indicators per call, got %d", count);
    multi_job job = {inds, count, 0, nsym, ntime, {high, low, close, volume}, out};
    uint32_t need = 0;
    for (int j = 0; j < count; j++) {
        ZC_CHECK(zc_md_indicator_check(&inds[j]));
        job.columns += zc_ind_outputs((int32_t)inds[j].kind);
        need |= zc_ind_inputs((int32_t)inds[j].kind);
    }
    if (ntime && nsym > SIZE_MAX / sizeof(double) / ntime / (size_t)job.columns)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu x %zu bars is too large", nsym, ntime);
    if (nsym == 0 || ntime == 0)
        return ZC_OK;
    static const char *const in_names[4] = {"high", "low", "close", "volume"};
    for (int i = 0; i < 4; i++) {
        if (!(need & (1u << i)))
            job.in[i] = close;
        else if (!job.in[i])
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "these indicators need %s", in_names[i]);
    }
    if (!out)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out must not be NULL");
    if (need & ZC_IND_IN_VOLUME)
        ZC_CHECK(check_volume(volume, nsym * ntime));
    return zc_run(device, "md_indicators", multi_op, &job);
}

/* ---- streaming ---- */

/* Symbols are kept in groups of STREAM_LANES: a group of gap-free symbols
 * advances in lock step on the cpu's vector path, its state then held
 * lane-interleaved in vstates and vrings (the cpu backend's streaming kernels
 * in csrc/backends/cpu/kernels_md.c describe the modes). */
#define STREAM_LANES 4

struct zc_md_stream {
    size_t nsym, ngroups;
    int nspec, columns;
    uint32_t need;
    size_t ring_per_sym;
    int cpu;
    zc_ind_params *params;
    zc_ind_state *states;  /* nsym x nspec */
    double *rings;         /* nsym x ring_per_sym */
    zc_ind_state *vstates; /* per group: room for its vector states (STREAM_LANES x nspec), 64-byte aligned */
    double *vrings;        /* per group: STREAM_LANES x ring_per_sym, lane-interleaved */
    uint8_t *mode;         /* per group: where its state is; 0 = fresh */
};

zc_status zc_md_stream_reset(zc_md_stream *s)
{
    if (!s)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "stream must not be NULL");
    for (size_t i = 0; i < s->nsym; i++)
        for (int j = 0; j < s->nspec; j++)
            zc_ind_init(&s->params[j], &s->states[i * (size_t)s->nspec + (size_t)j]);
    memset(s->mode, 0, s->ngroups);
    return ZC_OK;
}

zc_status zc_md_stream_create(size_t nsym, const zc_md_indicator *inds, int count, zc_md_stream **out)
{
    if (!out || (!inds && count))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "out and indicators must not be NULL");
    *out = NULL;
    if (count <= 0 || nsym == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "a stream needs at least one symbol and one indicator");
    size_t ring = 0;
    int columns = 0;
    uint32_t need = 0;
    for (int j = 0; j < count; j++) {
        ZC_CHECK(zc_md_indicator_check(&inds[j]));
        zc_ind_params p = to_params(&inds[j]);
        ring += (size_t)zc_ind_ring_len(&p);
        columns += zc_ind_outputs(p.kind);
        need |= zc_ind_inputs(p.kind);
    }
    size_t ngroups = nsym / STREAM_LANES + (nsym % STREAM_LANES != 0);
    size_t padded = ngroups * STREAM_LANES;
    if (nsym > SIZE_MAX / 2 || padded > SIZE_MAX / sizeof(zc_ind_state) / (size_t)count ||
        (ring && padded > SIZE_MAX / sizeof(double) / ring))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu symbols is too many", nsym);
    int cpu;
    ZC_CHECK(zc_device_find("cpu", &cpu));
    zc_md_stream *s = calloc(1, sizeof *s);
    if (!s)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "stream");
    s->nsym = nsym;
    s->ngroups = ngroups;
    s->nspec = count;
    s->columns = columns;
    s->need = need;
    s->ring_per_sym = ring;
    s->cpu = cpu;
    s->params = malloc((size_t)count * sizeof *s->params);
    s->states = malloc(nsym * (size_t)count * sizeof *s->states);
    s->rings = malloc((ring ? ring * nsym : 1) * sizeof(double));
    s->vstates = aligned_alloc(64, padded * (size_t)count * sizeof(zc_ind_state));
    s->vrings = malloc((ring ? ring * padded : 1) * sizeof(double));
    s->mode = malloc(ngroups);
    if (!s->params || !s->states || !s->rings || !s->vstates || !s->vrings || !s->mode) {
        zc_md_stream_destroy(s);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "stream state for %zu symbols", nsym);
    }
    for (int j = 0; j < count; j++)
        s->params[j] = to_params(&inds[j]);
    zc_md_stream_reset(s);
    *out = s;
    return ZC_OK;
}

void zc_md_stream_destroy(zc_md_stream *s)
{
    if (!s)
        return;
    free(s->params);
    free(s->states);
    free(s->rings);
    free(s->vstates);
    free(s->vrings);
    free(s->mode);
    free(s);
}

int zc_md_stream_columns(const zc_md_stream *s) { return s ? s->columns : 0; }

unsigned zc_md_stream_inputs(const zc_md_stream *s) { return s ? s->need : 0; }

#define STREAM_BUFS 6

/* Wrapped views of the stream for a cpu launch: states, rings, params,
 * vstates, vrings, mode. */
static zc_status wrap_stream(zc_md_stream *s, zc_devbuf *b[STREAM_BUFS])
{
    size_t padded = s->ngroups * STREAM_LANES, ring = s->ring_per_sym ? s->ring_per_sym : 1;
    struct {
        void *p;
        size_t bytes;
    } parts[STREAM_BUFS] = {
        {s->states, s->nsym * (size_t)s->nspec * sizeof(zc_ind_state)},
        {s->rings, (s->ring_per_sym ? s->ring_per_sym * s->nsym : 1) * sizeof(double)},
        {s->params, (size_t)s->nspec * sizeof(zc_ind_params)},
        {s->vstates, padded * (size_t)s->nspec * sizeof(zc_ind_state)},
        {s->vrings, (s->ring_per_sym ? ring * padded : 1) * sizeof(double)},
        {s->mode, s->ngroups},
    };
    zc_status st = ZC_OK;
    for (int i = 0; i < STREAM_BUFS; i++)
        b[i] = NULL;
    for (int i = 0; i < STREAM_BUFS && st == ZC_OK; i++)
        st = zc_buf_wrap(s->cpu, parts[i].p, parts[i].bytes, &b[i]);
    return st;
}

/* Inputs for a launch: unread ones alias close. */
static zc_status stream_inputs(const zc_md_stream *s, const double *high, const double *low, const double *close,
                               const double *volume, size_t n, const double *in[4])
{
    static const char *const names[4] = {"high", "low", "close", "volume"};
    const double *given[4] = {high, low, close, volume};
    for (int i = 0; i < 4; i++) {
        in[i] = (s->need & (1u << i)) ? given[i] : close;
        if (!in[i] && n)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "the stream's indicators need %s", names[i]);
    }
    if (n && (s->need & ZC_IND_IN_VOLUME))
        ZC_CHECK(check_volume(volume, n));
    return ZC_OK;
}

static void free_bufs(zc_devbuf **b, int n)
{
    for (int i = 0; i < n; i++)
        zc_buf_free(b[i]);
}

zc_status zc_md_stream_update(zc_md_stream *s, size_t nbars, const double *high, const double *low,
                              const double *close, const double *volume, double *out)
{
    if (!s || (!out && nbars))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "stream and out must not be NULL");
    if (nbars > SIZE_MAX / sizeof(double) / s->nsym / (size_t)s->columns)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "nbars = %zu is too large", nbars);
    size_t n = s->nsym * nbars;
    const double *in[4];
    ZC_CHECK(stream_inputs(s, high, low, close, volume, n, in));
    if (n == 0)
        return ZC_OK;
    zc_devbuf *b[STREAM_BUFS + 5] = {NULL};
    zc_status st = wrap_stream(s, b);
    for (int i = 0; i < 4 && st == ZC_OK; i++)
        st = zc_buf_wrap(s->cpu, (void *)in[i], n * sizeof(double), &b[STREAM_BUFS + i]);
    if (st == ZC_OK)
        st = zc_buf_wrap(s->cpu, out, n * (size_t)s->columns * sizeof(double), &b[STREAM_BUFS + 4]);
    if (st == ZC_OK) {
        zc_karg args[15] = {zc_arg_buf(b[0]),  zc_arg_buf(b[1]), zc_arg_buf(b[2]), zc_arg_u32((uint32_t)s->nspec),
                            zc_arg_u64(s->ring_per_sym), zc_arg_buf(b[3]), zc_arg_buf(b[4]), zc_arg_buf(b[5]),
                            zc_arg_u64(s->nsym), zc_arg_u64(nbars)};
        for (int i = 0; i < 5; i++)
            args[10 + i] = zc_arg_buf(b[STREAM_BUFS + i]);
        st = zc_launch(s->cpu, "zc_md_stream_bars", s->ngroups, args, 15);
    }
    free_bufs(b, STREAM_BUFS + 5);
    return st;
}

zc_status zc_md_stream_update_ticks(zc_md_stream *s, size_t n, const uint32_t *symbol, const double *high,
                                    const double *low, const double *close, const double *volume, double *out)
{
    if (!s || ((!out || !symbol) && n))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "stream, symbol and out must not be NULL");
    if (n > SIZE_MAX / sizeof(double) / (size_t)s->columns)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "n = %zu is too large", n);
    const double *in[4];
    ZC_CHECK(stream_inputs(s, high, low, close, volume, n, in));
    if (n == 0)
        return ZC_OK;
    for (size_t i = 0; i < n; i++)
        if (symbol[i] >= s->nsym)
            return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "symbol[%zu] = %u is not below %zu", i, symbol[i], s->nsym);
    /* Group the ticks by symbol (stable), so symbols update in parallel. */
    uint64_t *offsets = calloc(s->nsym + 1, sizeof *offsets);
    uint64_t *order = malloc(n * sizeof *order);
    if (!offsets || !order) {
        free(offsets);
        free(order);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "grouping %zu ticks", n);
    }
    for (size_t i = 0; i < n; i++)
        offsets[symbol[i] + 1]++;
    for (size_t k = 0; k < s->nsym; k++)
        offsets[k + 1] += offsets[k];
    for (size_t i = 0; i < n; i++)
        order[offsets[symbol[i]]++] = i;
    for (size_t k = s->nsym; k > 0; k--)
        offsets[k] = offsets[k - 1];
    offsets[0] = 0;

    zc_devbuf *b[STREAM_BUFS + 7] = {NULL};
    zc_status st = wrap_stream(s, b);
    if (st == ZC_OK)
        st = zc_buf_wrap(s->cpu, offsets, (s->nsym + 1) * sizeof *offsets, &b[STREAM_BUFS]);
    if (st == ZC_OK)
        st = zc_buf_wrap(s->cpu, order, n * sizeof *order, &b[STREAM_BUFS + 1]);
    for (int i = 0; i < 4 && st == ZC_OK; i++)
        st = zc_buf_wrap(s->cpu, (void *)in[i], n * sizeof(double), &b[STREAM_BUFS + 2 + i]);
    if (st == ZC_OK)
        st = zc_buf_wrap(s->cpu, out, n * (size_t)s->columns * sizeof(double), &b[STREAM_BUFS + 6]);
    if (st == ZC_OK) {
        zc_karg args[17];
        for (int i = 0; i < 3; i++)
            args[i] = zc_arg_buf(b[i]);
        args[3] = zc_arg_u32((uint32_t)s->nspec);
        args[4] = zc_arg_u64(s->ring_per_sym);
        for (int i = 0; i < 3; i++)
            args[5 + i] = zc_arg_buf(b[3 + i]);
        for (int i = 0; i < 7; i++)
            args[8 + i] = zc_arg_buf(b[STREAM_BUFS + i]);
        args[15] = zc_arg_u32((uint32_t)s->columns);
        args[16] = zc_arg_u64(s->nsym);
        st = zc_launch(s->cpu, "zc_md_stream_ticks", s->ngroups, args, 17);
    }
    free_bufs(b, STREAM_BUFS + 7);
    free(offsets);
    free(order);
    return st;
}
