/* The cpu backend's fork-join pool: every item exactly once, for any size,
 * chunk and thread limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/threadpool.h"

typedef struct sum_ctx {
    uint64_t *marks;
} sum_ctx;

static void mark_range(void *ctx, size_t begin, size_t end)
{
    sum_ctx *c = ctx;
    for (size_t i = begin; i < end; i++)
        c->marks[i] += i + 1;
}

static void test_threadpool_covers_every_item_once(void **state)
{
    (void)state;
    zc_threadpool *pool;
    assert_int_equal(zc_threadpool_create(4, &pool), ZC_OK);
    assert_int_equal(zc_threadpool_size(pool), 4);
    const size_t sizes[] = {0, 1, 7, 1000, 100003};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int limit = 0; limit <= 4; limit++) {
            size_t n = sizes[s];
            uint64_t *marks = calloc(n + 1, sizeof *marks);
            sum_ctx c = {marks};
            zc_threadpool_parallel_for(pool, n, 16, limit, mark_range, &c);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(marks[i], i + 1);
            free(marks);
        }
    }
    zc_threadpool *bad;
    assert_int_equal(zc_threadpool_create(0, &bad), ZC_ERR_INVALID_ARGUMENT);
    zc_threadpool_destroy(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threadpool_covers_every_item_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
