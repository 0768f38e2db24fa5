#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"

static int copy_field(char *dst, size_t cap, const char *src, size_t len)
{
    if (len == 0 || len >= cap)
        return 0;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 1;
}

static zc_status parse_rule(const char *s, size_t len, zc_fault_rule *r)
{
    const char *end = s + len;
    const char *fields[4] = {0};
    size_t lens[4] = {0};
    int nf = 0;
    const char *p = s;
    while (nf < 4) {
        const char *c = memchr(p, ':', (size_t)(end - p));
        fields[nf] = p;
        lens[nf] = (size_t)((c ? c : end) - p);
        nf++;
        if (!c)
            break;
        p = c + 1;
    }
    if (nf < 3 || p + lens[nf - 1] != end)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "fault rule '%.*s': expected backend:op:nth[xcount][:transient|lost]",
                      (int)len, s);
    if (!copy_field(r->backend, sizeof r->backend, fields[0], lens[0]) ||
        !copy_field(r->op, sizeof r->op, fields[1], lens[1]))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "fault rule '%.*s': empty or long backend/op", (int)len, s);
    char num[32];
    if (!copy_field(num, sizeof num, fields[2], lens[2]))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "fault rule '%.*s': missing call number", (int)len, s);
    char *x;
    r->nth = strtoull(num, &x, 10);
    r->count = 1;
    if (*x == 'x') {
        char *y;
        r->count = strtoull(x + 1, &y, 10);
        x = y;
    }
    if (*x != '\0' || r->nth == 0 || r->count == 0)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "fault rule '%.*s': call number must be N or NxCOUNT with N, COUNT >= 1",
                      (int)len, s);
    r->status = ZC_ERR_TRANSIENT;
    if (nf == 4) {
        if (lens[3] == 4 && strncmp(fields[3], "lost", 4) == 0)
            r->status = ZC_ERR_DEVICE_LOST;
        else if (!(lens[3] == 9 && strncmp(fields[3], "transient", 9) == 0))
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "fault rule '%.*s': class must be transient or lost", (int)len, s);
    }
    atomic_store(&r->calls, 0);
    return ZC_OK;
}

zc_status zc_fault_rules_parse(zc_fault_rules *rules, const char *text)
{
    zc_fault_rule parsed[ZC_FAULT_MAX_RULES];
    int n = 0;
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0) {
            if (n == ZC_FAULT_MAX_RULES)
                return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "at most %d fault rules", ZC_FAULT_MAX_RULES);
            memset(&parsed[n], 0, sizeof parsed[n]);
            ZC_CHECK(parse_rule(p, len, &parsed[n]));
            n++;
        }
        p += len + (comma ? 1 : 0);
    }
    atomic_store(&rules->n, 0);
    for (int i = 0; i < n; i++) {
        zc_fault_rule *r = &rules->rule[i];
        memcpy(r->backend, parsed[i].backend, sizeof r->backend);
        memcpy(r->op, parsed[i].op, sizeof r->op);
        r->nth = parsed[i].nth;
        r->count = parsed[i].count;
        r->status = parsed[i].status;
        atomic_store(&r->calls, 0);
    }
    atomic_store(&rules->n, n);
    if (n)
        zc_log(ZC_LOG_INFO, "fault", "%d fault injection rule(s) active: %s", n, text);
    return ZC_OK;
}

static int field_matches(const char *pattern, const char *value)
{
    return strcmp(pattern, "*") == 0 || strcmp(pattern, value) == 0;
}

zc_status zc_fault_rules_hit(zc_fault_rules *rules, const char *backend, const char *op)
{
    int n = atomic_load(&rules->n);
    for (int i = 0; i < n; i++) {
        zc_fault_rule *r = &rules->rule[i];
        if (!field_matches(r->backend, backend) || !field_matches(r->op, op))
            continue;
        uint64_t call = atomic_fetch_add(&r->calls, 1) + 1;
        if (call >= r->nth && call - r->nth < r->count)
            return r->status;
    }
    return ZC_OK;
}
