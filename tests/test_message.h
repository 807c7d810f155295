/* SPDX-License-Identifier: MIT */
/* Checksummed test messages for the many-writers tests (mailslots): each
 * message says who wrote it, its sequence number and size, and carries a
 * checksum of its pattern, so a lost, torn, merged or reordered message is
 * caught. Win32 API and C library only, like test.h. */
#ifndef WINIPC_TEST_MESSAGE_H
#define WINIPC_TEST_MESSAGE_H

#include "test.h"

#include <stdint.h>

/* A message: {writer, seq, size, sum} then size - 16 bytes of a pattern;
 * sum covers the pattern and the other three fields. */
struct msg_head {
    uint32_t writer, seq, size, sum;
};

static inline uint32_t msg_sum(const unsigned char *p, uint32_t n, uint32_t seed)
{
    uint32_t h = 2166136261u ^ seed;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static inline uint32_t msg_make(unsigned char *buf, uint32_t writer, uint32_t seq, uint32_t size)
{
    struct msg_head hd = {writer, seq, size, 0};
    for (uint32_t i = sizeof hd; i < size; i++)
        buf[i] = (unsigned char)(i * 7u + seq * 13u + writer * 101u);
    hd.sum = msg_sum(buf + sizeof hd, size - (uint32_t)sizeof hd, writer ^ (seq << 8) ^ size);
    memcpy(buf, &hd, sizeof hd);
    return size;
}

/* A whole message of `n` bytes as msg_make built it? */
static inline BOOL msg_check(const unsigned char *buf, DWORD n, struct msg_head *out)
{
    struct msg_head hd;
    if (n < sizeof hd)
        return FALSE;
    memcpy(&hd, buf, sizeof hd);
    if (hd.size != n)
        return FALSE;
    if (hd.sum != msg_sum(buf + sizeof hd, n - (uint32_t)sizeof hd, hd.writer ^ (hd.seq << 8) ^ hd.size))
        return FALSE;
    *out = hd;
    return TRUE;
}

static inline uint32_t size_for(uint32_t writer, uint32_t seq, uint32_t max)
{
    return (uint32_t)sizeof(struct msg_head) + (seq * 37u + writer * 11u) % (max - sizeof(struct msg_head) + 1);
}

#endif
