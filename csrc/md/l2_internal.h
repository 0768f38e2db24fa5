/* L2 book internals shared between csrc/md/l2.c and the cpu kernel that
 * applies messages in parallel over symbols. */
#ifndef ZC_MD_L2_INTERNAL_H
#define ZC_MD_L2_INTERNAL_H

#include "zkclob/md.h"

#include "../../kernels/md.h"

#define ZC_L2_MAX_WINDOW 64

/* Per symbol state. An in-sequence delta touches only its first two cache
 * lines (the cached top of book, then the sequencing state and level
 * counts) besides its side's levels; the cold part starts on a line of its
 * own. The top is recomputed only when a best level changes, with the
 * arithmetic of zc_l2_top, so quote rows and the crossed test need not read
 * the other side's levels. n mirrors the public counts array, which is
 * written only when a count changes. */
typedef struct l2_sym {
    _Alignas(64) zc_l1 top; /* NaN for an empty side */
    uint64_t last_seq, last_ts;
    uint64_t applied;
    int64_t n[2];   /* levels in use per side */
    int32_t held;   /* messages held for reordering, sorted by seq */
    uint8_t has_seq, has_ts, stale, crossed;
    _Alignas(64) uint64_t snap_seq;
    uint32_t nev; /* events recorded this call */
    uint8_t has_snap;
    zc_l2_counters c; /* c.applied is kept in `applied` above */
} l2_sym;

/* One zc_l2_apply call. Symbols are split into `parts` partitions (symbol %
 * parts); a worker walks the messages in arrival order once for its range of
 * partitions, so reads and quote writes stream through memory while the
 * books stay cache resident. */
typedef struct l2_job {
    const zc_l2_msg *msgs;
    size_t n;
    uint32_t parts;
    zc_l2_quote *quotes;
    double *topk;
    uint32_t k;
} l2_job;

struct zc_l2 {
    uint32_t nsym, cap, window, evcap, parts;
    int cpu;
    zc_array *levels; /* f64 (nsym, 2, cap, 3) */
    zc_array *counts; /* i64 (nsym, 2) */
    double *lv;
    int64_t *cnt;
    double *tick;
    l2_sym *sym;
    zc_l2_msg *held;      /* nsym x window */
    zc_l2_event *ev;      /* nsym x evcap */
    struct l2_tracker *tracker; /* resting orders of the engine source */
    const l2_job *job;    /* the call in progress */
};

/* Applies the current job's messages of partitions [begin, end) in one pass. */
void zc_l2_apply_parts(zc_l2 *b, size_t begin, size_t end);

#endif
