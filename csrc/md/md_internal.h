/* Helpers shared by the market-data modules. */
#ifndef ZC_MD_INTERNAL_H
#define ZC_MD_INTERNAL_H

#include <math.h>

#include "zkclob/md.h"

/* Symbols in range, finite prices and sizes, sizes >= 0, and timestamps
 * that never go backwards within a symbol. */
zc_status zc_md_check_trades(const zc_trade *t, size_t n, uint32_t nsym);

/* Stable counting sort of n records by a uint32 key read at key + i * stride
 * (< nkeys): (*order)[(*offsets)[k] .. (*offsets)[k + 1]) are the indices of
 * key k in arrival order. Both arrays are malloc'd. */
zc_status zc_md_group(const uint32_t *key, size_t stride, size_t n, uint32_t nkeys, uint64_t **offsets,
                      uint64_t **order);

#endif
