/* SPDX-License-Identifier: MIT */
/* FormatMessageA / FormatMessageW.
 *
 * Both entry points run one engine over UTF-32 (wchar_t) text: the A
 * version converts its UTF-8 template and string inserts in and the result
 * out. The engine follows Windows' observable behaviour:
 *
 *  - Escapes: %0 ends the message (no trailing newline), %n is a hard line
 *    break ("\r\n"), %r a bare "\r", %t a tab; any other character after
 *    '%' is copied without the '%' ("%%", "% ", "%.", "%!"). A '%' ending
 *    the template is ERROR_INVALID_PARAMETER.
 *  - Inserts %1..%99, optionally followed by a printf-style "!format!"
 *    (default "!s!"). Width and precision may be '*'; the first component of
 *    an insert (its width, else its value) is argument n and every further
 *    component is the argument after the highest one consumed so far, which
 *    is what Windows does ("%1!*.*u!,%1!*.*u!" reads 1,2,3 then 1,4,5); see
 *    next_pos() for the va_list twist. Floating-point conversions are not
 *    supported, as on Windows; we fail them with ERROR_INVALID_PARAMETER.
 *  - Line breaks in the template ("\r\n", "\r" or "\n") are output as
 *    "\r\n" when the width mask (low byte of dwFlags) is 0; otherwise each
 *    becomes a space. FORMAT_MESSAGE_MAX_WIDTH_MASK means no wrapping; a
 *    width of 1..254 wraps: whenever a line reaches that many characters it
 *    is broken at its last run of spaces (the run is dropped), or right
 *    there if it holds no space. %n and %r start a new line.
 *  - FORMAT_MESSAGE_IGNORE_INSERTS copies inserts, "%%", "% ", "%." and
 *    "%!" verbatim (so the result can be formatted later) but still honours
 *    %0, %n, %r, %t and the line-break rules.
 *  - System messages end with a line break, so code 2 gives "The system
 *    cannot find the file specified.\r\n" (a trailing space under
 *    FORMAT_MESSAGE_MAX_WIDTH_MASK).
 *  - An empty result returns 0 with ERROR_NO_WORK_DONE.
 *
 * Sources: FORMAT_MESSAGE_FROM_STRING wins over the other source flags.
 * FROM_SYSTEM looks the code up in error_messages.c; an HRESULT of
 * FACILITY_WIN32 (0x8007xxxx) gives the text of its Win32 code, as Windows
 * does. Unknown codes fail with ERROR_MR_MID_NOT_FOUND. Only English text
 * exists: dwLanguageId must be 0, a LANG_NEUTRAL id (any sublanguage, e.g.
 * MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT)) or a LANG_ENGLISH id, else
 * ERROR_RESOURCE_LANG_NOT_FOUND. Linux modules carry no message-table
 * resources, so FROM_HMODULE without FROM_SYSTEM fails with
 * ERROR_RESOURCE_TYPE_NOT_FOUND (what Windows returns for an image without
 * RT_MESSAGETABLE), and FROM_HMODULE | FROM_SYSTEM falls through to the
 * system table as Windows does when the module lacks the message.
 *
 * Buffers: nSize counts TCHARs. Without ALLOCATE_BUFFER, a result that does
 * not fit (with its NUL) fails with ERROR_INSUFFICIENT_BUFFER; like Windows,
 * the A version then leaves the buffer untouched and the W version stores
 * the truncated text. With ALLOCATE_BUFFER, lpBuffer really is a pointer to
 * a pointer, set to NULL first, then to a LocalAlloc block of at least nSize
 * TCHARs (free with LocalFree). A NULL lpBuffer fails: W with
 * ERROR_INVALID_PARAMETER, A with ERROR_NOT_ENOUGH_MEMORY when allocating
 * (Windows' codes); where Windows would crash (A writing to NULL) we fail
 * with ERROR_INVALID_PARAMETER.
 *
 * Not matched: Windows' size limits (A templates over 32K characters,
 * allocated results over 128K bytes) are not enforced. The argument
 * numbering of '*' inserts reproduces the cases observed on Windows; other
 * unusual mixes of '*' inserts and repeated numbers may differ. */
#include "error.h"
#include "unicode.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH_MASK FORMAT_MESSAGE_MAX_WIDTH_MASK
#define SOURCE_FLAGS (FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_FROM_SYSTEM)

/* Highest argument position a template may reach, and the largest width or
 * precision an insert may ask for. */
#define MAX_ARGS 512
#define MAX_FIELD 65535

/* ------------------------------------------------------------------ */
/* Growable wide output with the line-wrapping state. */

struct out {
    wchar_t *p;
    size_t len, cap;
    size_t line_start; /* index of the first character of the current line */
    unsigned width;    /* 1..254 wraps; 0 and 0xFF do not */
    bool oom;
};

static bool reserve(struct out *o, size_t extra)
{
    if (o->oom)
        return false;
    if (o->len + extra + 1 <= o->cap)
        return true;
    size_t cap = o->cap ? o->cap : 128;
    while (cap < o->len + extra + 1) {
        if (cap > SIZE_MAX / 2 / sizeof(wchar_t)) {
            o->oom = true;
            return false;
        }
        cap *= 2;
    }
    wchar_t *p = realloc(o->p, cap * sizeof *p);
    if (!p) {
        o->oom = true;
        return false;
    }
    o->p = p;
    o->cap = cap;
    return true;
}

/* A line reached the wrap width: break it at its last run of spaces, or at
 * its end when it has none. */
static void wrap_line(struct out *o)
{
    size_t end = o->len, sp = end;
    while (sp > o->line_start && o->p[sp - 1] != L' ')
        sp--;
    if (sp == o->line_start) { /* no space: break after the full line */
        if (!reserve(o, 2))
            return;
        o->p[o->len++] = L'\r';
        o->p[o->len++] = L'\n';
        o->line_start = o->len;
        return;
    }
    size_t run = sp - 1; /* last space; extend back over the run */
    while (run > o->line_start && o->p[run - 1] == L' ')
        run--;
    size_t rest = end - sp; /* non-space characters after the run */
    if (run + 2 > sp && !reserve(o, run + 2 - sp))
        return;
    memmove(o->p + run + 2, o->p + sp, rest * sizeof *o->p);
    o->p[run] = L'\r';
    o->p[run + 1] = L'\n';
    o->len = run + 2 + rest;
    o->line_start = run + 2;
}

static void put(struct out *o, wchar_t c)
{
    if (!reserve(o, 1))
        return;
    o->p[o->len++] = c;
    if (o->width && o->width != WIDTH_MASK && o->len - o->line_start >= o->width)
        wrap_line(o);
}

static void put_str(struct out *o, const wchar_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(o, s[i]);
}

/* %n, %r and (without a width) template line breaks start a new line. */
static void put_break(struct out *o, bool crlf)
{
    if (!reserve(o, 2))
        return;
    o->p[o->len++] = L'\r';
    if (crlf)
        o->p[o->len++] = L'\n';
    o->line_start = o->len;
}

/* ------------------------------------------------------------------ */
/* Arguments. */

enum arg_kind { ARG_NONE, ARG_INT32, ARG_INT64, ARG_PTR };

struct args {
    va_list *va;            /* caller's va_list, or NULL */
    const DWORD_PTR *array; /* FORMAT_MESSAGE_ARGUMENT_ARRAY */
    /* va_list mode: the template is scanned first to learn how many
     * arguments of which kind it reads, then they are fetched in order. */
    unsigned char kind[MAX_ARGS + 1];
    uint64_t value[MAX_ARGS + 1];
    unsigned count;
};

static uint64_t arg_get(const struct args *a, unsigned pos)
{
    if (a->array)
        return (uint64_t)a->array[pos - 1];
    return pos <= a->count ? a->value[pos] : 0;
}

/* Fetch positions 1..max from the va_list with the type each was declared
 * with: variadic ints and pointers must be read as what was passed. */
static void args_fetch(struct args *a, unsigned max)
{
    for (unsigned i = 1; i <= max; i++) {
        switch (a->kind[i]) {
        case ARG_INT32:
            a->value[i] = va_arg(*a->va, unsigned int);
            break;
        case ARG_INT64:
            a->value[i] = va_arg(*a->va, unsigned long long);
            break;
        default: /* pointers, and positions the template skips */
            a->value[i] = (uintptr_t)va_arg(*a->va, void *);
            break;
        }
    }
    a->count = max;
}

/* ------------------------------------------------------------------ */
/* One "!format!" specification. */

struct spec {
    char flags[8]; /* printf flags, NUL-terminated */
    bool left, zero;
    bool star_width, star_prec, has_prec;
    long width, prec;
    enum { SZ_DEFAULT, SZ_SHORT, SZ_LONG, SZ_64, SZ_PTR, SZ_WIDE } size;
    wchar_t conv;
};

/* Parse the text between the two '!' (exclusive); false if invalid. */
static bool parse_spec(const wchar_t *s, size_t n, struct spec *sp)
{
    size_t i = 0, nf = 0;
    memset(sp, 0, sizeof *sp);
    while (i < n && s[i] && wcschr(L"-+ #0", s[i])) {
        if (nf < sizeof sp->flags - 1)
            sp->flags[nf++] = (char)s[i];
        if (s[i] == L'-')
            sp->left = true;
        if (s[i] == L'0')
            sp->zero = true;
        i++;
    }
    if (i < n && s[i] == L'*') {
        sp->star_width = true;
        i++;
    } else {
        while (i < n && s[i] >= L'0' && s[i] <= L'9') {
            sp->width = sp->width * 10 + (s[i++] - L'0');
            if (sp->width > MAX_FIELD)
                return false;
        }
    }
    if (i < n && s[i] == L'.') {
        sp->has_prec = true;
        i++;
        if (i < n && s[i] == L'*') {
            sp->star_prec = true;
            i++;
        } else {
            while (i < n && s[i] >= L'0' && s[i] <= L'9') {
                sp->prec = sp->prec * 10 + (s[i++] - L'0');
                if (sp->prec > MAX_FIELD)
                    return false;
            }
        }
    }
    /* Size prefixes as Windows' printf knows them; 'l' is 32-bit there. */
    if (i + 2 < n && s[i] == L'I' && s[i + 1] == L'6' && s[i + 2] == L'4') {
        sp->size = SZ_64;
        i += 3;
    } else if (i + 2 < n && s[i] == L'I' && s[i + 1] == L'3' && s[i + 2] == L'2') {
        sp->size = SZ_DEFAULT;
        i += 3;
    } else if (i + 1 < n && s[i] == L'l' && s[i + 1] == L'l') {
        sp->size = SZ_64;
        i += 2;
    } else if (i < n && s[i] == L'I') {
        sp->size = SZ_PTR;
        i++;
    } else if (i < n && s[i] == L'h') {
        sp->size = SZ_SHORT;
        i++;
    } else if (i < n && (s[i] == L'l' || s[i] == L'w')) {
        sp->size = s[i] == L'w' ? SZ_WIDE : SZ_LONG;
        i++;
    } else if (i < n && s[i] == L'L') {
        sp->size = SZ_64;
        i++;
    }
    if (i + 1 != n)
        return false;
    sp->conv = s[i];
    return sp->conv && wcschr(L"diouxXcCsSp", sp->conv);
}

static enum arg_kind spec_kind(const struct spec *sp)
{
    switch (sp->conv) {
    case L's':
    case L'S':
    case L'p':
        return ARG_PTR;
    default:
        return sp->size == SZ_64 || sp->size == SZ_PTR ? ARG_INT64 : ARG_INT32;
    }
}

/* ------------------------------------------------------------------ */
/* The engine. */

struct engine {
    DWORD flags;
    bool narrow;  /* A version: %s is char*, %S wchar_t*; W: the reverse */
    bool scan;    /* first pass over a va_list: record argument kinds only */
    unsigned max; /* highest position consumed */
    bool seen[100]; /* insert numbers met so far */
    struct args *args;
    struct out *out;
};

/* Position of the next component of insert n (see the header comment). */
static unsigned next_pos(struct engine *e, unsigned n, bool first, bool star)
{
    unsigned pos = first ? n : e->max + 1;
    /* With a va_list, Windows starts a '*' insert seen for the first time
     * after the arguments already consumed when its number is not beyond
     * them ("%1!*.*u!,%3!*.*u!" reads 1,2,3 then 4,5,6). */
    if (first && star && e->args->va && !e->seen[n] && n <= e->max)
        pos = e->max + 1;
    if (first)
        e->seen[n] = true;
    if (pos > e->max)
        e->max = pos;
    return pos;
}

static void put_padded(struct out *o, const wchar_t *s, size_t n, const struct spec *sp, long width)
{
    size_t pad = width > 0 && (size_t)width > n ? (size_t)width - n : 0;
    if (!sp->left)
        for (size_t i = 0; i < pad; i++)
            put(o, sp->zero ? L'0' : L' ');
    put_str(o, s, n);
    if (sp->left)
        for (size_t i = 0; i < pad; i++)
            put(o, L' ');
}

static DWORD format_number(struct engine *e, const struct spec *sp, uint64_t v, long width, long prec)
{
    char fmt[32], *f = fmt, stack[128], *buf = stack;
    size_t need = (size_t)(width > prec ? width : prec) + 32;
    int n;

    *f++ = '%';
    f += sprintf(f, "%s", sp->flags);
    if (width > 0)
        f += sprintf(f, "%ld", width);
    if (prec >= 0)
        f += sprintf(f, ".%ld", prec);
    if (need > sizeof stack && !(buf = malloc(need)))
        return ERROR_NOT_ENOUGH_MEMORY;

    bool wide64 = sp->size == SZ_64 || sp->size == SZ_PTR;
    if (sp->conv == L'p') {
        /* Windows prints pointers as zero-padded upper-case hex. */
        n = snprintf(buf, need, "%0*llX", (int)(2 * sizeof(void *)), (unsigned long long)v);
    } else if (sp->conv == L'd' || sp->conv == L'i') {
        long long sv = wide64 ? (long long)v : (long long)(int32_t)(uint32_t)v;
        if (sp->size == SZ_SHORT)
            sv = (short)sv;
        strcpy(f, "lld");
        n = snprintf(buf, need, fmt, sv);
    } else {
        unsigned long long uv = wide64 ? v : (uint32_t)v;
        if (sp->size == SZ_SHORT)
            uv = (unsigned short)uv;
        f[0] = 'l';
        f[1] = 'l';
        f[2] = (char)sp->conv;
        f[3] = 0;
        n = snprintf(buf, need, fmt, uv);
    }
    for (int i = 0; i < n && (size_t)i < need - 1; i++)
        put(e->out, (wchar_t)(unsigned char)buf[i]);
    if (buf != stack)
        free(buf);
    return 0;
}

static DWORD format_insert(struct engine *e, unsigned n, const struct spec *sp)
{
    bool first = true;
    long width = sp->width, prec = sp->has_prec ? sp->prec : -1;
    struct spec s = *sp;
    unsigned pos;

    if (s.star_width) {
        pos = next_pos(e, n, first, true);
        first = false;
        if (pos > MAX_ARGS)
            return ERROR_INVALID_PARAMETER;
        if (e->scan) {
            if (!e->args->kind[pos])
                e->args->kind[pos] = ARG_INT32;
        } else {
            width = (int32_t)(uint32_t)arg_get(e->args, pos);
            if (width < 0) { /* printf: a negative '*' width means '-' */
                s.left = true;
                width = -width;
            }
            if (width > MAX_FIELD)
                return ERROR_INVALID_PARAMETER;
        }
    }
    if (s.star_prec) {
        pos = next_pos(e, n, first, true);
        first = false;
        if (pos > MAX_ARGS)
            return ERROR_INVALID_PARAMETER;
        if (e->scan) {
            if (!e->args->kind[pos])
                e->args->kind[pos] = ARG_INT32;
        } else {
            prec = (int32_t)(uint32_t)arg_get(e->args, pos);
            if (prec < 0)
                prec = -1;
            if (prec > MAX_FIELD)
                return ERROR_INVALID_PARAMETER;
        }
    }
    pos = next_pos(e, n, first, false);
    if (pos > MAX_ARGS)
        return ERROR_INVALID_PARAMETER;
    if (e->scan) {
        if (!e->args->kind[pos])
            e->args->kind[pos] = (unsigned char)spec_kind(&s);
        return 0;
    }
    if (s.left) /* '-' wins over '0', and the printf flags must agree */
        s.zero = false;
    if (s.left && !strchr(s.flags, '-')) {
        size_t l = strlen(s.flags);
        if (l < sizeof s.flags - 1) {
            s.flags[l] = '-';
            s.flags[l + 1] = 0;
        }
    }

    uint64_t v = arg_get(e->args, pos);
    bool narrow_str;
    switch (s.conv) {
    case L's':
    case L'S':
        if (s.size == SZ_SHORT)
            narrow_str = true;
        else if (s.size == SZ_LONG || s.size == SZ_WIDE)
            narrow_str = false;
        else
            narrow_str = (s.conv == L's') == e->narrow;
        if (!v) {
            static const wchar_t null_text[] = L"(null)";
            size_t len = wcslen(null_text);
            if (prec >= 0 && (size_t)prec < len)
                len = (size_t)prec;
            put_padded(e->out, null_text, len, &s, width);
            return 0;
        }
        if (narrow_str) {
            wchar_t *w = wi_wide_from_utf8((const char *)(uintptr_t)v);
            if (!w)
                return ERROR_NOT_ENOUGH_MEMORY;
            size_t len = wcslen(w);
            if (prec >= 0 && (size_t)prec < len)
                len = (size_t)prec;
            put_padded(e->out, w, len, &s, width);
            free(w);
        } else {
            const wchar_t *w = (const wchar_t *)(uintptr_t)v;
            size_t len = prec >= 0 ? wcsnlen(w, (size_t)prec) : wcslen(w);
            put_padded(e->out, w, len, &s, width);
        }
        return 0;
    case L'c':
    case L'C': {
        bool narrow_chr;
        if (s.size == SZ_SHORT)
            narrow_chr = true;
        else if (s.size == SZ_LONG || s.size == SZ_WIDE)
            narrow_chr = false;
        else
            narrow_chr = (s.conv == L'c') == e->narrow;
        wchar_t c;
        if (narrow_chr) {
            /* A lone byte is a character only if it is ASCII in UTF-8. */
            unsigned char b = (unsigned char)v;
            c = b < 0x80 ? (wchar_t)b : (wchar_t)0xFFFD;
        } else {
            c = (wchar_t)(uint32_t)v;
        }
        put_padded(e->out, &c, 1, &s, width);
        return 0;
    }
    default:
        return format_number(e, &s, v, width, prec);
    }
}

/* Run over a template. In scan mode nothing is output. */
static DWORD run(struct engine *e, const wchar_t *p)
{
    bool ignore = e->flags & FORMAT_MESSAGE_IGNORE_INSERTS;
    unsigned width = e->flags & WIDTH_MASK;

    while (*p) {
        wchar_t c = *p++;
        if (c == L'\r' || c == L'\n') {
            if (c == L'\r' && *p == L'\n')
                p++;
            if (e->scan)
                continue;
            if (width == 0)
                put_break(e->out, true);
            else
                put(e->out, L' ');
            continue;
        }
        if (c != L'%') {
            if (!e->scan)
                put(e->out, c);
            continue;
        }
        c = *p++;
        if (c == 0)
            return ERROR_INVALID_PARAMETER; /* a lone '%' ends the template */
        if (c >= L'1' && c <= L'9') {
            unsigned n = (unsigned)(c - L'0');
            const wchar_t *digits = p - 1;
            if (*p >= L'0' && *p <= L'9')
                n = n * 10 + (unsigned)(*p++ - L'0');
            if (ignore) {
                /* Copied as is; a following "!fmt!" is ordinary text. */
                if (!e->scan) {
                    put(e->out, L'%');
                    put_str(e->out, digits, (size_t)(p - digits));
                }
                continue;
            }
            if (!e->args->va && !e->args->array)
                return ERROR_INVALID_PARAMETER; /* an insert without arguments */
            struct spec sp;
            if (*p == L'!') {
                const wchar_t *end = wcschr(p + 1, L'!');
                if (!end || !parse_spec(p + 1, (size_t)(end - p - 1), &sp))
                    return ERROR_INVALID_PARAMETER;
                p = end + 1;
            } else {
                parse_spec(L"s", 1, &sp);
            }
            DWORD err = format_insert(e, n, &sp);
            if (err)
                return err;
            continue;
        }
        if (e->scan) {
            if (c == L'0')
                return 0;
            continue;
        }
        switch (c) {
        case L'0':
            return 0;
        case L'n':
            put_break(e->out, true);
            break;
        case L'r':
            put_break(e->out, false);
            break;
        case L't':
            put(e->out, L'\t');
            break;
        default:
            if (ignore)
                put(e->out, L'%');
            put(e->out, c);
            break;
        }
    }
    return 0;
}

/* Format `tmpl` into `out` (NUL-terminated on success). */
static DWORD format(DWORD flags, bool narrow, const wchar_t *tmpl, va_list *arguments, struct out *out)
{
    struct args *args = calloc(1, sizeof *args);
    struct engine e = {.flags = flags, .narrow = narrow, .args = args, .out = out};
    DWORD err;

    if (!args)
        return ERROR_NOT_ENOUGH_MEMORY;
    out->width = flags & WIDTH_MASK;
    if (arguments && !(flags & FORMAT_MESSAGE_IGNORE_INSERTS)) {
        if (flags & FORMAT_MESSAGE_ARGUMENT_ARRAY) {
            args->array = (const DWORD_PTR *)(const void *)arguments;
        } else {
            args->va = arguments;
            e.scan = true;
            err = run(&e, tmpl);
            if (err) {
                free(args);
                return err;
            }
            args_fetch(args, e.max);
            e.scan = false;
            e.max = 0;
            memset(e.seen, 0, sizeof e.seen);
        }
    }
    err = run(&e, tmpl);
    free(args);
    if (!err && !reserve(out, 0))
        err = ERROR_NOT_ENOUGH_MEMORY;
    if (!err && out->oom)
        err = ERROR_NOT_ENOUGH_MEMORY;
    if (!err)
        out->p[out->len] = 0;
    return err;
}

/* ------------------------------------------------------------------ */
/* Message sources. */

static bool language_available(DWORD lang)
{
    if (lang > 0xFFFF)
        return false;
    DWORD primary = lang & 0x3FF;
    return primary == LANG_NEUTRAL || primary == LANG_ENGLISH;
}

/* The system text for `id` with its trailing line break, as a wide string. */
static DWORD system_template(DWORD flags, DWORD id, DWORD lang, wchar_t **tmpl)
{
    if (!(flags & FORMAT_MESSAGE_FROM_SYSTEM))
        return ERROR_RESOURCE_TYPE_NOT_FOUND; /* FROM_HMODULE: no message tables */
    if (!language_available(lang))
        return ERROR_RESOURCE_LANG_NOT_FOUND;
    if ((id & 0xFFFF0000u) == 0x80070000u) /* HRESULT_FROM_WIN32 */
        id &= 0xFFFF;
    const char *text = wi_error_message(id);
    if (!text)
        return ERROR_MR_MID_NOT_FOUND;
    size_t n = strlen(text);
    wchar_t *w = malloc((n + 3) * sizeof *w);
    if (!w)
        return ERROR_NOT_ENOUGH_MEMORY;
    for (size_t i = 0; i < n; i++) /* the table is ASCII */
        w[i] = (wchar_t)(unsigned char)text[i];
    w[n] = L'\r';
    w[n + 1] = L'\n';
    w[n + 2] = 0;
    *tmpl = w;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Entry points. */

static DWORD fail(DWORD err)
{
    wi_set_last_error(err);
    return 0;
}

WINBASEAPI DWORD WINAPI FormatMessageA(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId, DWORD dwLanguageId,
                                       LPSTR lpBuffer, DWORD nSize, va_list *Arguments)
{
    bool allocate = dwFlags & FORMAT_MESSAGE_ALLOCATE_BUFFER;
    struct out out = {0};
    wchar_t *tmpl = NULL;
    char *result = NULL;
    DWORD err;

    if (allocate && lpBuffer)
        *(char **)(void *)lpBuffer = NULL;
    if (!(dwFlags & SOURCE_FLAGS))
        return fail(ERROR_INVALID_PARAMETER);

    if (dwFlags & FORMAT_MESSAGE_FROM_STRING) {
        if (!lpSource)
            return fail(ERROR_INVALID_PARAMETER);
        if (!(tmpl = wi_wide_from_utf8(lpSource)))
            return fail(ERROR_NOT_ENOUGH_MEMORY);
    } else if ((err = system_template(dwFlags, dwMessageId, dwLanguageId, &tmpl))) {
        return fail(err);
    }

    err = format(dwFlags, true, tmpl, Arguments, &out);
    free(tmpl);
    if (!err && !(result = wi_utf8_from_wide(out.p)))
        err = ERROR_NOT_ENOUGH_MEMORY;
    free(out.p);
    if (err)
        return fail(err);

    size_t len = strlen(result);
    if (len == 0)
        err = ERROR_NO_WORK_DONE;
    else if (len > 0xFFFFFFFEu)
        err = ERROR_INVALID_PARAMETER;
    else if (allocate) {
        size_t size = len + 1 > nSize ? len + 1 : nSize;
        char *p = lpBuffer ? LocalAlloc(LMEM_FIXED, size) : NULL;
        if (!p)
            err = ERROR_NOT_ENOUGH_MEMORY;
        else {
            memcpy(p, result, len + 1);
            *(char **)(void *)lpBuffer = p;
        }
    } else if (len + 1 > nSize) {
        err = ERROR_INSUFFICIENT_BUFFER; /* A leaves the buffer untouched */
    } else if (!lpBuffer) {
        err = ERROR_INVALID_PARAMETER;
    } else {
        memcpy(lpBuffer, result, len + 1);
    }
    free(result);
    if (err)
        return fail(err);
    return (DWORD)len;
}

WINBASEAPI DWORD WINAPI FormatMessageW(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId, DWORD dwLanguageId,
                                       LPWSTR lpBuffer, DWORD nSize, va_list *Arguments)
{
    bool allocate = dwFlags & FORMAT_MESSAGE_ALLOCATE_BUFFER;
    struct out out = {0};
    wchar_t *owned = NULL;
    const wchar_t *tmpl;
    DWORD err;

    if (!lpBuffer)
        return fail(ERROR_INVALID_PARAMETER);
    if (allocate)
        *(wchar_t **)(void *)lpBuffer = NULL;
    if (!(dwFlags & SOURCE_FLAGS))
        return fail(ERROR_INVALID_PARAMETER);

    if (dwFlags & FORMAT_MESSAGE_FROM_STRING) {
        if (!lpSource)
            return fail(ERROR_INVALID_PARAMETER);
        tmpl = lpSource;
    } else if ((err = system_template(dwFlags, dwMessageId, dwLanguageId, &owned))) {
        return fail(err);
    } else {
        tmpl = owned;
    }

    err = format(dwFlags, false, tmpl, Arguments, &out);
    free(owned);
    if (err) {
        free(out.p);
        return fail(err);
    }

    size_t len = out.len;
    if (len == 0) {
        if (!allocate && nSize)
            lpBuffer[0] = 0; /* W stores the empty string, A does not */
        err = ERROR_NO_WORK_DONE;
    } else if (len > 0xFFFFFFFEu) {
        err = ERROR_INVALID_PARAMETER;
    } else if (allocate) {
        size_t size = len + 1 > nSize ? len + 1 : nSize;
        wchar_t *p = size <= SIZE_MAX / sizeof *p ? LocalAlloc(LMEM_FIXED, size * sizeof *p) : NULL;
        if (!p)
            err = ERROR_NOT_ENOUGH_MEMORY;
        else {
            memcpy(p, out.p, (len + 1) * sizeof *p);
            *(wchar_t **)(void *)lpBuffer = p;
        }
    } else if (len + 1 > nSize) {
        /* W stores what fits, NUL-terminated, and still fails. */
        if (nSize) {
            memcpy(lpBuffer, out.p, (nSize - 1) * sizeof *lpBuffer);
            lpBuffer[nSize - 1] = 0;
        }
        err = ERROR_INSUFFICIENT_BUFFER;
    } else {
        memcpy(lpBuffer, out.p, (len + 1) * sizeof *lpBuffer);
    }
    free(out.p);
    if (err)
        return fail(err);
    return (DWORD)len;
}
