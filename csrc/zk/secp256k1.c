/* secp256k1 host side: the generator tables of kernels/secp256k1.h, computed
 * at first use from G (nothing pasted), and SEC 1 public key parsing. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../../kernels/secp256k1.h"
#include "secp256k1_internal.h"
#include "zkclob/crypto.h"

static void generator(zc_secp_ge *g)
{
    zc_secp_fe_set(&g->x, 0x59F2815B16F81798ull, 0x029BFCDB2DCE28D9ull, 0x55A06295CE870B07ull, 0x79BE667EF9DCBBACull);
    zc_secp_fe_set(&g->y, 0x9C47D08FFB10D4B8ull, 0xFD17B448A6855419ull, 0x5DA4FBFC0E1108A8ull, 0x483ADA7726A3C465ull);
}

/* Affine form of n Jacobian points (none infinity) into tab (8 limbs each),
 * with one field inversion. */
static zc_status store_affine(const zc_secp_gej *pts, size_t n, uint64_t *tab)
{
    zc_secp_fe *z = malloc(2 * n * sizeof *z);
    if (!z)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu field elements", 2 * n);
    for (size_t i = 0; i < n; i++)
        z[i] = pts[i].z;
    zc_secp_fe_inv_many(z, z + n, (int)n);
    for (size_t i = 0; i < n; i++) {
        zc_secp_ge a;
        zc_secp_ge_from_gej_zinv(&a, &pts[i], &z[i]);
        memcpy(tab + 8 * i, a.x.d, sizeof a.x.d);
        memcpy(tab + 8 * i + 4, a.y.d, sizeof a.y.d);
    }
    free(z);
    return ZC_OK;
}

static uint64_t *gtable;
static zc_status gtable_status;
static pthread_once_t gtable_once = PTHREAD_ONCE_INIT;

static void gtable_build(void)
{
    zc_secp_gej *pts = malloc(ZC_SECP_GTAB * sizeof *pts);
    uint64_t *tab = malloc(ZC_SECP_GTAB * 8 * sizeof *tab);
    if (!pts || !tab) {
        gtable_status = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "secp256k1 generator table");
    } else {
        zc_secp_ge g;
        zc_secp_gej g2;
        generator(&g);
        zc_secp_gej_set_ge(&pts[0], &g);
        zc_secp_gej_double(&g2, &pts[0]);
        for (int i = 1; i < ZC_SECP_GTAB; i++)
            zc_secp_gej_add_var(&pts[i], &pts[i - 1], &g2);
        gtable_status = store_affine(pts, ZC_SECP_GTAB, tab);
    }
    free(pts);
    if (gtable_status == ZC_OK)
        gtable = tab;
    else
        free(tab);
}

zc_status zc_secp_gtable(const uint64_t **out)
{
    pthread_once(&gtable_once, gtable_build);
    if (gtable_status != ZC_OK)
        return ZC_ERR(gtable_status, "the secp256k1 generator table could not be built");
    *out = gtable;
    return ZC_OK;
}

/* H: the first x >= SHA-256("zkclob secp256k1 comb offset") with x^3 + 7 a
 * square, and the even y. Nobody knows log_G(H). */
static void offset_point(zc_secp_ge *h)
{
    static const char tag[] = "zkclob secp256k1 comb offset";
    uint8_t digest[32];
    zc_sha256_global((const uint8_t *)tag, sizeof tag - 1, digest);
    zc_secp_limbs_from_be(h->x.d, digest);
    zc_secp_fe_normalize(&h->x);
    zc_secp_fe one, seven, rhs;
    zc_secp_fe_set(&one, 1, 0, 0, 0);
    zc_secp_fe_set(&seven, 7, 0, 0, 0);
    for (;;) {
        zc_secp_fe_sqr(&rhs, &h->x);
        zc_secp_fe_mul(&rhs, &rhs, &h->x);
        zc_secp_fe_add(&rhs, &rhs, &seven);
        if (zc_secp_fe_sqrt(&h->y, &rhs))
            break;
        zc_secp_fe_add(&h->x, &h->x, &one);
        zc_secp_fe_normalize(&h->x);
    }
    zc_secp_fe_normalize(&h->y);
    if (h->y.d[0] & 1)
        zc_secp_fe_neg(&h->y, &h->y);
    zc_secp_fe_normalize(&h->y);
}

static uint64_t *comb;
static zc_status comb_status;
static pthread_once_t comb_once = PTHREAD_ONCE_INIT;

static void comb_build(void)
{
    zc_secp_gej *pts = malloc(ZC_SECP_COMB_POINTS * sizeof *pts);
    uint64_t *tab = malloc(ZC_SECP_COMB_POINTS * 8 * sizeof *tab);
    if (!pts || !tab) {
        comb_status = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "secp256k1 comb table");
    } else {
        zc_secp_ge g, h;
        generator(&g);
        offset_point(&h);
        zc_secp_gej base, off, sum;
        zc_secp_gej_set_ge(&base, &g); /* 16^i G */
        zc_secp_gej_set_ge(&off, &h);  /* 2^i H */
        sum.inf = 1;                   /* (2^i - 1) H so far */
        for (int i = 0; i < ZC_SECP_COMB_WINDOWS; i++) {
            zc_secp_gej *row = pts + 16 * i;
            row[0] = off;
            for (int j = 1; j < 16; j++)
                zc_secp_gej_add_var(&row[j], &row[j - 1], &base);
            zc_secp_gej_add_var(&sum, &sum, &off);
            zc_secp_gej_double(&off, &off);
            for (int k = 0; k < 4; k++)
                zc_secp_gej_double(&base, &base);
        }
        /* the correction -(2^64 - 1) H */
        zc_secp_fe_neg(&sum.y, &sum.y);
        pts[ZC_SECP_COMB_POINTS - 1] = sum;
        comb_status = store_affine(pts, ZC_SECP_COMB_POINTS, tab);
    }
    free(pts);
    if (comb_status == ZC_OK)
        comb = tab;
    else
        free(tab);
}

zc_status zc_secp_comb_table(const uint64_t **out)
{
    pthread_once(&comb_once, comb_build);
    if (comb_status != ZC_OK)
        return ZC_ERR(comb_status, "the secp256k1 comb table could not be built");
    *out = comb;
    return ZC_OK;
}

/* One SEC 1 key: returns 1 and fills q when valid. */
static int parse_key(const uint8_t *in, size_t len, zc_secp_ge *q)
{
    zc_secp_limbs_from_be(q->x.d, in + 1);
    if (!zc_secp_fe_is_canonical(&q->x))
        return 0;
    if (len == 65) {
        if (in[0] != 0x04)
            return 0;
        zc_secp_limbs_from_be(q->y.d, in + 33);
        return zc_secp_fe_is_canonical(&q->y) && zc_secp_ge_on_curve(q);
    }
    if (in[0] != 0x02 && in[0] != 0x03)
        return 0;
    zc_secp_fe rhs, seven;
    zc_secp_fe_set(&seven, 7, 0, 0, 0);
    zc_secp_fe_sqr(&rhs, &q->x);
    zc_secp_fe_mul(&rhs, &rhs, &q->x);
    zc_secp_fe_add(&rhs, &rhs, &seven);
    if (!zc_secp_fe_sqrt(&q->y, &rhs))
        return 0;
    zc_secp_fe_normalize(&q->y);
    if ((q->y.d[0] & 1) != (uint64_t)(in[0] & 1)) {
        zc_secp_fe_neg(&q->y, &q->y);
        zc_secp_fe_normalize(&q->y);
    }
    return 1;
}

zc_status zc_secp256k1_pubkey_parse(const uint8_t *in, size_t n, size_t len, uint8_t *out64, uint8_t *ok)
{
    if (len != 33 && len != 65)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "SEC 1 public keys have 33 (compressed) or 65 (uncompressed) bytes, not %zu",
                      len);
    if (n == 0)
        return ZC_OK;
    if (!in || !out64 || !ok)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "in, out64 and ok must not be NULL");
    if (n > SIZE_MAX / 65)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "%zu keys are too many", n);
    for (size_t i = 0; i < n; i++) {
        zc_secp_ge q;
        ok[i] = (uint8_t)parse_key(in + i * len, len, &q);
        if (ok[i]) {
            zc_secp_limbs_to_be(out64 + 64 * i, q.x.d);
            zc_secp_limbs_to_be(out64 + 64 * i + 32, q.y.d);
        } else {
            memset(out64 + 64 * i, 0, 64);
        }
    }
    return ZC_OK;
}
