/* cpu entries of kernels/secp256k1.h. Both process a launch range in groups
 * of GROUP items so that the inversions of a group share one field or scalar
 * inversion (Montgomery's trick); results equal the per-item device kernels. */
#include <string.h>

#include "../../../kernels/secp256k1.h"
#include "cpu_kernels.h"

#define GROUP 32

/* args: pubkeys64, digests32, sigs64, n, low_s, gtab, valid, stride (unused: one item per signature) */
void zc_cpu_secp_verify(const zc_karg *args, size_t begin, size_t end)
{
    const uint8_t *pk = zc_cpu_ptr(&args[0]);
    const uint8_t *dg = zc_cpu_ptr(&args[1]);
    const uint8_t *sig = zc_cpu_ptr(&args[2]);
    uint32_t low_s = args[4].v.u32;
    const uint64_t *gtab = zc_cpu_ptr(&args[5]);
    uint8_t *valid = zc_cpu_ptr(&args[6]);
    if (end > args[3].v.u64)
        end = (size_t)args[3].v.u64;

    zc_secp_gej tab[GROUP][ZC_SECP_QTAB];
    zc_secp_fe zs[GROUP * ZC_SECP_QTAB], fscratch[GROUP * ZC_SECP_QTAB];
    zc_secp_sc z[GROUP], r[GROUP], s[GROUP], sscratch[GROUP];
    int ok[GROUP];
    for (size_t base = begin; base < end; base += GROUP) {
        int m = end - base < GROUP ? (int)(end - base) : GROUP, live = 0;
        for (int j = 0; j < m; j++) {
            size_t i = base + (size_t)j;
            zc_secp_ge q;
            ok[j] = zc_secp_verify_load(pk + 64 * i, dg + 32 * i, sig + 64 * i, low_s, &q, &z[live], &r[live],
                                        &s[live]);
            if (!ok[j])
                continue;
            zc_secp_odd_multiples(tab[live], &q);
            for (int k = 0; k < ZC_SECP_QTAB; k++)
                zs[live * ZC_SECP_QTAB + k] = tab[live][k].z;
            live++;
        }
        zc_secp_fe_inv_many(zs, fscratch, live * ZC_SECP_QTAB);
        zc_secp_sc_inv_many(s, sscratch, live); /* s[l] = 1 / s from here on */
        for (int j = 0, l = 0; j < m; j++) {
            if (!ok[j]) {
                valid[base + (size_t)j] = 0;
                continue;
            }
            zc_secp_ge qtab[ZC_SECP_QTAB];
            zc_secp_sc u1, u2;
            for (int k = 0; k < ZC_SECP_QTAB; k++)
                zc_secp_ge_from_gej_zinv(&qtab[k], &tab[l][k], &zs[l * ZC_SECP_QTAB + k]);
            zc_secp_verify_scalars(&z[l], &r[l], &s[l], &u1, &u2);
            valid[base + (size_t)j] = (uint8_t)zc_secp_verify_strauss(&u1, &u2, qtab, gtab, &r[l]);
            l++;
        }
    }
}

/* Item i: RFC 6979 nonce, R = k G, and the scalars the group inverts. */
typedef struct sign_item {
    zc_secp_rfc6979 drbg;
    zc_secp_sc d, z, k;
    zc_secp_gej R;
} sign_item;

static void sign_start(sign_item *it, const uint8_t *seckey, const uint8_t *digest, const uint64_t *comb)
{
    zc_secp_sc t;
    uint8_t h[32];
    zc_secp_limbs_from_be(it->d.d, seckey);
    zc_secp_limbs_from_be(t.d, digest);
    zc_secp_sc_reduce_once(&it->z, &t);
    zc_secp_limbs_to_be(h, it->z.d); /* bits2octets: the digest mod n */
    zc_secp_rfc6979_init(&it->drbg, seckey, h);
    zc_secp_rfc6979_nonce(&it->drbg, &it->k);
    zc_secp_comb_mul(&it->R, &it->k, comb);
}

/* args: seckeys32, key_index, has_index, digests32, n, comb, sigs64 */
void zc_cpu_secp_sign(const zc_karg *args, size_t begin, size_t end)
{
    const uint8_t *sk = zc_cpu_ptr(&args[0]);
    const uint32_t *key_index = zc_cpu_ptr(&args[1]);
    uint32_t has_index = args[2].v.u32;
    const uint8_t *dg = zc_cpu_ptr(&args[3]);
    const uint64_t *comb = zc_cpu_ptr(&args[5]);
    uint8_t *sigs = zc_cpu_ptr(&args[6]);
    if (end > args[4].v.u64)
        end = (size_t)args[4].v.u64;

    sign_item items[GROUP];
    zc_secp_fe zs[GROUP], fscratch[GROUP];
    zc_secp_sc kinv[GROUP], sscratch[GROUP];
    for (size_t base = begin; base < end; base += GROUP) {
        int m = end - base < GROUP ? (int)(end - base) : GROUP;
        for (int j = 0; j < m; j++) {
            size_t i = base + (size_t)j;
            size_t key = has_index ? key_index[i] : i;
            sign_start(&items[j], sk + 32 * key, dg + 32 * i, comb);
            zs[j] = items[j].R.z;
            kinv[j] = items[j].k;
        }
        zc_secp_fe_inv_many(zs, fscratch, m);
        zc_secp_sc_inv_many(kinv, sscratch, m);
        for (int j = 0; j < m; j++) {
            sign_item *it = &items[j];
            uint8_t *out = sigs + 64 * (base + (size_t)j);
            /* r or s of 0 (probability about 2^-256): the next nonce, alone */
            while (!zc_secp_sign_finish(&it->R, &zs[j], &kinv[j], &it->d, &it->z, out)) {
                zc_secp_rfc6979_nonce(&it->drbg, &it->k);
                zc_secp_comb_mul(&it->R, &it->k, comb);
                zc_secp_fe_inv(&zs[j], &it->R.z);
                zc_secp_sc_inv(&kinv[j], &it->k);
            }
        }
    }
    /* the nonces and keys on the stack are secrets */
    memset(items, 0, sizeof items);
    memset(kinv, 0, sizeof kinv);
    memset(sscratch, 0, sizeof sscratch);
}
