#include "match.h"

/* One work item per symbol: an empty book (see kernels/match.h). */
ZC_KERNEL void zc_book_init(ZC_GLOBAL zc_mslot *slots, ZC_GLOBAL zc_mlevel *levels, ZC_GLOBAL zc_mref *sides,
                            ZC_GLOBAL zc_mbucket *buckets, ZC_GLOBAL int32_t *dirty,
                            ZC_GLOBAL zc_msym *syms, uint32_t cap, uint32_t hsize, uint32_t nsym)
{
    uint64_t s = ZC_GID(0);
    if (s >= nsym)
        return;
    zc_mbook b = zc_mbook_at(slots, levels, sides, buckets, dirty, syms, cap, hsize, 0, 0, (uint32_t)s);
    zc_mbook_reset(&b);
}

/* One work item per symbol of the batch: its orders in sequence order. */
ZC_KERNEL void zc_match_books(ZC_GLOBAL zc_mslot *slots, ZC_GLOBAL zc_mlevel *levels, ZC_GLOBAL zc_mref *sides,
                              ZC_GLOBAL zc_mbucket *buckets, ZC_GLOBAL int32_t *dirty,
                              ZC_GLOBAL zc_msym *syms, uint32_t cap, uint32_t hsize, uint64_t k0, uint64_t k1,
                              ZC_GLOBAL const zc_morder *orders, ZC_GLOBAL zc_mtask *tasks, ZC_GLOBAL zc_mevent *ev,
                              ZC_GLOBAL uint32_t *evcount, uint32_t ntasks)
{
    uint64_t t = ZC_GID(0);
    if (t >= ntasks)
        return;
    zc_match_task(slots, levels, sides, buckets, dirty, syms, cap, hsize, k0, k1, orders, tasks, ev, evcount, t);
}

/* One work group of ZC_AUCTION_GROUP items per listed symbol: its call
 * auction (demand and supply by parallel prefix sums, kernels/match.h). */
__attribute__((reqd_work_group_size(ZC_AUCTION_GROUP, 1, 1)))
ZC_KERNEL void zc_auction_books(ZC_GLOBAL zc_mslot *slots, ZC_GLOBAL zc_mlevel *levels, ZC_GLOBAL zc_mref *sides,
                                ZC_GLOBAL zc_mbucket *buckets, ZC_GLOBAL int32_t *dirty,
                                ZC_GLOBAL zc_msym *syms, uint32_t cap, uint32_t hsize, uint64_t k0, uint64_t k1,
                                uint64_t seq, ZC_GLOBAL zc_mtask *tasks, ZC_GLOBAL zc_mevent *ev,
                                ZC_GLOBAL int64_t *scratch, uint32_t ntasks)
{
    ZC_LOCAL int64_t loc[4 * ZC_AUCTION_GROUP];
    uint64_t t = ZC_GROUP_ID(0);
    if (t >= ntasks)
        return;
    zc_auction_group_task(slots, levels, sides, buckets, dirty, syms, cap, hsize, k0, k1, seq, tasks, ev, scratch,
                          loc, t, (uint32_t)ZC_LID(0));
}

/* One work item per task: its events to their place in the dense output. */
ZC_KERNEL void zc_match_compact(ZC_GLOBAL const zc_mtask *tasks, ZC_GLOBAL const zc_mevent *ev,
                                ZC_GLOBAL zc_mevent *dense, uint32_t ntasks)
{
    uint64_t t = ZC_GID(0);
    if (t >= ntasks)
        return;
    zc_match_compact_task(tasks, ev, dense, t);
}

/* One work item: the tasks' destination offsets and the batch's event total. */
ZC_KERNEL void zc_match_offsets(ZC_GLOBAL zc_mtask *tasks, ZC_GLOBAL uint64_t *total, uint32_t ntasks)
{
    if (ZC_GID(0) != 0)
        return;
    zc_match_offsets_run(tasks, total, ntasks);
}
