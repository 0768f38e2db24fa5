/* The engine journal: length-prefixed records with CRC32C and a SHA-256 hash
 * chain (format in zkclob/book.h), torn-tail recovery and fsync policies.
 * SHA-256 is zkclob's own (zc_sha256_batch on the cpu device). */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/internal.h"
#include "book_internal.h"
#include "zkclob/device.h"
#include "zkclob/hash.h"

#define FILE_MAGIC "ZCJOURN1"
#define FILE_MAGIC_LEN 8
#define REC_MAGIC 0x52434A5Au /* "ZJCR" */
#define REC_HEAD 16
#define HASH 32
/* A record longer than this is a corrupt length, not a batch. */
#define REC_MAX_PAYLOAD ((uint64_t)1 << 40)

/* ---- CRC32C ---- */

static uint32_t crc_table[256];

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        crc_table[i] = c;
    }
}

static uint32_t crc_soft(uint32_t c, const uint8_t *p, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_table_init);
    while (n--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c64 = __builtin_ia32_crc32di(c64, w);
    }
    c = (uint32_t)c64;
    for (; n; n--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

uint32_t zc_crc32c(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc_hw(c, p, n);
#endif
    return ~crc_soft(c, p, n);
}

/* ---- helpers ---- */

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* SHA-256 of data[0, len). */
static zc_status sha256(const uint8_t *data, size_t len, uint8_t out[HASH])
{
    int dev;
    ZC_CHECK(zc_device_find("cpu", &dev));
    uint64_t offsets[2] = {0, len};
    return zc_sha256_batch(&dev, data, len, offsets, 1, out);
}

static zc_status io_error(const char *path, const char *what)
{
    return ZC_ERR(ZC_ERR_IO, "journal %s: %s: %s", path, what, strerror(errno));
}

/* Reads exactly n bytes at the file position; 0 on success, 1 when the file
 * ends first. */
static int read_full(FILE *f, void *buf, size_t n) { return fread(buf, 1, n, f) == n ? 0 : 1; }

static int all_zero(FILE *f)
{
    int c;
    while ((c = fgetc(f)) != EOF)
        if (c != 0)
            return 0;
    return 1;
}

/* ---- scanning ---- */

/* Reads the header, then (unless header_only) every record. */
static zc_status scan(const char *path, int repair, int header_only, zc_journal_info *info, uint8_t **config,
                      size_t *config_len, zc_journal_record_fn fn, void *ctx)
{
    if (!path || !info)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "path and info must not be NULL");
    memset(info, 0, sizeof *info);
    if (config)
        *config = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return io_error(path, "cannot open");
    struct stat stbuf;
    if (fstat(fileno(f), &stbuf) != 0) {
        fclose(f);
        return io_error(path, "cannot stat");
    }
    uint64_t size = (uint64_t)stbuf.st_size;
    info->file_bytes = size;

    zc_status st = ZC_OK;
    uint8_t *buf = NULL;
    size_t cap = 0;
    uint8_t head[FILE_MAGIC_LEN + 4];
    uint32_t hlen = 0;
    if (read_full(f, head, sizeof head) || memcmp(head, FILE_MAGIC, FILE_MAGIC_LEN) != 0 ||
        (hlen = get32(head + FILE_MAGIC_LEN)) > size - sizeof head) {
        st = ZC_ERR(ZC_ERR_IO, "journal %s: no journal header at offset 0", path);
        goto done;
    }
    /* The header hashes as a whole; buf holds it, then each chain input. */
    cap = sizeof head + hlen + 4 + HASH;
    buf = malloc(cap);
    if (!buf) {
        st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "journal header of %u bytes", hlen);
        goto done;
    }
    memcpy(buf, head, sizeof head);
    if (read_full(f, buf + sizeof head, (size_t)hlen + 4) ||
        zc_crc32c(0, buf, sizeof head + hlen) != get32(buf + sizeof head + hlen)) {
        st = ZC_ERR(ZC_ERR_IO, "journal %s: header checksum mismatch at offset 0", path);
        goto done;
    }
    if (config) {
        *config = malloc(hlen ? hlen : 1);
        if (!*config) {
            st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "journal config of %u bytes", hlen);
            goto done;
        }
        memcpy(*config, buf + sizeof head, hlen);
        *config_len = hlen;
    }
    uint8_t prev[HASH];
    st = sha256(buf, sizeof head + hlen + 4, prev);
    uint64_t off = sizeof head + hlen + 4;

    while (st == ZC_OK && !header_only) {
        info->good_bytes = off;
        memcpy(info->head, prev, HASH);
        if (off == size)
            break;
        uint8_t rh[REC_HEAD];
        if (size - off < REC_HEAD || read_full(f, rh, REC_HEAD)) {
            info->torn = 1;
            break;
        }
        uint64_t len = get32(rh + 4);
        if (get32(rh) != REC_MAGIC || zc_crc32c(0, rh, 12) != get32(rh + 12)) {
            if (!memcmp(rh, (uint8_t[REC_HEAD]){0}, REC_HEAD) && all_zero(f)) {
                info->torn = 1; /* a zero-filled tail, as left by a crash after the size grew */
                break;
            }
            st = ZC_ERR(ZC_ERR_IO, "journal %s: corrupt record header at offset %llu", path,
                        (unsigned long long)off);
            goto done;
        }
        if (len > REC_MAX_PAYLOAD || len + REC_HEAD + HASH > size - off) {
            info->torn = 1;
            break;
        }
        if (HASH + len + HASH > cap) {
            size_t ncap = (size_t)(HASH + len + HASH) * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "journal record of %llu bytes", (unsigned long long)len);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        /* buf = prev hash || payload || stored hash */
        memcpy(buf, prev, HASH);
        uint8_t *payload = buf + HASH;
        if (read_full(f, payload, (size_t)len + HASH)) {
            info->torn = 1;
            break;
        }
        uint64_t end = off + REC_HEAD + len + HASH;
        if (zc_crc32c(0, payload, (size_t)len + HASH) != get32(rh + 8)) {
            if (end == size) {
                info->torn = 1; /* the last record, partly written */
                break;
            }
            st = ZC_ERR(ZC_ERR_IO, "journal %s: record checksum mismatch at offset %llu", path,
                        (unsigned long long)off);
            goto done;
        }
        uint8_t h[HASH];
        st = sha256(buf, HASH + (size_t)len, h);
        if (st != ZC_OK)
            goto done;
        if (memcmp(h, payload + len, HASH) != 0) {
            st = ZC_ERR(ZC_ERR_IO, "journal %s: hash chain broken at offset %llu", path, (unsigned long long)off);
            goto done;
        }
        if (len < ZC_JREC_PREFIX) {
            st = ZC_ERR(ZC_ERR_IO, "journal %s: record of %llu bytes at offset %llu is too short", path,
                        (unsigned long long)len, (unsigned long long)off);
            goto done;
        }
        if (fn) {
            st = fn(ctx, payload, (size_t)len);
            if (st != ZC_OK)
                goto done;
        }
        memcpy(prev, h, HASH);
        off = end;
        info->records++;
        uint64_t seq, count;
        memcpy(&seq, payload + 8, 8);
        memcpy(&count, payload + 16, 8);
        info->next_seq = payload[0] == ZC_JREC_BATCH ? seq + count : payload[0] == ZC_JREC_UNCROSS ? seq + 1 : seq;
    }
    if (info->torn) {
        zc_log(ZC_LOG_WARN, "book", "journal %s: torn tail of %llu bytes after offset %llu (%llu good records)%s",
               path, (unsigned long long)(size - info->good_bytes), (unsigned long long)info->good_bytes,
               (unsigned long long)info->records, repair ? ", truncated" : "");
        if (repair && truncate(path, (off_t)info->good_bytes) != 0)
            st = io_error(path, "cannot truncate the torn tail");
    }
done:
    if (st != ZC_OK && config) {
        free(*config);
        *config = NULL;
    }
    free(buf);
    fclose(f);
    return st;
}

zc_status zc_journal_scan(const char *path, int repair, zc_journal_info *info, uint8_t **config, size_t *config_len,
                          zc_journal_record_fn fn, void *ctx)
{
    return scan(path, repair, 0, info, config, config_len, fn, ctx);
}

zc_status zc_journal_read_config(const char *path, uint8_t **config, size_t *config_len)
{
    zc_journal_info info;
    return scan(path, 0, 1, &info, config, config_len, NULL, NULL);
}

zc_status zc_journal_check(const char *path, zc_journal_info *info)
{
    return scan(path, 0, 0, info, NULL, NULL, NULL, NULL);
}

/* ---- appending ---- */

struct zc_journal {
    int fd;
    char *path;
    uint64_t size;
    uint8_t head[HASH];
    zc_fsync_policy policy;
    uint32_t every, unsynced;
    uint8_t *buf; /* prev hash || payload || hash, reused */
    size_t cap;
};

static zc_status write_all(zc_journal *j, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(j->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return io_error(j->path, "write failed");
        p += w;
        n -= (size_t)w;
    }
    return ZC_OK;
}

static zc_status sync_policy(zc_journal *j)
{
    if (j->policy == ZC_FSYNC_NONE)
        return ZC_OK;
    if (j->policy == ZC_FSYNC_EVERY && ++j->unsynced < j->every)
        return ZC_OK;
    j->unsynced = 0;
    if (fdatasync(j->fd) != 0)
        return io_error(j->path, "fdatasync failed");
    return ZC_OK;
}

zc_status zc_journal_open(const char *path, const uint8_t *config, size_t config_len, const zc_journal_info *existing,
                          zc_fsync_policy policy, uint32_t every, zc_journal **out)
{
    if ((unsigned)policy > ZC_FSYNC_EVERY || (policy == ZC_FSYNC_EVERY && every == 0))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "fsync policy %d needs fsync_every >= 1 for 'every'", (int)policy);
    if (config_len > UINT32_MAX - 64)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "journal config of %zu bytes is too large", config_len);
    zc_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "journal");
    }
    j->policy = policy;
    j->every = every;
    zc_status st = ZC_OK;
    j->fd = open(path, existing ? O_WRONLY : (O_WRONLY | O_CREAT | O_TRUNC), 0644);
    if (j->fd < 0) {
        st = io_error(path, "cannot open for writing");
        goto fail;
    }
    if (existing) {
        j->size = existing->good_bytes;
        memcpy(j->head, existing->head, HASH);
        if (lseek(j->fd, (off_t)j->size, SEEK_SET) < 0) {
            st = io_error(path, "cannot seek");
            goto fail;
        }
    } else {
        size_t hl = FILE_MAGIC_LEN + 4 + config_len + 4;
        uint8_t *h = malloc(hl);
        if (!h) {
            st = ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "journal header");
            goto fail;
        }
        memcpy(h, FILE_MAGIC, FILE_MAGIC_LEN);
        put32(h + FILE_MAGIC_LEN, (uint32_t)config_len);
        memcpy(h + FILE_MAGIC_LEN + 4, config, config_len);
        put32(h + hl - 4, zc_crc32c(0, h, hl - 4));
        st = write_all(j, h, hl);
        if (st == ZC_OK)
            st = sha256(h, hl, j->head);
        free(h);
        if (st == ZC_OK && fdatasync(j->fd) != 0)
            st = io_error(path, "fdatasync failed");
        if (st != ZC_OK)
            goto fail;
        j->size = hl;
    }
    *out = j;
    return ZC_OK;
fail:
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    free(j);
    return st;
}

zc_status zc_journal_append(zc_journal *j, const void *a, size_t alen, const void *b, size_t blen)
{
    uint64_t len = (uint64_t)alen + blen;
    if (len > UINT32_MAX)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "journal record of %llu bytes exceeds the 4 GiB record limit",
                      (unsigned long long)len);
    size_t need = HASH + (size_t)len + HASH;
    if (need > j->cap) {
        uint8_t *nb = realloc(j->buf, need);
        if (!nb)
            return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "journal record of %llu bytes", (unsigned long long)len);
        j->buf = nb;
        j->cap = need;
    }
    /* buf = prev hash || payload || new hash; the record header then
     * overwrites the last 16 bytes of the prev hash so one write suffices. */
    uint8_t *payload = j->buf + HASH;
    memcpy(j->buf, j->head, HASH);
    memcpy(payload, a, alen);
    if (blen)
        memcpy(payload + alen, b, blen);
    uint8_t *hash = payload + len;
    ZC_CHECK(sha256(j->buf, HASH + (size_t)len, hash));
    uint8_t *rh = payload - REC_HEAD;
    uint8_t saved[HASH];
    memcpy(saved, hash, HASH);
    put32(rh, REC_MAGIC);
    put32(rh + 4, (uint32_t)len);
    put32(rh + 8, zc_crc32c(0, payload, (size_t)len + HASH));
    put32(rh + 12, zc_crc32c(0, rh, 12));
    zc_status st = write_all(j, rh, REC_HEAD + (size_t)len + HASH);
    if (st == ZC_OK)
        st = sync_policy(j);
    if (st != ZC_OK) {
        /* Leave no partial record behind for the next append. */
        if (ftruncate(j->fd, (off_t)j->size) == 0)
            lseek(j->fd, (off_t)j->size, SEEK_SET);
        return st;
    }
    j->size += REC_HEAD + len + HASH;
    memcpy(j->head, saved, HASH);
    return ZC_OK;
}

void zc_journal_close(zc_journal *j)
{
    if (!j)
        return;
    if (j->policy != ZC_FSYNC_NONE)
        fdatasync(j->fd);
    close(j->fd);
    free(j->path);
    free(j->buf);
    free(j);
}
