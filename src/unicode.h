/* SPDX-License-Identifier: MIT */
/* UTF-8, UTF-16 and UTF-32 (wchar_t) conversions for the A/W entry points.
 * Invalid input becomes U+FFFD; nothing fails except memory allocation. */
#ifndef WINIPC_UNICODE_H
#define WINIPC_UNICODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <wchar.h>

/* NUL-terminated UTF-32 -> UTF-8 in a malloc'ed string; NULL if s is NULL or
 * on allocation failure. */
char *wi_utf8_from_wide(const wchar_t *s);

/* UTF-8 -> UTF-32: stores at most cap - 1 characters plus a NUL in out (out
 * may be NULL to measure) and returns the length of the whole conversion,
 * excluding the NUL. */
size_t wi_utf8_to_wide_buf(const char *s, wchar_t *out, size_t cap);

/* NUL-terminated UTF-8 -> UTF-32 in a malloc'ed string. */
wchar_t *wi_wide_from_utf8(const char *s);

/* NUL-terminated UTF-16 -> UTF-32 in a malloc'ed string (the *W16 entry
 * points used by -fshort-wchar callers). */
wchar_t *wi_wide_from_utf16(const uint16_t *s);

/* UTF-32 -> UTF-16 with the same buffer contract as wi_utf8_to_wide_buf. */
size_t wi_wide_to_utf16_buf(const wchar_t *s, uint16_t *out, size_t cap);

/* W entry points forwarding to the A worker: declare `char *var` holding the
 * UTF-8 form of the wide argument (NULL stays NULL), and free it after.
 * WI_UTF8_FAILED is true when the conversion ran out of memory; the entry
 * point then fails with ERROR_NOT_ENOUGH_MEMORY. */
#define WI_UTF8_ARG(var, wide) char *var = (wide) ? wi_utf8_from_wide(wide) : NULL
#define WI_UTF8_FAILED(var, wide) ((wide) && !(var))
#define WI_UTF8_FREE(var) free(var)

#endif
