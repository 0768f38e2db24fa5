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

/* One zc_l2_apply call, in two launches of the same kernel. L2_CHECK: items
 * are chunks of messages; each checks its symbols (the first bad index goes
 * to bad[chunk]) and writes each message's worker to part[]. L2_APPLY:
 * `workers` items; one item applies every message in a single pass, and
 * with several, item w applies the messages of worker w, found through
 * part[], so a worker reads only its own messages and the books of its own
 * symbols. Each symbol's messages are applied in arrival order. A large
 * one-worker call skips L2_CHECK: its pass checks the symbols (`checked`). */
enum { L2_CHECK, L2_APPLY };

typedef struct l2_job {
    int phase;
    const zc_l2_msg *msgs;
    size_t n;
    uint32_t workers;
    zc_l2_quote *quotes;
    double *topk;
    uint32_t k;
    uint8_t *part; /* n workers, written by L2_CHECK */
    size_t chunks; /* L2_CHECK items */
    size_t *bad;   /* per chunk: first message with an unknown symbol, or SIZE_MAX */
    int checked;   /* one worker: the pass checks each symbol itself (apply_checked in l2.c) */
    size_t bad_at; /* with checked: the message whose bad symbol stopped the pass, or SIZE_MAX */
    uint8_t worker_of[UINT8_MAX]; /* partition -> worker */
} l2_job;

struct zc_l2 {
    uint32_t nsym, cap, window, evcap;
    uint32_t parts; /* symbol partitions: one per thread of the cpu device, at most UINT8_MAX */
    int cpu;
    uint8_t *part_of; /* partition of each symbol */
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

/* Runs items [begin, end) of the current job (see l2_job). */
void zc_l2_apply_parts(zc_l2 *b, size_t begin, size_t end);

#endif
