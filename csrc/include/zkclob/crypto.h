/* zkclob crypto: secp256k1 ECDSA. Verification runs in batches on any backend
 * (variable time: inputs are public); key creation and signing are constant
 * time and exist to make test and demo data (RFC 6979 deterministic nonces).
 *
 * Byte conventions follow SEC 1 / libsecp256k1: scalars, digests and
 * coordinates are 32-byte big-endian. A parsed public key is 64 bytes x || y
 * (big-endian, affine, validated on the curve); a signature is 64 bytes r || s.
 * *device selects the device and, on return, names the one that ran the call. */
#ifndef ZKCLOB_CRYPTO_H
#define ZKCLOB_CRYPTO_H

#include "zkclob/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZC_SECP256K1_PUBKEY_BYTES 64
#define ZC_SECP256K1_SIG_BYTES 64

/* Verification flags. */
enum {
    ZC_ECDSA_LOW_S = 1u << 0 /* reject s > n/2 (BIP 62 / libsecp256k1 policy) */
};

/* Parse n SEC 1 public keys of `len` bytes each (33 compressed, 65
 * uncompressed) into 64-byte x || y. ok[i] = 1 for a valid key, 0 otherwise
 * (bad prefix, coordinate >= p, not on the curve); out rows of invalid keys
 * are zeroed. Malformed individual keys are not an error; a bad len is. */
ZC_API zc_status zc_secp256k1_pubkey_parse(const uint8_t *in, size_t n, size_t len, uint8_t *out64, uint8_t *ok);

/* Verify n signatures over 32-byte digests: valid[i] = 1 when sig i is a
 * valid ECDSA signature of digest i under pubkey i (64-byte parsed form),
 * else 0. r or s out of [1, n-1], high s with ZC_ECDSA_LOW_S, or a key not on
 * the curve give 0, never an error. Results are bit-identical on every backend. */
ZC_API zc_status zc_ecdsa_verify_batch(int *device, const uint8_t *pubkeys64, const uint8_t *digests32,
                                       const uint8_t *sigs64, size_t n, unsigned flags, uint8_t *valid);

/* pubkey64 = seckey * G; seckey must be in [1, n-1]. Constant time. */
ZC_API zc_status zc_secp256k1_pubkey_create(const uint8_t seckey[32], uint8_t pubkey64[64]);

/* RFC 6979 (HMAC-SHA256) deterministic ECDSA signature, normalised to low s.
 * Constant time in the secret key and nonce. */
ZC_API zc_status zc_ecdsa_sign(const uint8_t seckey[32], const uint8_t digest32[32], uint8_t sig64[64]);

/* Sign n digests on the cpu thread pool: item i is signed with
 * seckeys32[key_index[i]] (key_index may be NULL: item i uses key i). */
ZC_API zc_status zc_ecdsa_sign_batch(const uint8_t *seckeys32, size_t nkeys, const uint32_t *key_index,
                                     const uint8_t *digests32, size_t n, uint8_t *sigs64);

/* Strict DER (BIP 66 / X.690 DER) ECDSA signature: SEQUENCE of two positive
 * minimal INTEGERs of at most 32 value bytes, short-form lengths, nothing
 * trailing. ok = 1 and sig64 = r || s when well formed; else ok = 0 and sig64
 * zeroed. A malformed encoding is not an error (r and s are range-checked by
 * verification, not here). */
ZC_API zc_status zc_ecdsa_sig_parse_der(const uint8_t *der, size_t len, uint8_t sig64[64], uint8_t *ok);

#ifdef __cplusplus
}
#endif

#endif
