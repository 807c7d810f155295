/* SPDX-License-Identifier: MIT */
/* UTF-8, UTF-16 and UTF-32 (wchar_t) conversions. */
#include "unicode.h"

#include <stdlib.h>

#define REPLACEMENT 0xFFFDu

static uint32_t decode_utf8(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n == 0) {
        *p = s + 1;
        return c;
    }
    if (n > 0) {
        uint32_t v = c & (0x3Fu >> n);
        int i;
        for (i = 1; i <= n && (s[i] & 0xC0) == 0x80; i++)
            v = (v << 6) | (s[i] & 0x3F);
        static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
        if (i == n + 1 && v >= min[n] && v <= 0x10FFFF && (v < 0xD800 || v > 0xDFFF)) {
            *p = s + n + 1;
            return v;
        }
    }
    *p = s + 1;
    return REPLACEMENT;
}

static size_t encode_utf8(uint32_t c, char *out)
{
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        c = REPLACEMENT;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

char *wi_utf8_from_wide(const wchar_t *s)
{
    if (!s)
        return NULL;
    size_t n = 0;
    char tmp[4];
    for (const wchar_t *p = s; *p; p++)
        n += encode_utf8((uint32_t)*p, tmp);
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (const wchar_t *p = s; *p; p++)
        o += encode_utf8((uint32_t)*p, o);
    *o = 0;
    return out;
}

size_t wi_utf8_to_wide_buf(const char *s, wchar_t *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c = decode_utf8(&p);
        if (out && n + 1 < cap)
            out[n] = (wchar_t)c;
        n++;
    }
    if (out && n < cap)
        out[n] = 0;
    return n;
}

wchar_t *wi_wide_from_utf8(const char *s)
{
    if (!s)
        return NULL;
    size_t n = wi_utf8_to_wide_buf(s, NULL, 0);
    wchar_t *out = malloc((n + 1) * sizeof *out);
    if (out)
        wi_utf8_to_wide_buf(s, out, n + 1);
    return out;
}

wchar_t *wi_wide_from_utf16(const uint16_t *s)
{
    if (!s)
        return NULL;
    size_t n = 0;
    while (s[n])
        n++;
    wchar_t *out = malloc((n + 1) * sizeof *out), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s[i];
        if (c >= 0xD800 && c <= 0xDBFF && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (s[i + 1] - 0xDC00);
            i++;
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            c = REPLACEMENT;
        }
        *o++ = (wchar_t)c;
    }
    *o = 0;
    return out;
}

size_t wi_wide_to_utf16_buf(const wchar_t *s, uint16_t *out, size_t cap)
{
    size_t n = 0;
    for (; *s; s++) {
        uint32_t c = (uint32_t)*s;
        if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            c = REPLACEMENT;
        if (c >= 0x10000) {
            c -= 0x10000;
            if (out && n + 2 < cap) {
                out[n] = (uint16_t)(0xD800 + (c >> 10));
                out[n + 1] = (uint16_t)(0xDC00 + (c & 0x3FF));
            }
            n += 2;
        } else {
            if (out && n + 1 < cap)
                out[n] = (uint16_t)c;
            n++;
        }
    }
    if (out && n < cap)
        out[n] = 0;
    return n;
}
