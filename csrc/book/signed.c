/* Signed orders: the canonical encoding and its Keccak-256 digest, demo
 * trader keys, signing and verification of order batches, and the signature
 * gate in front of the engine. Layouts and rules are in zkclob/book.h. */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "book_internal.h"
#include "zkclob/book.h"
#include "zkclob/crypto.h"
#include "zkclob/device.h"
#include "zkclob/hash.h"

#define SIGNED_BLOCK 16384 /* orders per hashing / verification call: bounds the scratch memory */
#define KEY_INPUT 24

static const uint8_t order_tag[8] = {'Z', 'C', 'O', 'R', 'D', 'E', 'R', '1'};
static const uint8_t key_tag[8] = {'Z', 'C', 'K', 'E', 'Y', '0', '0', '1'};

/* secp256k1 group order n, big-endian. */
static const uint8_t group_order[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                        0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48,
                                        0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};

static void encode_one(const zc_order *o, uint8_t *out)
{
    memcpy(out, order_tag, sizeof order_tag);
    memcpy(out + sizeof order_tag, o, sizeof *o); /* packed and little-endian (book_internal.h checks the host) */
}

zc_status zc_order_encode(const zc_order *orders, size_t n, uint8_t *out)
{
    if ((!orders || !out) && n)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "orders and out must not be NULL");
    for (size_t i = 0; i < n; i++)
        encode_one(&orders[i], out + i * ZC_ORDER_SIGNED_BYTES);
    return ZC_OK;
}

/* Digests of up to SIGNED_BLOCK orders with caller scratch. */
static zc_status digest_block(int *device, const zc_order *orders, size_t k, uint8_t *enc, uint64_t *offsets,
                              uint8_t *out)
{
    for (size_t i = 0; i < k; i++) {
        encode_one(&orders[i], enc + i * ZC_ORDER_SIGNED_BYTES);
        offsets[i] = (uint64_t)i * ZC_ORDER_SIGNED_BYTES;
    }
    offsets[k] = (uint64_t)k * ZC_ORDER_SIGNED_BYTES;
    return zc_keccak256_batch(device, enc, k * ZC_ORDER_SIGNED_BYTES, offsets, k, out);
}

zc_status zc_order_digest(int *device, const zc_order *orders, size_t n, uint8_t *digests32)
{
    if (!device || ((!orders || !digests32) && n))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, orders and digests must not be NULL");
    size_t blk = n < SIGNED_BLOCK ? n : SIGNED_BLOCK;
    uint8_t *enc = malloc(blk * ZC_ORDER_SIGNED_BYTES + 1);
    uint64_t *offsets = malloc((blk + 1) * sizeof *offsets);
    zc_status st = ZC_OK;
    if (!enc || !offsets)
        st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "digest scratch for %zu orders", blk);
    for (size_t at = 0; st == ZC_OK && at < n; at += blk) {
        size_t k = n - at < blk ? n - at : blk;
        st = digest_block(device, orders + at, k, enc, offsets, digests32 + at * 32);
    }
    free(enc);
    free(offsets);
    return st;
}

static int in_scalar_range(const uint8_t k[32])
{
    int zero = 1;
    for (int i = 0; i < 32; i++)
        zero &= k[i] == 0;
    return !zero && memcmp(k, group_order, 32) < 0;
}

zc_status zc_trader_seckeys(uint64_t seed, uint32_t first, uint32_t n, uint8_t *seckeys32)
{
    if (!seckeys32 && n)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "seckeys must not be NULL");
    if ((uint64_t)first + n > (uint64_t)UINT32_MAX + 1)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "traders %u + %u run past 2^32", first, n);
    int cpu;
    ZC_CHECK(zc_device_find("cpu", &cpu));
    uint8_t in[KEY_INPUT];
    uint64_t offsets[2] = {0, KEY_INPUT};
    memcpy(in, key_tag, 8);
    memcpy(in + 8, &seed, 8);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t = first + i;
        memcpy(in + 16, &t, 4);
        /* A digest outside [1, n-1] has probability about 2^-128: the
         * counter exists so the rule is total, not because it happens. */
        for (uint32_t c = 0;; c++) {
            memcpy(in + 20, &c, 4);
            int dev = cpu;
            ZC_CHECK(zc_keccak256_batch(&dev, in, sizeof in, offsets, 1, seckeys32 + (size_t)i * 32));
            if (in_scalar_range(seckeys32 + (size_t)i * 32))
                break;
        }
    }
    return ZC_OK;
}

zc_status zc_book_merge_rejects(const zc_order *orders, size_t n, const uint8_t *valid, const uint16_t *reasons,
                                const zc_event *ev, size_t m, uint64_t seq0, zc_array **out)
{
    size_t refused = 0;
    for (size_t i = 0; i < n; i++)
        refused += reasons ? reasons[i] != ZC_REASON_NONE : !valid[i];
    size_t shape[1] = {(m + refused) * sizeof(zc_event)};
    ZC_CHECK(zc_array_new(ZC_DTYPE_U8, 1, shape, out));
    zc_event *dst = zc_array_data(*out);
    size_t j = 0;
    uint64_t k = 0; /* accepted orders so far */
    for (size_t i = 0; i < n; i++) {
        if (reasons ? reasons[i] == ZC_REASON_NONE : valid[i] != 0) {
            while (j < m && ev[j].seq == seq0 + k)
                *dst++ = ev[j++];
            k++;
            continue;
        }
        *dst++ = (zc_event){.seq = seq0 + k,
                            .kind = ZC_EVENT_REJECT,
                            .symbol = orders[i].symbol,
                            .order_id = orders[i].id,
                            .price = orders[i].price,
                            .qty = orders[i].qty,
                            .reason = reasons ? reasons[i] : ZC_REASON_BAD_SIGNATURE};
    }
    /* An accepted order whose events the seq walk above did not reach would
     * need them all the same: the array holds m engine events. */
    while (j < m)
        *dst++ = ev[j++];
    return ZC_OK;
}

zc_status zc_engine_submit_verified(zc_engine *e, const zc_order *orders, const uint8_t *valid, size_t n,
                                    zc_array **events)
{
    if (!e || !events || ((!orders || !valid) && n))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "engine, orders, valid and events must not be NULL");
    *events = NULL;
    size_t accepted = 0;
    for (size_t i = 0; i < n; i++)
        accepted += valid[i] != 0;
    if (accepted == n)
        return zc_engine_submit(e, orders, n, events);
    zc_order *pass = malloc((accepted ? accepted : 1) * sizeof *pass);
    if (!pass)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "%zu accepted orders", accepted);
    for (size_t i = 0, k = 0; i < n; i++)
        if (valid[i])
            pass[k++] = orders[i];
    zc_array *ev = NULL;
    zc_status st = ZC_OK;
    if (accepted)
        st = zc_engine_submit(e, pass, accepted, &ev);
    free(pass);
    if (st == ZC_OK) {
        const zc_event *v = ev ? zc_array_data(ev) : NULL;
        size_t m = ev ? zc_array_nbytes(ev) / sizeof(zc_event) : 0;
        /* Every accepted order has at least one event (ack or reject), so the
         * first names the batch's first seq. */
        uint64_t seq0 = m ? v[0].seq : 0;
        if (!m) {
            zc_engine_info info;
            st = zc_engine_info_get(e, &info);
            seq0 = info.next_seq - accepted;
        }
        if (st == ZC_OK)
            st = zc_book_merge_rejects(orders, n, valid, NULL, v, m, seq0, events);
    }
    zc_array_release(ev);
    return st;
}

zc_status zc_trader_pubkeys(uint64_t seed, uint32_t first, uint32_t n, uint8_t *pubkeys64)
{
    if (!pubkeys64 && n)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "pubkeys must not be NULL");
    uint8_t sk[32];
    zc_status st = ZC_OK;
    for (uint32_t i = 0; st == ZC_OK && i < n; i++) {
        st = zc_trader_seckeys(seed, first + i, 1, sk);
        if (st == ZC_OK)
            st = zc_secp256k1_pubkey_create(sk, pubkeys64 + (size_t)i * 64);
    }
    memset(sk, 0, sizeof sk);
    return st;
}

static zc_status check_traders(const zc_order *orders, size_t n, uint32_t ntraders)
{
    for (size_t i = 0; i < n; i++)
        if (orders[i].trader >= ntraders)
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "order %zu: trader %u has no key (%u traders)", i,
                          orders[i].trader, ntraders);
    return ZC_OK;
}

zc_status zc_orders_sign(const uint8_t *seckeys32, uint32_t ntraders, const zc_order *orders, size_t n,
                         uint8_t *sigs64)
{
    if ((!seckeys32 || !orders || !sigs64) && n)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "seckeys, orders and sigs must not be NULL");
    ZC_CHECK(check_traders(orders, n, ntraders));
    size_t blk = n < SIGNED_BLOCK ? n : SIGNED_BLOCK;
    uint8_t *enc = malloc(blk * ZC_ORDER_SIGNED_BYTES + 1);
    uint64_t *offsets = malloc((blk + 1) * sizeof *offsets);
    uint8_t *dig = malloc(blk * 32 + 1);
    uint32_t *key = malloc(blk * sizeof *key + 1);
    zc_status st = ZC_OK;
    if (!enc || !offsets || !dig || !key)
        st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "signing scratch for %zu orders", blk);
    int cpu = 0;
    if (st == ZC_OK)
        st = zc_device_find("cpu", &cpu);
    for (size_t at = 0; st == ZC_OK && at < n; at += blk) {
        size_t k = n - at < blk ? n - at : blk;
        int dev = cpu;
        st = digest_block(&dev, orders + at, k, enc, offsets, dig);
        for (size_t i = 0; i < k; i++)
            key[i] = orders[at + i].trader;
        if (st == ZC_OK)
            st = zc_ecdsa_sign_batch(seckeys32, ntraders, key, dig, k, sigs64 + at * 64);
    }
    free(enc);
    free(offsets);
    free(dig);
    free(key);
    return st;
}

zc_status zc_orders_verify(int *device, const uint8_t *pubkeys64, uint32_t ntraders, const zc_order *orders,
                           const uint8_t *sigs64, size_t n, unsigned flags, uint8_t *valid)
{
    if (!device || ((!pubkeys64 && ntraders) || ((!orders || !sigs64 || !valid) && n)))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, pubkeys, orders, sigs and valid must not be NULL");
    size_t blk = n < SIGNED_BLOCK ? n : SIGNED_BLOCK;
    uint8_t *enc = malloc(blk * ZC_ORDER_SIGNED_BYTES + 1);
    uint64_t *offsets = malloc((blk + 1) * sizeof *offsets);
    uint8_t *dig = malloc(blk * 32 + 1);
    uint8_t *pub = malloc(blk * 64 + 1);
    zc_status st = ZC_OK;
    if (!enc || !offsets || !dig || !pub)
        st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "verification scratch for %zu orders", blk);
    for (size_t at = 0; st == ZC_OK && at < n; at += blk) {
        size_t k = n - at < blk ? n - at : blk;
        st = digest_block(device, orders + at, k, enc, offsets, dig);
        /* A trader without a key gets the zero point, which is not on the
         * curve: verification says 0, and so does the check below. */
        for (size_t i = 0; i < k; i++) {
            uint32_t t = orders[at + i].trader;
            if (t < ntraders)
                memcpy(pub + i * 64, pubkeys64 + (size_t)t * 64, 64);
            else
                memset(pub + i * 64, 0, 64);
        }
        if (st == ZC_OK)
            st = zc_ecdsa_verify_batch(device, pub, dig, sigs64 + at * 64, k, flags, valid + at);
        for (size_t i = 0; st == ZC_OK && i < k; i++)
            valid[at + i] = valid[at + i] && orders[at + i].trader < ntraders;
    }
    free(enc);
    free(offsets);
    free(dig);
    free(pub);
    return st;
}

zc_status zc_engine_submit_signed(zc_engine *e, int *device, const uint8_t *pubkeys64, uint32_t ntraders,
                                  const zc_order *orders, const uint8_t *sigs64, size_t n, unsigned flags,
                                  zc_array **events)
{
    if (!e || !events)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "engine and events must not be NULL");
    uint8_t *valid = malloc(n + 1);
    if (!valid)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "verdicts of %zu orders", n);
    zc_status st = zc_orders_verify(device, pubkeys64, ntraders, orders, sigs64, n, flags, valid);
    if (st == ZC_OK)
        st = zc_engine_submit_verified(e, orders, valid, n, events);
    free(valid);
    return st;
}
