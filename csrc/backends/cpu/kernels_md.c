/* cpu entries of the market-data kernels, parallel over symbols: indicator
 * batches (one and several indicators), the two streaming updates, and the
 * L2 book update. The indicator entries run the per-bar state machines of
 * kernels/indicators.h, so their results are those of every other backend.
 *
 * Each indicator entry is built twice, flattened so the state machines
 * inline into it: for the baseline ISA, where ZC_FMA is a libm call, and for
 * AVX2+FMA, where it is one instruction. fma is correctly rounded either way
 * and nothing else is contracted (ISO C), so both give the same bits. */
#include "../../../kernels/indicators.h"
#include "cpu_kernels.h"
#include "kernels_md_avx2.h"
#include "kernels_ntt.h"
#include "../../md/l2_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define FMA_CLONE 1
#define FLATTEN __attribute__((flatten))
#define TARGET_FMA __attribute__((flatten, target("avx2,fma")))
static int have_fma(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif

/* Defines entry(args, begin, end) dispatching to impl built for each ISA. */
#ifdef FMA_CLONE
#define ZC_MD_ENTRY(entry, impl)                                                                               \
    static FLATTEN void entry##_base(const zc_karg *a, size_t b, size_t e) { impl(a, b, e); }                  \
    static TARGET_FMA void entry##_fma(const zc_karg *a, size_t b, size_t e) { impl(a, b, e); }                \
    void entry(const zc_karg *a, size_t b, size_t e)                                                           \
    {                                                                                                          \
        if (have_fma())                                                                                        \
            entry##_fma(a, b, e);                                                                              \
        else                                                                                                   \
            entry##_base(a, b, e);                                                                             \
    }
#else
#define ZC_MD_ENTRY(entry, impl)                                                                               \
    void entry(const zc_karg *a, size_t b, size_t e) { impl(a, b, e); }
#endif

/* Symbols interleaved per thread: their recurrences are independent, so the
 * core overlaps the latency of one symbol's chain with the others'. */
#define LANES 4
/* Groups ahead whose inputs a streaming update fetches early. */
#define STREAM_PREFETCH 4

/* Batch outputs larger than this cannot stay in cache until they are read:
 * the AVX2 path writes them with non-temporal stores. */
#define STREAM_STORE_BYTES ((size_t)64 << 20)

static zc_ind_params params_from(const zc_karg *a)
{
    zc_ind_params p;
    p.kind = (int32_t)a[0].v.u32;
    p.p[0] = (int32_t)a[1].v.u32;
    p.p[1] = (int32_t)a[2].v.u32;
    p.p[2] = (int32_t)a[3].v.u32;
    p.d[0] = a[4].v.f64;
    p.d[1] = a[5].v.f64;
    return p;
}

/* LANES rows advanced bar by bar in lock step, with the kind dispatched once
 * so each bar is a direct call of its state machine. A bar with a
 * non-finite input the indicator reads restarts that lane (the gap rule). */
#define H(l) in[0][l][t]
#define L(l) in[1][l][t]
#define C(l) in[2][l][t]
#define V(l) in[3][l][t]
#define FIN(x) zc_ind_finite(x)
#define HLC(l) (FIN(H(l)) && FIN(L(l)) && FIN(C(l)))
#define LANE_CASE(KIND, MEMBER, NOUT, COMPLETE, STEP)                                                          \
    case KIND: {                                                                                               \
        /* Typed per-lane state lets the compiler keep it in registers. */                                     \
        __typeof__(((zc_ind_state *)0)->MEMBER) st[LANES], fresh;                                              \
        zc_ind_init(p, &init);                                                                                 \
        fresh = init.MEMBER;                                                                                   \
        for (int l = 0; l < LANES; l++)                                                                        \
            st[l] = fresh;                                                                                     \
        for (int64_t t = 0; t < T; t++)                                                                        \
            _Pragma("GCC unroll 4") for (int l = 0; l < LANES; l++) {                                          \
                double o[3];                                                                                   \
                int ok = 0;                                                                                    \
                if (COMPLETE)                                                                                  \
                    ok = STEP;                                                                                 \
                else                                                                                           \
                    st[l] = fresh;                                                                             \
                for (int q = 0; q < NOUT; q++)                                                                 \
                    out[q][l][t] = ok ? o[q] : nan;                                                            \
            }                                                                                                  \
        break;                                                                                                 \
    }

static inline void lanes_run(const zc_ind_params *p, const double *const in[4][LANES], int64_t T,
                             double *const out[3][LANES], double *const ring[LANES])
{
    double nan = zc_ind_nan();
    zc_ind_state init;
    switch (p->kind) {
        LANE_CASE(ZC_IND_SMA, sma, 1, FIN(C(l)), zc_sma_step(&st[l], ring[l], C(l), o))
        LANE_CASE(ZC_IND_EMA, ema, 1, FIN(C(l)), zc_emaind_step(&st[l], C(l), o))
        LANE_CASE(ZC_IND_WMA, wma, 1, FIN(C(l)), zc_wma_step(&st[l], ring[l], C(l), o))
        LANE_CASE(ZC_IND_DEMA, ema3, 1, FIN(C(l)), zc_dema_step(&st[l], C(l), o))
        LANE_CASE(ZC_IND_TEMA, ema3, 1, FIN(C(l)), zc_tema_step(&st[l], C(l), o))
        LANE_CASE(ZC_IND_RSI, rsi, 1, FIN(C(l)), zc_rsi_step(&st[l], C(l), o))
        LANE_CASE(ZC_IND_MACD, macd, 3, FIN(C(l)), zc_macd_step(&st[l], C(l), o))
        LANE_CASE(ZC_IND_BBANDS, var, 3, FIN(C(l)), zc_bbands_step(&st[l], ring[l], C(l), o))
        LANE_CASE(ZC_IND_ATR, atr, 1, HLC(l), zc_atr_step(&st[l], H(l), L(l), C(l), o))
        LANE_CASE(ZC_IND_STOCH, stoch, 2, HLC(l), zc_stoch_step(&st[l], ring[l], H(l), L(l), C(l), o))
        LANE_CASE(ZC_IND_WILLR, stoch, 1, HLC(l), zc_willr_step(&st[l], ring[l], H(l), L(l), C(l), o))
        LANE_CASE(ZC_IND_CCI, cci, 1, HLC(l), zc_cci_step(&st[l], ring[l], H(l), L(l), C(l), o))
        LANE_CASE(ZC_IND_ADX, adx, 1, HLC(l), zc_adx_step(&st[l], H(l), L(l), C(l), o))
        LANE_CASE(ZC_IND_MFI, mfi, 1, HLC(l) && FIN(V(l)), zc_mfi_step(&st[l], ring[l], H(l), L(l), C(l), V(l), o))
        LANE_CASE(ZC_IND_OBV, obv, 1, FIN(C(l)) && FIN(V(l)), zc_obv_step(&st[l], C(l), V(l), o))
        LANE_CASE(ZC_IND_VWAP, vwap, 1, HLC(l) && FIN(V(l)),
                  zc_vwap_step(&st[l], ring[l], H(l), L(l), C(l), V(l), o))
        LANE_CASE(ZC_IND_STDDEV, var, 1, FIN(C(l)), zc_stddev_step(&st[l], ring[l], C(l), o))
        LANE_CASE(ZC_IND_ZSCORE, var, 1, FIN(C(l)), zc_zscore_step(&st[l], ring[l], C(l), o))
    }
}
#undef H
#undef L
#undef C
#undef V
#undef FIN
#undef HLC
#undef LANE_CASE

/* Whether the four-lane AVX2 path runs these indicators: the CPU has AVX2
 * and FMA, SIMD is not switched off (ZC_NO_SIMD, zc_zk_simd_set) and every
 * indicator has a vector form. */
static int md4_usable(const zc_ind_params *params, uint32_t count)
{
#ifdef FMA_CLONE
    if (zc_cpu_simd_get() != ZC_SIMD_AVX2 || !have_fma() || count > ZC_MD4_MAX_INDICATORS)
        return 0;
    for (uint32_t j = 0; j < count; j++)
        if (!zc_cpu_md4_supported(params[j].kind))
            return 0;
    return 1;
#else
    (void)params;
    (void)count;
    return 0;
#endif
}

#ifdef FMA_CLONE
/* No gap in any lane: every input read is finite (x - x is 0 only then). */
static int rows_finite(const double *const rows[4][LANES], uint32_t need, int64_t T)
{
    double acc[LANES] = {0.0};
    for (int i = 0; i < 4; i++) {
        if (!(need & (1u << i)))
            continue;
        for (int64_t t = 0; t < T; t++)
            for (int l = 0; l < LANES; l++)
                acc[l] += rows[i][l][t] - rows[i][l][t];
    }
    for (int l = 0; l < LANES; l++)
        if (acc[l] != 0.0)
            return 0;
    return 1;
}
#endif

/* args as zc_md_indicators in kernels/opencl/indicators.cl */
static inline void md_indicators(const zc_karg *args, size_t begin, size_t end)
{
    zc_ind_params p = params_from(args);
    uint64_t sym0 = args[6].v.u64, ntime = args[8].v.u64, ring_len = args[9].v.u64;
    const double *in[4];
    double *out[3];
    for (int i = 0; i < 4; i++)
        in[i] = zc_cpu_ptr(&args[10 + i]);
    for (int q = 0; q < 3; q++)
        out[q] = zc_cpu_ptr(&args[14 + q]);
    double *ring = zc_cpu_ptr(&args[17]);
#ifdef FMA_CLONE
    int vec = md4_usable(&p, 1);
    int nt = (size_t)(args[7].v.u64 * ntime) * sizeof(double) * (size_t)zc_ind_outputs(p.kind) > STREAM_STORE_BYTES;
#endif
    size_t s = begin;
    for (; s + LANES <= end; s += LANES) {
        const double *lin[4][LANES];
        double *lout[3][LANES];
        double *lring[LANES];
        size_t off[LANES];
        for (int l = 0; l < LANES; l++) {
            off[l] = (size_t)(sym0 + s + (size_t)l) * ntime;
            for (int i = 0; i < 4; i++)
                lin[i][l] = in[i] + off[l];
            for (int q = 0; q < 3; q++)
                lout[q][l] = out[q] + off[l];
            lring[l] = ring + (s + (size_t)l) * ring_len;
        }
#ifdef FMA_CLONE
        if (vec && zc_cpu_md4_multi(&p, 1, lin, (int64_t)ntime, out, off, lring[0], nt))
            continue;
#endif
        lanes_run(&p, lin, (int64_t)ntime, lout, lring);
    }
    for (; s < end; s++) {
        size_t off = (size_t)(sym0 + s) * ntime;
        zc_ind_series(p, in[0] + off, in[1] + off, in[2] + off, in[3] + off, (int64_t)ntime, out[0] + off,
                      out[1] + off, out[2] + off, ring + s * ring_len);
    }
}

ZC_MD_ENTRY(zc_cpu_md_indicators, md_indicators)

/* args: params (count), count, sym0, items, nsym, ntime, ring_per_sym, high,
 * low, close, volume, out (columns x nsym x ntime), ring. Each group of
 * LANES rows runs every indicator before moving on, so its rows stay in
 * cache; gap-free groups go through the AVX2 path where it applies (one
 * vector lane per row, tiles of bars shared by all indicators). */
static inline void md_indicators_multi(const zc_karg *args, size_t begin, size_t end)
{
    const zc_ind_params *params = zc_cpu_ptr(&args[0]);
    uint32_t count = args[1].v.u32;
    uint64_t sym0 = args[2].v.u64, nsym = args[4].v.u64, ntime = args[5].v.u64, ring_len = args[6].v.u64;
    const double *in[4];
    for (int i = 0; i < 4; i++)
        in[i] = zc_cpu_ptr(&args[7 + i]);
    double *out = zc_cpu_ptr(&args[11]);
    double *ring = zc_cpu_ptr(&args[12]);
    size_t plane = (size_t)(nsym * ntime);
    int vec = md4_usable(params, count);
    double *cols[3 * ZC_MD4_MAX_INDICATORS];
    size_t ncols = 0;
    for (uint32_t j = 0; j < count && vec; j++)
        for (int q = 0; q < zc_ind_outputs(params[j].kind); q++, ncols++)
            cols[ncols] = out + ncols * plane;
    for (size_t s = begin; s < end; s += LANES) {
        int lanes = end - s < LANES ? (int)(end - s) : LANES;
        size_t col = 0, roff = 0;
#ifdef FMA_CLONE
        if (vec && lanes == LANES) {
            const double *rows[4][LANES];
            size_t off[LANES];
            for (int l = 0; l < LANES; l++) {
                off[l] = (size_t)(sym0 + s + (size_t)l) * ntime;
                for (int i = 0; i < 4; i++)
                    rows[i][l] = in[i] + off[l];
            }
            if (zc_cpu_md4_multi(params, count, rows, (int64_t)ntime, cols, off, ring + s * ring_len,
                                 plane * ncols * sizeof(double) > STREAM_STORE_BYTES))
                continue;
        }
#endif
        for (uint32_t j = 0; j < count; j++) {
            const zc_ind_params *p = &params[j];
            int nout = zc_ind_outputs(p->kind);
            const double *lin[4][LANES];
            double *lout[3][LANES];
            double *lring[LANES];
            for (int l = 0; l < lanes; l++) {
                size_t off = (size_t)(sym0 + s + (size_t)l) * ntime;
                for (int i = 0; i < 4; i++)
                    lin[i][l] = in[i] + off;
                for (int q = 0; q < 3; q++)
                    lout[q][l] = out + (col + (size_t)(q < nout ? q : 0)) * plane + off;
                lring[l] = ring + (s + (size_t)l) * ring_len + roff;
            }
            if (lanes == LANES)
                lanes_run(p, lin, (int64_t)ntime, lout, lring);
            else
                for (int l = 0; l < lanes; l++)
                    zc_ind_series(*p, lin[0][l], lin[1][l], lin[2][l], lin[3][l], (int64_t)ntime, lout[0][l],
                                  lout[1][l], lout[2][l], lring[l]);
            col += (size_t)nout;
            roff += (size_t)zc_ind_ring_len(p);
        }
    }
}

ZC_MD_ENTRY(zc_cpu_md_indicators_multi, md_indicators_multi)

/* Streaming state layout (csrc/md/indicators.c). Symbols form groups of
 * LANES (the last one may be shorter); mode[g] says where group g's state is:
 * - ZC_STREAM_FRESH: nowhere yet: its scalar states are freshly initialised;
 * - ZC_STREAM_VECTOR: in lock step, as ZC_MD4_STATE_BYTES per indicator at
 *   vstates + g * nspec * ZC_MD4_STATE_BYTES and a lane-interleaved ring at
 *   vrings + g * LANES * ring_per_sym (full groups of gap-free symbols with
 *   the AVX2 path only);
 * - ZC_STREAM_SCALAR: states[sym * nspec + j], rings at sym * ring_per_sym,
 *   indicator j's ring after those of 0..j-1.
 * A vector group goes scalar for good (until a reset) when a bar with a gap
 * reaches any of its symbols, when ticks reach it, or when SIMD is switched
 * off; its state is exported lane by lane, so results do not change. */
#define ZC_STREAM_FRESH 0
#define ZC_STREAM_VECTOR 1
#define ZC_STREAM_SCALAR 2

typedef struct stream_view {
    zc_ind_state *states;
    double *rings;
    const zc_ind_params *params;
    uint32_t nspec;
    uint64_t ring_per_sym;
    char *vstates;
    double *vrings;
    uint8_t *mode;
} stream_view;

static stream_view stream_from(const zc_karg *a)
{
    stream_view v = {zc_cpu_ptr(&a[0]), zc_cpu_ptr(&a[1]), zc_cpu_ptr(&a[2]), a[3].v.u32, a[4].v.u64,
                     zc_cpu_ptr(&a[5]), zc_cpu_ptr(&a[6]), zc_cpu_ptr(&a[7])};
    return v;
}

/* Group g's state as scalar states, whatever mode it was in. */
static void stream_to_scalar(const stream_view *sv, size_t g)
{
#ifdef FMA_CLONE
    if (sv->mode[g] == ZC_STREAM_VECTOR)
        zc_cpu_md4_export(sv->params, sv->nspec, sv->vstates + g * sv->nspec * ZC_MD4_STATE_BYTES,
                          sv->vrings + g * LANES * sv->ring_per_sym, sv->ring_per_sym,
                          sv->states + g * LANES * sv->nspec, sv->rings + g * LANES * sv->ring_per_sym);
#endif
    sv->mode[g] = ZC_STREAM_SCALAR;
}

/* Bar t of symbol s through indicator j's typed state machine, with
 * zc_ind_bar's gap rule; KIND is dispatched once per indicator, not per bar. */
#define SV(i) in[i][s * nbars + t]
#define FIN(x) zc_ind_finite(x)
#define HLC (FIN(SV(0)) && FIN(SV(1)) && FIN(SV(2)))
#define STREAM_CASE(KIND, NOUT, COMPLETE, STEP)                                                                \
    case KIND:                                                                                                 \
        for (size_t s = begin; s < end; s++) {                                                                 \
            zc_ind_state *st = &sv->states[s * sv->nspec + j];                                                 \
            double *ring = sv->rings + s * sv->ring_per_sym + roff; /* unused by some kinds */                 \
            (void)ring;                                                                                        \
            for (uint64_t t = 0; t < nbars; t++) {                                                             \
                double o[3] = {nan, nan, nan};                                                                 \
                if (COMPLETE)                                                                                  \
                    (void)STEP;                                                                                \
                else                                                                                           \
                    zc_ind_init(p, st);                                                                        \
                for (int q = 0; q < NOUT; q++)                                                                 \
                    out[((col + (size_t)q) * nsym + s) * nbars + t] = o[q];                                    \
            }                                                                                                  \
        }                                                                                                      \
        break;

/* Symbols [begin, end), all in scalar mode, indicator by indicator, so each
 * inner loop runs one state machine. */
static inline void stream_bars_scalar(const stream_view *sv, uint64_t nsym, uint64_t nbars, const double *const in[4],
                                      double *out, size_t begin, size_t end)
{
    double nan = zc_ind_nan();
    size_t col = 0, roff = 0;
    for (uint32_t j = 0; j < sv->nspec; j++) {
        const zc_ind_params *p = &sv->params[j];
        switch (p->kind) {
            STREAM_CASE(ZC_IND_SMA, 1, FIN(SV(2)), zc_sma_step(&st->sma, ring, SV(2), o))
            STREAM_CASE(ZC_IND_EMA, 1, FIN(SV(2)), zc_emaind_step(&st->ema, SV(2), o))
            STREAM_CASE(ZC_IND_WMA, 1, FIN(SV(2)), zc_wma_step(&st->wma, ring, SV(2), o))
            STREAM_CASE(ZC_IND_DEMA, 1, FIN(SV(2)), zc_dema_step(&st->ema3, SV(2), o))
            STREAM_CASE(ZC_IND_TEMA, 1, FIN(SV(2)), zc_tema_step(&st->ema3, SV(2), o))
            STREAM_CASE(ZC_IND_RSI, 1, FIN(SV(2)), zc_rsi_step(&st->rsi, SV(2), o))
            STREAM_CASE(ZC_IND_MACD, 3, FIN(SV(2)), zc_macd_step(&st->macd, SV(2), o))
            STREAM_CASE(ZC_IND_BBANDS, 3, FIN(SV(2)), zc_bbands_step(&st->var, ring, SV(2), o))
            STREAM_CASE(ZC_IND_ATR, 1, HLC, zc_atr_step(&st->atr, SV(0), SV(1), SV(2), o))
            STREAM_CASE(ZC_IND_STOCH, 2, HLC, zc_stoch_step(&st->stoch, ring, SV(0), SV(1), SV(2), o))
            STREAM_CASE(ZC_IND_WILLR, 1, HLC, zc_willr_step(&st->stoch, ring, SV(0), SV(1), SV(2), o))
            STREAM_CASE(ZC_IND_CCI, 1, HLC, zc_cci_step(&st->cci, ring, SV(0), SV(1), SV(2), o))
            STREAM_CASE(ZC_IND_ADX, 1, HLC, zc_adx_step(&st->adx, SV(0), SV(1), SV(2), o))
            STREAM_CASE(ZC_IND_MFI, 1, HLC && FIN(SV(3)),
                        zc_mfi_step(&st->mfi, ring, SV(0), SV(1), SV(2), SV(3), o))
            STREAM_CASE(ZC_IND_OBV, 1, FIN(SV(2)) && FIN(SV(3)), zc_obv_step(&st->obv, SV(2), SV(3), o))
            STREAM_CASE(ZC_IND_VWAP, 1, HLC && FIN(SV(3)),
                        zc_vwap_step(&st->vwap, ring, SV(0), SV(1), SV(2), SV(3), o))
            STREAM_CASE(ZC_IND_STDDEV, 1, FIN(SV(2)), zc_stddev_step(&st->var, ring, SV(2), o))
            STREAM_CASE(ZC_IND_ZSCORE, 1, FIN(SV(2)), zc_zscore_step(&st->var, ring, SV(2), o))
        }
        col += (size_t)zc_ind_outputs(p->kind);
        roff += (size_t)zc_ind_ring_len(p);
    }
}
#undef SV
#undef FIN
#undef HLC
#undef STREAM_CASE

/* args: states, rings, params, nspec, ring_per_sym, vstates, vrings, mode,
 * nsym, nbars, high, low, close, volume, out (columns x nsym x nbars); one
 * work item per group of LANES symbols. Gap-free full groups advance in lock
 * step through the AVX2 path (the batch path's tiles, from the state the
 * group keeps between calls); runs of other groups go through the scalar
 * state machines. */
static inline void md_stream_bars(const zc_karg *args, size_t begin, size_t end)
{
    stream_view sv = stream_from(args);
    uint64_t nsym = args[8].v.u64, nbars = args[9].v.u64;
    const double *in[4];
    for (int i = 0; i < 4; i++)
        in[i] = zc_cpu_ptr(&args[10 + i]);
    double *out = zc_cpu_ptr(&args[14]);
#ifdef FMA_CLONE
    int vec = md4_usable(sv.params, sv.nspec);
    uint32_t need = 0;
    double *cols[3 * ZC_MD4_MAX_INDICATORS];
    size_t ncols = 0;
    for (uint32_t j = 0; j < sv.nspec && vec; j++) {
        need |= zc_ind_inputs(sv.params[j].kind);
        for (int q = 0; q < zc_ind_outputs(sv.params[j].kind); q++, ncols++)
            cols[ncols] = out + ncols * nsym * nbars;
    }
#endif
    size_t run = begin * LANES; /* first symbol of the pending scalar run */
    for (size_t g = begin; g < end; g++) {
        size_t s0 = g * LANES, s1 = s0 + LANES < nsym ? s0 + LANES : (size_t)nsym;
        /* A call's inputs are read once, usually from memory (a new bar of
         * every symbol): fetch a group's first input line a few groups ahead
         * so that the misses overlap the work of the groups between. */
        if (g + STREAM_PREFETCH < end)
            for (int i = 0; i < 4; i++)
                __builtin_prefetch(in[i] + (s0 + STREAM_PREFETCH * LANES) * nbars);
#ifdef FMA_CLONE
        if (vec && s1 - s0 == LANES && sv.mode[g] != ZC_STREAM_SCALAR) {
            const double *rows[4][LANES];
            size_t off[LANES];
            for (int l = 0; l < LANES; l++) {
                off[l] = (s0 + (size_t)l) * nbars;
                for (int i = 0; i < 4; i++)
                    rows[i][l] = in[i] + off[l];
            }
            if (rows_finite(rows, need, (int64_t)nbars)) {
                char *vst = sv.vstates + g * sv.nspec * ZC_MD4_STATE_BYTES;
                if (sv.mode[g] == ZC_STREAM_FRESH)
                    zc_cpu_md4_init(sv.params, sv.nspec, vst);
                sv.mode[g] = ZC_STREAM_VECTOR;
                if (run < s0)
                    stream_bars_scalar(&sv, nsym, nbars, in, out, run, s0);
                zc_cpu_md4_run(sv.params, sv.nspec, vst, rows, (int64_t)nbars, cols, off,
                               sv.vrings + g * LANES * sv.ring_per_sym);
                run = s1;
                continue;
            }
        }
#endif
        stream_to_scalar(&sv, g);
    }
    size_t last = end * LANES < nsym ? end * LANES : (size_t)nsym;
    if (run < last)
        stream_bars_scalar(&sv, nsym, nbars, in, out, run, last);
}

ZC_MD_ENTRY(zc_cpu_md_stream_bars, md_stream_bars)

/* args: states, rings, params, nspec, ring_per_sym, vstates, vrings, mode,
 * offsets (nsym + 1), order (ticks grouped by symbol, in arrival order),
 * high, low, close, volume, out (n x columns), columns, nsym; one work item
 * per group of LANES symbols. */
static inline void md_stream_ticks(const zc_karg *args, size_t begin, size_t end)
{
    stream_view sv = stream_from(args);
    const uint64_t *offsets = zc_cpu_ptr(&args[8]);
    const uint64_t *order = zc_cpu_ptr(&args[9]);
    const double *in[4];
    for (int i = 0; i < 4; i++)
        in[i] = zc_cpu_ptr(&args[10 + i]);
    double *out = zc_cpu_ptr(&args[14]);
    uint32_t columns = args[15].v.u32;
    uint64_t nsym = args[16].v.u64;
    for (size_t g = begin; g < end; g++) {
        size_t s0 = g * LANES, s1 = s0 + LANES < nsym ? s0 + LANES : (size_t)nsym;
        if (offsets[s0] == offsets[s1])
            continue;
        stream_to_scalar(&sv, g);
        for (size_t s = s0; s < s1; s++) {
            for (uint64_t k = offsets[s]; k < offsets[s + 1]; k++) {
                size_t i = (size_t)order[k];
                double *ring = sv.rings + s * sv.ring_per_sym;
                double *o_row = out + i * columns;
                for (uint32_t j = 0; j < sv.nspec; j++) {
                    const zc_ind_params *p = &sv.params[j];
                    double o[3];
                    zc_ind_bar(p, &sv.states[s * sv.nspec + j], ring, zc_ind_inputs(p->kind), in[0][i], in[1][i],
                               in[2][i], in[3][i], o);
                    int nout = zc_ind_outputs(p->kind);
                    for (int q = 0; q < nout; q++)
                        *o_row++ = o[q];
                    ring += zc_ind_ring_len(p);
                }
            }
        }
    }
}

ZC_MD_ENTRY(zc_cpu_md_stream_ticks, md_stream_ticks)

/* args: the zc_l2 book, whose job holds the messages; one item per partition */
void zc_cpu_md_l2_apply(const zc_karg *args, size_t begin, size_t end)
{
    zc_l2_apply_parts(zc_cpu_ptr(&args[0]), begin, end);
}
