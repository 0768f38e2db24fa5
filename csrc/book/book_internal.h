/* Internal interface between the engine, its journal and the gates in front
 * of it. */
#ifndef ZC_BOOK_INTERNAL_H
#define ZC_BOOK_INTERNAL_H

#include "zkclob/book.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the journal and the packed records are written in host byte order, which must be little-endian"
#endif

/* Journal record types: the first byte of a record's payload. */
#define ZC_JREC_BATCH 1   /* seq of the first order, n, n packed zc_order */
#define ZC_JREC_MODE 2    /* next seq, 1, symbol u32, mode u32 */
#define ZC_JREC_UNCROSS 3 /* seq, k, k symbols u32 */

/* Every payload starts with type u8, 7 zero bytes, seq u64, count u64. */
#define ZC_JREC_PREFIX 24

typedef struct zc_journal zc_journal;

/* Called for each good record of a scan, in file order. */
typedef zc_status (*zc_journal_record_fn)(void *ctx, const uint8_t *payload, size_t len);

/* Reads a journal: its header's config bytes (*config, malloc'd, may be NULL
 * to skip) and every good record through fn (NULL to skip). With repair, a
 * torn tail is truncated from the file. */
zc_status zc_journal_scan(const char *path, int repair, zc_journal_info *info, uint8_t **config, size_t *config_len,
                          zc_journal_record_fn fn, void *ctx);

/* Reads only the header's config bytes (*config is malloc'd). */
zc_status zc_journal_read_config(const char *path, uint8_t **config, size_t *config_len);

/* Creates a journal with this config, or opens the existing one at the end
 * of its good records (the caller has scanned and replayed it: info). */
zc_status zc_journal_open(const char *path, const uint8_t *config, size_t config_len, const zc_journal_info *existing,
                          zc_fsync_policy policy, uint32_t every, zc_journal **out);
/* Appends one record whose payload is a || b. */
zc_status zc_journal_append(zc_journal *j, const void *a, size_t alen, const void *b, size_t blen);
void zc_journal_close(zc_journal *j);

/* The engine's m events ev for the accepted orders of a batch (seq0: seq of
 * its first accepted order) merged, in array order, with a reject event for
 * each refused order, as a new uint8 array of zc_event. Order i is refused
 * when reasons[i] != ZC_REASON_NONE (reject reason reasons[i]), or, with
 * reasons NULL, when !valid[i] (ZC_REASON_BAD_SIGNATURE). Used by the
 * signature gate (signed.c) and the risk gate (risk/positions.c). */
zc_status zc_book_merge_rejects(const zc_order *orders, size_t n, const uint8_t *valid, const uint16_t *reasons,
                                const zc_event *ev, size_t m, uint64_t seq0, zc_array **out);

#endif
