/* Fault-injection rules "backend:op:nth[xcount][:transient|lost]" (internal). */
#ifndef ZC_FAULT_H
#define ZC_FAULT_H

#include <stdatomic.h>

#include "zkclob/core.h"

#define ZC_FAULT_MAX_RULES 16

typedef struct zc_fault_rule {
    char backend[16]; /* "*" matches any */
    char op[16];      /* "*" matches any */
    uint64_t nth;     /* first failing call, 1-based */
    uint64_t count;   /* consecutive failing calls */
    zc_status status;
    atomic_uint_fast64_t calls;
} zc_fault_rule;

typedef struct zc_fault_rules {
    atomic_int n;
    zc_fault_rule rule[ZC_FAULT_MAX_RULES];
} zc_fault_rules;

/* Replace the rules; on a parse error the old rules stay. */
zc_status zc_fault_rules_parse(zc_fault_rules *rules, const char *text);
/* ZC_OK, or the status to inject for this call. */
zc_status zc_fault_rules_hit(zc_fault_rules *rules, const char *backend, const char *op);

#endif
