/* L2 book internals shared between csrc/md/l2.c and the cpu kernel that
 * applies messages in parallel over symbols. */
#ifndef ZC_MD_L2_INTERNAL_H
#define ZC_MD_L2_INTERNAL_H

#include "zkclob/md.h"

#define ZC_L2_MAX_WINDOW 64

typedef struct l2_sym {
    uint64_t last_seq, snap_seq, last_ts;
    int has_seq, has_snap, stale, crossed, has_ts;
    int32_t held;   /* messages held for reordering, sorted by seq */
    uint32_t nev;   /* events recorded this call */
    zc_l2_counters c;
} l2_sym;

/* One zc_l2_apply call. Symbols are split into `parts` partitions (symbol %
 * parts); each partition walks the messages in arrival order, so reads and
 * quote writes stream through memory while the books stay cache resident. */
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

/* Applies the current job's messages of partitions [begin, end). */
void zc_l2_apply_parts(zc_l2 *b, size_t begin, size_t end);

#endif
