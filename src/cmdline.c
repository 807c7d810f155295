/* SPDX-License-Identifier: MIT */
/* Command-line splitting and quoting (see cmdline.h).
 *
 * The rules, from Microsoft's description of the C runtime's parser:
 *   - argv[0] is the program name: it ends at the first space or tab outside
 *     double quotes; the quotes are dropped and backslashes are literal.
 *   - Later arguments are separated by spaces and tabs outside quotes.
 *   - A double quote toggles quoting; inside quotes, a pair "" is one
 *     literal quote (and quoting continues).
 *   - Backslashes are literal unless they precede a double quote: 2n
 *     backslashes + quote give n backslashes and a quoting toggle, 2n+1
 *     backslashes + quote give n backslashes and a literal quote.
 *   - A command line that ends inside quotes ends the last argument. */
#include "cmdline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Copy the program name starting at *p into out (NULL to measure); leaves
 * *p after it. Returns its length. */
static size_t scan_program(const char **p, char *out, bool *quoted)
{
    const char *s = *p;
    bool in_quote = false;
    size_t n = 0;
    *quoted = false;
    for (; *s; s++) {
        if (*s == '"') {
            in_quote = !in_quote;
            *quoted = true;
            continue;
        }
        if (!in_quote && is_blank(*s))
            break;
        if (out)
            out[n] = *s;
        n++;
    }
    *p = s;
    return n;
}

/* Copy one argument starting at *p (not blank, not NUL) into out (NULL to
 * measure); leaves *p after it. Returns its length. */
static size_t scan_argument(const char **p, char *out)
{
    const char *s = *p;
    bool in_quote = false;
    size_t n = 0;
#define EMIT(c)              \
    do {                     \
        if (out)             \
            out[n] = (c);    \
        n++;                 \
    } while (0)
    for (;;) {
        if (*s == '\\') {
            size_t k = 0;
            while (s[k] == '\\')
                k++;
            if (s[k] != '"') {
                for (size_t i = 0; i < k; i++)
                    EMIT('\\');
                s += k;
                continue;
            }
            for (size_t i = 0; i < k / 2; i++)
                EMIT('\\');
            s += k;
            if (k % 2) {
                EMIT('"');
                s++;
                continue;
            }
            /* even: the quote below toggles */
        }
        if (*s == '"') {
            if (in_quote && s[1] == '"') {
                EMIT('"');
                s += 2;
                continue;
            }
            in_quote = !in_quote;
            s++;
            continue;
        }
        if (!*s || (!in_quote && is_blank(*s)))
            break;
        EMIT(*s);
        s++;
    }
#undef EMIT
    *p = s;
    return n;
}

static const char *skip_blanks(const char *s)
{
    while (is_blank(*s))
        s++;
    return s;
}

char **wi_cmdline_to_argv(const char *cmdline, int *argc)
{
    /* Pass 1 measures, pass 2 fills one block: pointers, then strings. */
    size_t count = 0, bytes = 0;
    bool quoted;
    const char *p = cmdline;
    bytes += scan_program(&p, NULL, &quoted) + 1;
    count++;
    for (p = skip_blanks(p); *p; p = skip_blanks(p)) {
        bytes += scan_argument(&p, NULL) + 1;
        count++;
    }
    char **argv = malloc((count + 1) * sizeof *argv + bytes);
    if (!argv)
        return NULL;
    char *out = (char *)(argv + count + 1);
    size_t i = 0, n;
    p = cmdline;
    argv[i++] = out;
    n = scan_program(&p, out, &quoted);
    out[n] = 0;
    out += n + 1;
    for (p = skip_blanks(p); *p; p = skip_blanks(p)) {
        argv[i++] = out;
        n = scan_argument(&p, out);
        out[n] = 0;
        out += n + 1;
    }
    argv[i] = NULL;
    *argc = (int)count;
    return argv;
}

char *wi_cmdline_program(const char *cmdline, bool *quoted)
{
    const char *p = cmdline;
    size_t n = scan_program(&p, NULL, quoted);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    p = cmdline;
    scan_program(&p, out, quoted);
    out[n] = 0;
    return out;
}

/* Append `arg` quoted so that scan_argument() gives it back. */
static size_t quote_argument(const char *arg, char *out)
{
    size_t n = 0;
#define PUT(c)               \
    do {                     \
        if (out)             \
            out[n] = (c);    \
        n++;                 \
    } while (0)
    if (*arg && !strpbrk(arg, " \t\"")) {
        for (; *arg; arg++)
            PUT(*arg);
        return n;
    }
    PUT('"');
    for (const char *s = arg;;) {
        size_t k = 0;
        while (s[k] == '\\')
            k++;
        if (!s[k]) {
            /* Backslashes before the closing quote are doubled. */
            for (size_t i = 0; i < 2 * k; i++)
                PUT('\\');
            break;
        }
        if (s[k] == '"') {
            for (size_t i = 0; i < 2 * k + 1; i++)
                PUT('\\');
        } else {
            for (size_t i = 0; i < k; i++)
                PUT('\\');
        }
        PUT(s[k]);
        s += k + 1;
    }
    PUT('"');
#undef PUT
    return n;
}

/* argv[0] cannot hold a double quote (the program-name rule has no
 * escape); one is dropped, as Windows file names cannot contain it. */
static size_t quote_program(const char *arg, char *out)
{
    size_t n = 0;
    bool q = !*arg || strpbrk(arg, " \t") != NULL;
    if (q) {
        if (out)
            out[n] = '"';
        n++;
    }
    for (; *arg; arg++) {
        if (*arg == '"')
            continue;
        if (out)
            out[n] = *arg;
        n++;
    }
    if (q) {
        if (out)
            out[n] = '"';
        n++;
    }
    return n;
}

char *wi_cmdline_from_argv(char *const *argv, int argc)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += (i ? quote_argument(argv[i], NULL) : quote_program(argv[i], NULL)) + 1;
    char *s = malloc(len), *o = s;
    if (!s)
        return NULL;
    for (int i = 0; i < argc; i++) {
        if (i)
            *o++ = ' ';
        o += i ? quote_argument(argv[i], o) : quote_program(argv[i], o);
    }
    *o = 0;
    return s;
}

size_t wi_cmdline_utf16_len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xc0) == 0x80)
            continue; /* continuation byte */
        n += *p >= 0xf0 ? 2 : 1; /* 4-byte sequences are surrogate pairs */
    }
    return n;
}
