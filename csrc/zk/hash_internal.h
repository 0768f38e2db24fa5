/* Internal interface of the hash module, shared with the Merkle module. */
#ifndef ZC_ZK_HASH_INTERNAL_H
#define ZC_ZK_HASH_INTERNAL_H

#include "zkclob/device.h"
#include "zkclob/merkle.h"

/* n inputs to digest: rows of len field elements of a Poseidon2 instance, or
 * byte strings (data, offsets) for SHA-256 and Keccak-256. */
typedef struct zc_hash_input {
    zc_merkle_hash hash;
    zc_poseidon2_instance inst;
    const void *rows;
    size_t len;
    const uint8_t *data;
    size_t data_len;
    const uint64_t *offsets;
    size_t n;
} zc_hash_input;

/* Checks pointers, sizes, offsets and that field elements are canonical. */
zc_status zc_hash_input_check(const zc_hash_input *in);

/* Errors unless the count elements at v (rows of `width`, for the message)
 * are canonical for the field. */
zc_status zc_check_canonical(const void *v, size_t count, size_t width, int goldilocks, const char *what);

/* A device buffer for `bytes` of host memory: the host memory itself on
 * host-shared devices, else a new device buffer, filled from host when
 * upload is set. bytes == 0 gets a one-word stand-in (devices refuse empty buffers). */
zc_status zc_buf_for_host(int dev, void *host, size_t bytes, int upload, zc_devbuf **out);

/* Digests of the n inputs on device dev, written to host_out (n x 32 bytes).
 * With `kept` non-NULL the device buffer holding them is handed over instead
 * of freed. Part of a zc_run operation: no retries of its own. */
zc_status zc_hash_input_digest(int dev, const zc_hash_input *in, uint8_t *host_out, zc_devbuf **kept);

/* Work items for a launch of n items writing `out`: whole multiples of 4096
 * on devices that do not share host memory. OpenCL runtimes may specialise a
 * kernel per work-group size (PoCL compiles it again for every new size), so
 * a few fixed sizes save a compile per batch size; the kernels skip the items
 * past n. */
size_t zc_hash_launch_size(zc_devbuf *out, size_t n);

/* Node level: out[i] = H(in[2i], in[2i + 1] or zero) for i < n_out. */
zc_status zc_merkle_level_launch(int dev, zc_merkle_hash hash, zc_poseidon2_instance inst, zc_devbuf *in,
                                 uint64_t n_in, zc_devbuf *out, uint64_t n_out);

#endif
