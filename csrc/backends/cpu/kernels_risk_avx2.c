/* AVX2+FMA path of the Monte Carlo kernels (zc_cpu_risk_mc and
 * zc_cpu_risk_mc_shocks), one block of ZC_RISK_AVX2_LANES paths at a time:
 *
 * - Philox4x32-10 of the blocks (j, path + l) for the 8 paths l side by side,
 *   one 32-bit lane each: the words are zc_philox4x32_block's, bit for bit.
 * - Uniforms formed exactly as zc_unit_double(_open0) (53-bit integers
 *   converted by the 2^52 trick, then the same products), so u and t are
 *   bit-identical too; log, sin and cos come from glibc's libmvec (4 ulp)
 *   where the build has it, else from the scalar libm per lane.
 * - x = mu + L z in place, as a register-blocked micro-kernel: 6 rows of L
 *   times 8 paths in 12 accumulators, rows from the last block to the first
 *   (row r needs z[0..r]), k running only to the block's last row (L is lower
 *   triangular). Each x[r] is mu[r] followed by fma(L[r][k], z[k], .) in k
 *   order: per path the operations do not depend on the block a path falls
 *   in, so results are identical for any thread count. The fma rounds once
 *   where the scalar kernels round twice: shocks agree with them to a few
 *   ulp of the terms.
 * - Shocked prices per asset for the 8 paths (the scalar ops of zc_risk_value;
 *   exp by libmvec when geometric), then the positions in order: linear ones
 *   as vector qty * S' sums, options by zc_risk_price per lane. Only the
 *   losses of the block leave it.
 *
 * The caller checks the CPU (AVX2 and FMA) and zc_cpu_simd_get(). */
#if defined(__x86_64__) && defined(__GNUC__)

#include <immintrin.h>
#include <math.h>

#include "../../../kernels/risk.h"
#include "kernels_risk_avx2.h"

#define AVX2 __attribute__((target("avx2,fma")))
#define LANES ZC_RISK_AVX2_LANES

#ifdef ZC_HAVE_LIBMVEC
/* glibc libmvec AVX2 variants (x86_64 vector function ABI names). */
__m256d _ZGVdN4v_log(__m256d x);
__m256d _ZGVdN4v_sin(__m256d x);
__m256d _ZGVdN4v_cos(__m256d x);
__m256d _ZGVdN4v_exp(__m256d x);
#define VLOG _ZGVdN4v_log
#define VSIN _ZGVdN4v_sin
#define VCOS _ZGVdN4v_cos
#define VEXP _ZGVdN4v_exp
#else
#define LANEWISE(name, fn)                           \
    static inline AVX2 __m256d name(__m256d x)       \
    {                                                \
        double v[4];                                 \
        _mm256_storeu_pd(v, x);                      \
        for (int l = 0; l < 4; l++)                  \
            v[l] = fn(v[l]);                         \
        return _mm256_loadu_pd(v);                   \
    }
LANEWISE(vlog, log)
LANEWISE(vsin, sin)
LANEWISE(vcos, cos)
LANEWISE(vexp, exp)
#define VLOG vlog
#define VSIN vsin
#define VCOS vcos
#define VEXP vexp
#endif

/* Low and high 32 bits of a * m per 32-bit lane. */
static inline AVX2 void mulhilo8(__m256i a, __m256i m, __m256i *lo, __m256i *hi)
{
    __m256i even = _mm256_mul_epu32(a, m);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* Half h (paths 4h .. 4h + 3) of 8 32-bit lanes as exact doubles. */
static inline AVX2 __m256d u32_to_pd(__m256i x, int h)
{
    __m128i half = h ? _mm256_extracti128_si256(x, 1) : _mm256_castsi256_si128(x);
    __m256i wide = _mm256_or_si256(_mm256_cvtepu32_epi64(half), _mm256_set1_epi64x(0x4330000000000000LL));
    return _mm256_sub_pd(_mm256_castsi256_pd(wide), _mm256_set1_pd(4503599627370496.0));
}

/* (w >> 11) as a double for the 64-bit words w = lo | hi << 32 of half h. */
static inline AVX2 __m256d top53(__m256i lo, __m256i hi, int h)
{
    return _mm256_fmadd_pd(u32_to_pd(hi, h), _mm256_set1_pd(2097152.0), u32_to_pd(_mm256_srli_epi32(lo, 11), h));
}

/* Philox blocks generated together: independent chains hide the latency of
 * the multiplies (one block's 10 rounds are one dependency chain). */
#define PHILOX_GROUP 4

/* Standard normals of paths path .. path + 7: z[k * LANES + l] is normal k of
 * path + l, exactly zc_risk_normals' up to the libmvec rounding. z has an even
 * number of rows >= n (row n is scratch when n is odd). First the uniforms
 * (u in row 2j, t in row 2j + 1), then Box-Muller in place. */
static AVX2 void normals8(uint64_t key, uint64_t path, uint32_t n, double *z)
{
    uint32_t plo[LANES], phi[LANES];
    for (int l = 0; l < LANES; l++) {
        plo[l] = (uint32_t)(path + (uint64_t)l);
        phi[l] = (uint32_t)((path + (uint64_t)l) >> 32);
    }
    const __m256i c2 = _mm256_loadu_si256((const __m256i *)plo), c3 = _mm256_loadu_si256((const __m256i *)phi);
    const __m256i m0 = _mm256_set1_epi32((int)ZC_PHILOX_M4x32_0), m1 = _mm256_set1_epi32((int)ZC_PHILOX_M4x32_1);
    const __m256d scale = _mm256_set1_pd(1.0 / 9007199254740992.0), one = _mm256_set1_pd(1.0),
                  twopi = _mm256_set1_pd(6.283185307179586476925286766559), m2 = _mm256_set1_pd(-2.0);
    uint32_t nb = (n + 1) / 2;
    for (uint32_t j0 = 0; j0 < nb; j0 += PHILOX_GROUP) {
        __m256i x0[PHILOX_GROUP], x1[PHILOX_GROUP], x2[PHILOX_GROUP], x3[PHILOX_GROUP];
        for (int g = 0; g < PHILOX_GROUP; g++) {
            x0[g] = _mm256_set1_epi32((int)(j0 + (uint32_t)g));
            x1[g] = _mm256_setzero_si256();
            x2[g] = c2;
            x3[g] = c3;
        }
        uint32_t ka = (uint32_t)key, kb = (uint32_t)(key >> 32);
        for (int r = 0; r < 10; r++) {
            __m256i k0 = _mm256_set1_epi32((int)ka), k1 = _mm256_set1_epi32((int)kb);
            for (int g = 0; g < PHILOX_GROUP; g++) {
                __m256i lo0, hi0, lo1, hi1;
                mulhilo8(x0[g], m0, &lo0, &hi0);
                mulhilo8(x2[g], m1, &lo1, &hi1);
                x0[g] = _mm256_xor_si256(_mm256_xor_si256(hi1, x1[g]), k0);
                x2[g] = _mm256_xor_si256(_mm256_xor_si256(hi0, x3[g]), k1);
                x1[g] = lo1;
                x3[g] = lo0;
            }
            ka += ZC_PHILOX_W32_0;
            kb += ZC_PHILOX_W32_1;
        }
        for (uint32_t g = 0; g < PHILOX_GROUP && j0 + g < nb; g++)
            for (int h = 0; h < 2; h++) {
                double *row = z + (size_t)2 * (j0 + g) * LANES + 4 * h;
                _mm256_store_pd(row, _mm256_mul_pd(_mm256_add_pd(top53(x0[g], x1[g], h), one), scale));
                _mm256_store_pd(row + LANES, _mm256_mul_pd(twopi, _mm256_mul_pd(top53(x2[g], x3[g], h), scale)));
            }
    }
    for (uint32_t j = 0; j < nb; j++)
        for (int h = 0; h < 2; h++) {
            double *row = z + (size_t)2 * j * LANES + 4 * h;
            __m256d t = _mm256_load_pd(row + LANES);
            __m256d rad = _mm256_sqrt_pd(_mm256_mul_pd(m2, VLOG(_mm256_load_pd(row))));
            _mm256_store_pd(row, _mm256_mul_pd(rad, VCOS(t)));
            _mm256_store_pd(row + LANES, _mm256_mul_pd(rad, VSIN(t)));
        }
}

/* Rows r0 .. r0 + R - 1 of x = mu + L z, in place: 2R accumulators, and
 * per k two loads of z and R broadcasts of L (R = 6 leaves the 16 ymm
 * registers just enough). */
#define ROWS_BLOCK(R)                                                                                   \
    static inline AVX2 void rows##R(const double *chol, const double *mu, uint32_t n, uint32_t r0,     \
                                    double *z)                                                          \
    {                                                                                                   \
        __m256d acc[R][2];                                                                              \
        const double *row[R];                                                                           \
        for (int i = 0; i < R; i++) {                                                                   \
            acc[i][0] = acc[i][1] = _mm256_set1_pd(mu[r0 + i]);                                        \
            row[i] = chol + (size_t)(r0 + i) * n;                                                       \
        }                                                                                               \
        for (uint32_t k = 0; k < r0 + R; k++) {                                                         \
            __m256d za = _mm256_load_pd(z + (size_t)k * LANES), zb = _mm256_load_pd(z + (size_t)k * LANES + 4); \
            for (int i = 0; i < R; i++) {                                                               \
                __m256d c = _mm256_broadcast_sd(row[i] + k);                                            \
                acc[i][0] = _mm256_fmadd_pd(c, za, acc[i][0]);                                          \
                acc[i][1] = _mm256_fmadd_pd(c, zb, acc[i][1]);                                          \
            }                                                                                           \
        }                                                                                               \
        for (int i = 0; i < R; i++) {                                                                   \
            _mm256_store_pd(z + (size_t)(r0 + i) * LANES, acc[i][0]);                                   \
            _mm256_store_pd(z + (size_t)(r0 + i) * LANES + 4, acc[i][1]);                               \
        }                                                                                               \
    }
ROWS_BLOCK(6)
ROWS_BLOCK(1)

/* x = mu + L z for the block. The upper triangle of chol is zero (its k past
 * row r adds fma(0, z, acc) = acc), so a 6-row block runs k to its last row. */
static AVX2 void correlate8(const double *chol, const double *mu, uint32_t n, double *z)
{
    uint32_t r0 = n;
    while (r0 >= 6) {
        r0 -= 6;
        rows6(chol, mu, n, r0, z);
    }
    while (r0-- > 0)
        rows1(chol, mu, n, r0, z);
}

void AVX2 zc_cpu_risk_shocks8(uint64_t key, uint64_t path, uint32_t n, const double *chol, const double *mu,
                              double *z)
{
    normals8(key, path, n, z);
    correlate8(chol, mu, n, z);
}

void AVX2 zc_cpu_risk_losses8(uint64_t key, uint64_t path, uint32_t n, const double *chol, const double *mu,
                              const double *spot, const double *pos, uint64_t npos, uint32_t geometric,
                              double horizon, double rate, double v0, double *z, double *loss)
{
    zc_cpu_risk_shocks8(key, path, n, chol, mu, z);
    /* Shocked prices in place: S (1 + x) or S exp(x), as zc_risk_value. */
    for (uint32_t k = 0; k < n; k++)
        for (int h = 0; h < 2; h++) {
            double *p = z + (size_t)k * LANES + 4 * h;
            __m256d x = _mm256_load_pd(p), s = _mm256_set1_pd(spot[k]);
            x = geometric ? _mm256_mul_pd(s, VEXP(x)) : _mm256_mul_pd(s, _mm256_add_pd(_mm256_set1_pd(1.0), x));
            _mm256_store_pd(p, x);
        }
    __m256d tot[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
    for (uint64_t i = 0; i < npos; i++) {
        const double *q = pos + i * ZC_RISK_POS_STRIDE;
        uint32_t a = (uint32_t)q[0], kind = (uint32_t)q[1];
        const double *s = z + (size_t)a * LANES;
        __m256d price[2];
        if (kind == ZC_RISK_KIND_LINEAR) {
            price[0] = _mm256_load_pd(s);
            price[1] = _mm256_load_pd(s + 4);
        } else {
            double v[LANES];
            for (int l = 0; l < LANES; l++)
                v[l] = zc_risk_price(kind, s[l], q[3], q[4] - horizon, q[5], rate);
            price[0] = _mm256_loadu_pd(v);
            price[1] = _mm256_loadu_pd(v + 4);
        }
        __m256d qty = _mm256_set1_pd(q[2]);
        tot[0] = _mm256_add_pd(tot[0], _mm256_mul_pd(qty, price[0]));
        tot[1] = _mm256_add_pd(tot[1], _mm256_mul_pd(qty, price[1]));
    }
    __m256d base = _mm256_set1_pd(v0);
    _mm256_storeu_pd(loss, _mm256_sub_pd(base, tot[0]));
    _mm256_storeu_pd(loss + 4, _mm256_sub_pd(base, tot[1]));
}

#endif
