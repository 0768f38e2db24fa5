/* Embedding zkclob from C: list the devices, then draw Philox words on every
 * device that can run and check they agree. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <zkclob/zkclob.h>

#define WORDS 8

int main(void)
{
    zc_status st = zc_init(NULL);
    if (st != ZC_OK) {
        fprintf(stderr, "zc_init: %s: %s\n", zc_status_str(st), zc_last_error());
        return 1;
    }
    printf("zkclob %s\n", zc_version());
    /* Random123 known answer: Philox4x32-10, zero key and counter. */
    zc_philox_params kat = {ZC_PHILOX_4X32, {0, 0}, {0, 0, 0, 0}};
    zc_philox_params stream = {ZC_PHILOX_4X64, {2024, 0}, {0, 0, 0, 0}};
    uint64_t first[WORDS];
    int ran = 0;
    for (int id = 0; id < zc_device_count(); id++) {
        zc_device_info info;
        zc_device_info_get(id, &info);
        if (!info.available) {
            printf("device %d %-6s unavailable: %s\n", id, zc_backend_name(info.backend), info.reason);
            continue;
        }
        uint32_t kat_words[4];
        uint64_t words[WORDS];
        int dev = id;
        if ((st = zc_philox_generate(&dev, &kat, ZC_RANDOM_RAW, kat_words, 4)) != ZC_OK ||
            (st = zc_philox_generate(&dev, &stream, ZC_RANDOM_RAW, words, WORDS)) != ZC_OK) {
            fprintf(stderr, "device %d: %s: %s\n", id, zc_status_str(st), zc_last_error());
            return 1;
        }
        printf("device %d %-6s %s: kat %08" PRIx32 " %08" PRIx32 ", words %016" PRIx64 "...\n", id,
               zc_backend_name(info.backend), info.name, kat_words[0], kat_words[1], words[0]);
        if (ran && memcmp(words, first, sizeof words) != 0) {
            fprintf(stderr, "device %d disagrees with device 0\n", id);
            return 1;
        }
        memcpy(first, words, sizeof words);
        ran++;
    }
    printf("%d devices agree\n", ran);
    zc_shutdown();
    return ran > 0 ? 0 : 1;
}
