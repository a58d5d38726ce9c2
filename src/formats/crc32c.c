/* CRC32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum of
 * LevelDB tables and of TensorFlow's tensor bundles, and TF's mask.
 *
 * Table-driven, eight bytes a step ("slicing by 8"): checkpoints are
 * checksummed whole on every read and write, so the byte-at-a-time loop's
 * ~400 MB/s would show next to the disk; this runs several times faster and
 * needs no CPU-specific instructions. */
#include <pthread.h>

#include "formats_internal.h"

#define POLY 0x82f63b78u
/* TF's crc32c.h: kMaskDelta. */
#define MASK_DELTA 0xa282ead8u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (POLY & (0u - (c & 1u)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int s = 1; s < 8; s++) table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xffu];
}

uint32_t tg__crc32c_extend(uint32_t crc, const void *data, size_t n)
{
    /* Built on first use by whichever thread gets there; readers on several
     * threads need no setup call. */
    pthread_once(&table_once, build_table);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = c ^ tg__get_u32le(p), hi = tg__get_u32le(p + 4);
        c = table[7][lo & 0xffu] ^ table[6][(lo >> 8) & 0xffu] ^ table[5][(lo >> 16) & 0xffu] ^ table[4][lo >> 24] ^
            table[3][hi & 0xffu] ^ table[2][(hi >> 8) & 0xffu] ^ table[1][(hi >> 16) & 0xffu] ^ table[0][hi >> 24];
    }
    for (; n > 0; n--, p++) c = (c >> 8) ^ table[0][(c ^ *p) & 0xffu];
    return ~c;
}

uint32_t tg__crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + MASK_DELTA; }

uint32_t tg__crc32c_unmask(uint32_t masked)
{
    uint32_t rot = masked - MASK_DELTA;
    return (rot >> 17) | (rot << 15);
}
