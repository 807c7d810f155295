/* SPDX-License-Identifier: MIT */
/* SDDL: security descriptors and SIDs from and to their string forms
 * (sddl.h).
 *
 * Understood (docs/security.md lists it with examples):
 *   O:sid G:sid D:flags(ace)... S:flags(ace)...   in any order, each once;
 *   flags      P, AI, AR, and NO_ACCESS_CONTROL (a NULL DACL);
 *   ace        (type;flags;rights;;;sid) with type A or D in a DACL, ML in
 *              a SACL; flags CI OI NP IO ID SA FA; rights as a number
 *              (0x1f0003) or as two-letter codes (GA GR GW GX RC SD WD WO
 *              FA FR FW FX KA KR KW KX NR NW NX and the directory-service
 *              ones); sid as S-1-... or a two-letter alias that needs no
 *              domain (WD AU SY BA BU CO OW LW ...).
 * Refused with ERROR_NOT_SUPPORTED: object, audit, alarm, callback,
 * resource-attribute and other ACE types winipc never builds; object GUIDs.
 * Domain aliases (DA, DU, LA, ...) fail with ERROR_NONE_MAPPED, as on a
 * machine outside a domain; anything malformed with ERROR_INVALID_PARAMETER.
 *
 * The result is one self-relative descriptor in a LocalAlloc block (the
 * caller frees it with LocalFree): header, SACL, DACL, owner, group. */
#include "error.h"
#include "security.h"
#include "unicode.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sddl.h>

#define SID_HEADER 8u
#define ACL_HEADER 8u
#define SD_REL_SIZE 20u

static void wr16(BYTE *p, WORD v)
{
    memcpy(p, &v, sizeof v);
}
static void wr32(BYTE *p, DWORD v)
{
    memcpy(p, &v, sizeof v);
}

/* --- SIDs ------------------------------------------------------------------------ */

static const struct {
    char alias[3];
    WELL_KNOWN_SID_TYPE type;
} sid_aliases[] = {
    {"WD", WinWorldSid},
    {"CO", WinCreatorOwnerSid},
    {"CG", WinCreatorGroupSid},
    {"OW", WinCreatorOwnerRightsSid},
    {"NU", WinNetworkSid},
    {"IU", WinInteractiveSid},
    {"SU", WinServiceSid},
    {"AN", WinAnonymousSid},
    {"ED", WinEnterpriseControllersSid},
    {"PS", WinSelfSid},
    {"AU", WinAuthenticatedUserSid},
    {"RC", WinRestrictedCodeSid},
    {"SY", WinLocalSystemSid},
    {"LS", WinLocalServiceSid},
    {"NS", WinNetworkServiceSid},
    {"BA", WinBuiltinAdministratorsSid},
    {"BU", WinBuiltinUsersSid},
    {"BG", WinBuiltinGuestsSid},
    {"PU", WinBuiltinPowerUsersSid},
    {"AO", WinBuiltinAccountOperatorsSid},
    {"SO", WinBuiltinSystemOperatorsSid},
    {"PO", WinBuiltinPrintOperatorsSid},
    {"BO", WinBuiltinBackupOperatorsSid},
    {"RE", WinBuiltinReplicatorSid},
    {"RU", WinBuiltinPreWindows2000CompatibleAccessSid},
    {"RD", WinBuiltinRemoteDesktopUsersSid},
    {"NO", WinBuiltinNetworkConfigurationOperatorsSid},
    {"LW", WinLowLabelSid},
    {"ME", WinMediumLabelSid},
    {"MP", WinMediumPlusLabelSid},
    {"HI", WinHighLabelSid},
    {"SI", WinSystemLabelSid},
};

/* Aliases that name accounts of a domain (or of the computer's account
 * domain): they exist in SDDL but cannot be resolved here. */
static const char domain_aliases[][3] = {"DA", "DG", "DU", "DD", "DC", "CA", "SA", "EA", "PA", "RS",
                                         "LA", "LG", "RO", "CN", "AP", "KA", "EK", "CY", "ER", "HA"};

/* Parse a SID at *p (an alias or S-R-I-S...), advancing *p. */
static DWORD parse_sid(const char **p, BYTE *out)
{
    const char *s = *p;
    if (s[0] == 'S' && s[1] == '-') {
        char *end;
        s += 2;
        if (!isdigit((unsigned char)*s))
            return ERROR_INVALID_SID;
        unsigned long rev = strtoul(s, &end, 10);
        if (rev != SID_REVISION || *end != '-')
            return ERROR_INVALID_SID;
        s = end + 1;
        if (!isdigit((unsigned char)*s))
            return ERROR_INVALID_SID;
        /* Decimal, or hexadecimal 0x... for authorities of 2^32 and up. */
        unsigned long long auth = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
        if (end == s || auth >> 48)
            return ERROR_INVALID_SID;
        s = end;
        BYTE count = 0;
        while (*s == '-') {
            s++;
            if (!isdigit((unsigned char)*s) || count == SID_MAX_SUB_AUTHORITIES)
                return ERROR_INVALID_SID;
            unsigned long long v = strtoull(s, &end, 10);
            if (v > 0xFFFFFFFFull)
                return ERROR_INVALID_SID;
            wr32(out + SID_HEADER + 4u * count++, (DWORD)v);
            s = end;
        }
        out[0] = SID_REVISION;
        out[1] = count;
        for (int i = 0; i < 6; i++)
            out[2 + i] = (BYTE)(auth >> (8 * (5 - i)));
        *p = s;
        return ERROR_SUCCESS;
    }
    if (!isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]))
        return ERROR_INVALID_SID;
    for (size_t i = 0; i < sizeof sid_aliases / sizeof *sid_aliases; i++) {
        if (s[0] == sid_aliases[i].alias[0] && s[1] == sid_aliases[i].alias[1]) {
            wi_sid_well_known(sid_aliases[i].type, out);
            *p = s + 2;
            return ERROR_SUCCESS;
        }
    }
    for (size_t i = 0; i < sizeof domain_aliases / sizeof *domain_aliases; i++)
        if (s[0] == domain_aliases[i][0] && s[1] == domain_aliases[i][1])
            return ERROR_NONE_MAPPED;
    return ERROR_INVALID_SID;
}

/* --- ACEs ------------------------------------------------------------------------ */

static const struct {
    char code[3];
    DWORD mask;
} right_codes[] = {
    {"GA", GENERIC_ALL},
    {"GR", GENERIC_READ},
    {"GW", GENERIC_WRITE},
    {"GX", GENERIC_EXECUTE},
    {"RC", READ_CONTROL},
    {"SD", DELETE},
    {"WD", WRITE_DAC},
    {"WO", WRITE_OWNER},
    {"RP", 0x0010}, /* directory service: read property */
    {"WP", 0x0020}, /* write property */
    {"CC", 0x0001}, /* create child */
    {"DC", 0x0002}, /* delete child */
    {"LC", 0x0004}, /* list children */
    {"SW", 0x0008}, /* self write */
    {"LO", 0x0080}, /* list object */
    {"DT", 0x0040}, /* delete tree */
    {"CR", 0x0100}, /* control access */
    {"FA", FILE_ALL_ACCESS},
    {"FR", FILE_GENERIC_READ},
    {"FW", FILE_GENERIC_WRITE},
    {"FX", FILE_GENERIC_EXECUTE},
    {"KA", 0x000F003F}, /* KEY_ALL_ACCESS */
    {"KR", 0x00020019}, /* KEY_READ */
    {"KW", 0x00020006}, /* KEY_WRITE */
    {"KX", 0x00020019}, /* KEY_EXECUTE */
    {"NR", SYSTEM_MANDATORY_LABEL_NO_READ_UP},
    {"NW", SYSTEM_MANDATORY_LABEL_NO_WRITE_UP},
    {"NX", SYSTEM_MANDATORY_LABEL_NO_EXECUTE_UP},
};

static const struct {
    char code[3];
    BYTE flag;
} ace_flag_codes[] = {
    {"CI", CONTAINER_INHERIT_ACE}, {"OI", OBJECT_INHERIT_ACE},         {"NP", NO_PROPAGATE_INHERIT_ACE},
    {"IO", INHERIT_ONLY_ACE},      {"ID", INHERITED_ACE},              {"SA", SUCCESSFUL_ACCESS_ACE_FLAG},
    {"FA", FAILED_ACCESS_ACE_FLAG},
};

/* An ACL being built: up to 64 KiB (AclSize is a WORD). */
struct acl_buf {
    BYTE data[0x10000];
    DWORD used;
    WORD count;
};

/* Parse `(type;flags;rights;guid;guid;sid)` at *p into `acl`. */
static DWORD parse_ace(const char **p, bool sacl, struct acl_buf *acl)
{
    const char *s = *p + 1; /* past '(' */
    BYTE type, flags = 0;
    DWORD mask = 0;

    if (s[0] == 'A' && s[1] == ';')
        type = ACCESS_ALLOWED_ACE_TYPE;
    else if (s[0] == 'D' && s[1] == ';')
        type = ACCESS_DENIED_ACE_TYPE;
    else if (s[0] == 'M' && s[1] == 'L' && s[2] == ';')
        type = SYSTEM_MANDATORY_LABEL_ACE_TYPE;
    else {
        /* A known type we do not build (OA OD AU AL OU OL XA XD XU ZA RA SP
         * SC CA), or junk. */
        size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        return (n == 2 && s[2] == ';') ? ERROR_NOT_SUPPORTED : ERROR_INVALID_PARAMETER;
    }
    if ((type == SYSTEM_MANDATORY_LABEL_ACE_TYPE) != sacl)
        return ERROR_INVALID_PARAMETER; /* labels live in the SACL, A and D in the DACL */
    s = strchr(s, ';') + 1;

    while (*s != ';') {
        size_t i, n = sizeof ace_flag_codes / sizeof *ace_flag_codes;
        for (i = 0; i < n; i++)
            if (s[0] == ace_flag_codes[i].code[0] && s[1] == ace_flag_codes[i].code[1])
                break;
        if (i == n)
            return ERROR_INVALID_PARAMETER;
        flags |= ace_flag_codes[i].flag;
        s += 2;
    }
    s++;

    if (isdigit((unsigned char)*s)) {
        char *end;
        unsigned long long v = strtoull(s, &end, 0);
        if (v > 0xFFFFFFFFull)
            return ERROR_INVALID_PARAMETER;
        mask = (DWORD)v;
        s = end;
    } else {
        while (*s != ';') {
            size_t i, n = sizeof right_codes / sizeof *right_codes;
            for (i = 0; i < n; i++)
                if (s[0] == right_codes[i].code[0] && s[1] == right_codes[i].code[1])
                    break;
            if (i == n)
                return ERROR_INVALID_PARAMETER;
            mask |= right_codes[i].mask;
            s += 2;
        }
    }
    if (*s != ';')
        return ERROR_INVALID_PARAMETER;
    s++;
    /* Object type and inherited object type GUIDs: object ACEs only. */
    if (!s[0] || !s[1])
        return ERROR_INVALID_PARAMETER;
    if (s[0] != ';' || s[1] != ';')
        return ERROR_NOT_SUPPORTED;
    s += 2;

    BYTE sid[SECURITY_MAX_SID_SIZE];
    DWORD err = parse_sid(&s, sid);
    if (err)
        return err == ERROR_INVALID_SID ? ERROR_INVALID_PARAMETER : err;
    if (*s == ';')
        return ERROR_NOT_SUPPORTED; /* a resource attribute */
    if (*s != ')')
        return ERROR_INVALID_PARAMETER;
    *p = s + 1;

    DWORD size = 8 + wi_sid_length(sid);
    if (acl->used + size > sizeof acl->data || acl->count == 0xFFFF)
        return ERROR_INVALID_PARAMETER; /* more than an ACL can hold */
    BYTE *ace = acl->data + acl->used;
    ace[0] = type;
    ace[1] = flags;
    wr16(ace + 2, (WORD)size);
    wr32(ace + 4, mask);
    memcpy(ace + 8, sid, wi_sid_length(sid));
    acl->used += size;
    acl->count++;
    return ERROR_SUCCESS;
}

/* --- descriptors ------------------------------------------------------------------ */

struct sd_build {
    bool have_owner, have_group, have_dacl, have_sacl, null_dacl;
    WORD control;
    BYTE owner[SECURITY_MAX_SID_SIZE], group[SECURITY_MAX_SID_SIZE];
    struct acl_buf dacl, sacl;
};

static bool at_component(const char *s)
{
    return (s[0] == 'O' || s[0] == 'G' || s[0] == 'D' || s[0] == 'S') && s[1] == ':';
}

static void skip_space(const char **p)
{
    while (isspace((unsigned char)**p))
        (*p)++;
}

/* D:/S: flags and ACEs. */
static DWORD parse_acl(const char **p, bool sacl, struct sd_build *b)
{
    const char *s = *p;
    struct acl_buf *acl = sacl ? &b->sacl : &b->dacl;
    for (;;) {
        skip_space(&s);
        if (s[0] == 'P') {
            b->control |= sacl ? SE_SACL_PROTECTED : SE_DACL_PROTECTED;
            s++;
        } else if (s[0] == 'A' && s[1] == 'I') {
            b->control |= sacl ? SE_SACL_AUTO_INHERITED : SE_DACL_AUTO_INHERITED;
            s += 2;
        } else if (s[0] == 'A' && s[1] == 'R') {
            b->control |= sacl ? SE_SACL_AUTO_INHERIT_REQ : SE_DACL_AUTO_INHERIT_REQ;
            s += 2;
        } else if (strncmp(s, "NO_ACCESS_CONTROL", 17) == 0) {
            if (sacl)
                return ERROR_INVALID_PARAMETER;
            b->null_dacl = true;
            s += 17;
        } else {
            break;
        }
    }
    while (skip_space(&s), *s == '(') {
        if (b->null_dacl && !sacl)
            return ERROR_INVALID_PARAMETER; /* a NULL DACL has no entries */
        DWORD err = parse_ace(&s, sacl, acl);
        if (err)
            return err;
    }
    *p = s;
    return ERROR_SUCCESS;
}

static DWORD parse_sd(const char *s, struct sd_build *b)
{
    for (;;) {
        skip_space(&s);
        if (!*s)
            return ERROR_SUCCESS;
        if (!at_component(s))
            return ERROR_INVALID_PARAMETER;
        char part = s[0];
        DWORD err;
        s += 2;
        skip_space(&s);
        switch (part) {
        case 'O':
        case 'G': {
            bool *have = part == 'O' ? &b->have_owner : &b->have_group;
            if (*have)
                return ERROR_INVALID_PARAMETER;
            *have = true;
            err = parse_sid(&s, part == 'O' ? b->owner : b->group);
            if (err)
                return err == ERROR_INVALID_SID ? ERROR_INVALID_PARAMETER : err;
            break;
        }
        case 'D':
            if (b->have_dacl)
                return ERROR_INVALID_PARAMETER;
            b->have_dacl = true;
            if ((err = parse_acl(&s, false, b)))
                return err;
            break;
        default:
            if (b->have_sacl)
                return ERROR_INVALID_PARAMETER;
            b->have_sacl = true;
            if ((err = parse_acl(&s, true, b)))
                return err;
            break;
        }
    }
}

static DWORD acl_bytes(const struct acl_buf *a)
{
    return ACL_HEADER + a->used;
}

static void acl_write(BYTE *out, const struct acl_buf *a)
{
    out[0] = ACL_REVISION;
    out[1] = 0;
    wr16(out + 2, (WORD)acl_bytes(a));
    wr16(out + 4, a->count);
    wr16(out + 6, 0);
    memcpy(out + ACL_HEADER, a->data, a->used);
}

static DWORD convert_sd(const char *str, DWORD revision, PSECURITY_DESCRIPTOR *out, PULONG size)
{
    if (!str || !out)
        return ERROR_INVALID_PARAMETER;
    if (revision != SDDL_REVISION_1)
        return ERROR_UNKNOWN_REVISION;
    struct sd_build *b = calloc(1, sizeof *b);
    if (!b)
        return ERROR_NOT_ENOUGH_MEMORY;
    DWORD err = parse_sd(str, b);
    if (!err && (acl_bytes(&b->dacl) > 0xFFFF || acl_bytes(&b->sacl) > 0xFFFF))
        err = ERROR_INVALID_PARAMETER;
    if (err) {
        free(b);
        return err;
    }
    DWORD total = SD_REL_SIZE;
    DWORD sacl_at = 0, dacl_at = 0, owner_at = 0, group_at = 0;
    if (b->have_sacl) {
        sacl_at = total;
        total += acl_bytes(&b->sacl);
    }
    if (b->have_dacl && !b->null_dacl) {
        dacl_at = total;
        total += acl_bytes(&b->dacl);
    }
    if (b->have_owner) {
        owner_at = total;
        total += wi_sid_length(b->owner);
    }
    if (b->have_group) {
        group_at = total;
        total += wi_sid_length(b->group);
    }
    BYTE *sd = LocalAlloc(LMEM_FIXED | LMEM_ZEROINIT, total);
    if (!sd) {
        free(b);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    WORD control = b->control | SE_SELF_RELATIVE;
    if (b->have_dacl)
        control |= SE_DACL_PRESENT; /* with offset 0 for NO_ACCESS_CONTROL: a NULL DACL */
    if (b->have_sacl)
        control |= SE_SACL_PRESENT;
    sd[0] = SECURITY_DESCRIPTOR_REVISION;
    wr16(sd + 2, control);
    wr32(sd + 4, owner_at);
    wr32(sd + 8, group_at);
    wr32(sd + 12, sacl_at);
    wr32(sd + 16, dacl_at);
    if (sacl_at)
        acl_write(sd + sacl_at, &b->sacl);
    if (dacl_at)
        acl_write(sd + dacl_at, &b->dacl);
    if (owner_at)
        memcpy(sd + owner_at, b->owner, wi_sid_length(b->owner));
    if (group_at)
        memcpy(sd + group_at, b->group, wi_sid_length(b->group));
    free(b);
    *out = sd;
    if (size)
        *size = total;
    return ERROR_SUCCESS;
}

static DWORD string_to_sid(const char *str, PSID *out)
{
    BYTE sid[SECURITY_MAX_SID_SIZE];
    if (!str || !out)
        return ERROR_INVALID_PARAMETER;
    const char *s = str;
    DWORD err = parse_sid(&s, sid);
    if (err)
        return err;
    if (*s)
        return ERROR_INVALID_SID;
    DWORD n = wi_sid_length(sid);
    BYTE *p = LocalAlloc(LMEM_FIXED, n);
    if (!p)
        return ERROR_NOT_ENOUGH_MEMORY;
    memcpy(p, sid, n);
    *out = p;
    return ERROR_SUCCESS;
}

/* "S-1-5-32-544"; authorities of 2^32 and up in hexadecimal, as Windows
 * writes them. `buf` holds the longest: 2 + 3 + 1 + 14 + 15 * 11 + 1. */
static void sid_to_string(const BYTE *sid, char buf[192])
{
    unsigned long long auth = 0;
    for (int i = 0; i < 6; i++)
        auth = (auth << 8) | sid[2 + i];
    int n = auth >> 32 ? snprintf(buf, 192, "S-%u-0x%012llX", sid[0], auth)
                       : snprintf(buf, 192, "S-%u-%llu", sid[0], auth);
    for (BYTE i = 0; i < sid[1]; i++) {
        DWORD v;
        memcpy(&v, sid + SID_HEADER + 4u * i, sizeof v);
        n += snprintf(buf + n, 192 - (size_t)n, "-%" PRIu32, v);
    }
}

/* --- Win32 entry points ------------------------------------------------------------- */

WINADVAPI BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorA(LPCSTR StringSecurityDescriptor,
                                                                           DWORD StringSDRevision,
                                                                           PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                                                           PULONG SecurityDescriptorSize)
{
    return wi_result_bool(
        convert_sd(StringSecurityDescriptor, StringSDRevision, SecurityDescriptor, SecurityDescriptorSize));
}

WINADVAPI BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorW(LPCWSTR StringSecurityDescriptor,
                                                                           DWORD StringSDRevision,
                                                                           PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                                                           PULONG SecurityDescriptorSize)
{
    WI_UTF8_ARG(s, StringSecurityDescriptor);
    if (WI_UTF8_FAILED(s, StringSecurityDescriptor))
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    DWORD err = convert_sd(s, StringSDRevision, SecurityDescriptor, SecurityDescriptorSize);
    WI_UTF8_FREE(s);
    return wi_result_bool(err);
}

WINADVAPI BOOL WINAPI ConvertStringSidToSidA(LPCSTR StringSid, PSID *Sid)
{
    return wi_result_bool(string_to_sid(StringSid, Sid));
}

WINADVAPI BOOL WINAPI ConvertStringSidToSidW(LPCWSTR StringSid, PSID *Sid)
{
    WI_UTF8_ARG(s, StringSid);
    if (WI_UTF8_FAILED(s, StringSid))
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    DWORD err = string_to_sid(s, Sid);
    WI_UTF8_FREE(s);
    return wi_result_bool(err);
}

WINADVAPI BOOL WINAPI ConvertSidToStringSidA(PSID Sid, LPSTR *StringSid)
{
    char buf[192];
    if (!StringSid)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (!wi_sid_valid(Sid))
        return wi_fail_bool(ERROR_INVALID_SID);
    sid_to_string(Sid, buf);
    size_t n = strlen(buf) + 1;
    char *p = LocalAlloc(LMEM_FIXED, n);
    if (!p)
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    memcpy(p, buf, n);
    *StringSid = p;
    return TRUE;
}

WINADVAPI BOOL WINAPI ConvertSidToStringSidW(PSID Sid, LPWSTR *StringSid)
{
    char buf[192];
    if (!StringSid)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (!wi_sid_valid(Sid))
        return wi_fail_bool(ERROR_INVALID_SID);
    sid_to_string(Sid, buf);
    size_t n = strlen(buf) + 1;
    WCHAR *p = LocalAlloc(LMEM_FIXED, n * sizeof(WCHAR));
    if (!p)
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    for (size_t i = 0; i < n; i++)
        p[i] = (WCHAR)(unsigned char)buf[i]; /* ASCII */
    *StringSid = p;
    return TRUE;
}

/* -fshort-wchar callers (see wide16.c): UTF-16 strings. */
WINADVAPI BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorW16(const uint16_t *StringSecurityDescriptor,
                                                                             DWORD StringSDRevision,
                                                                             PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                                                             PULONG SecurityDescriptorSize);
WINADVAPI BOOL WINAPI ConvertStringSidToSidW16(const uint16_t *StringSid, PSID *Sid);
WINADVAPI BOOL WINAPI ConvertSidToStringSidW16(PSID Sid, uint16_t **StringSid);

WINADVAPI BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorW16(const uint16_t *StringSecurityDescriptor,
                                                                             DWORD StringSDRevision,
                                                                             PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                                                             PULONG SecurityDescriptorSize)
{
    wchar_t *w = StringSecurityDescriptor ? wi_wide_from_utf16(StringSecurityDescriptor) : NULL;
    if (StringSecurityDescriptor && !w)
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    BOOL ok = ConvertStringSecurityDescriptorToSecurityDescriptorW(w, StringSDRevision, SecurityDescriptor,
                                                                   SecurityDescriptorSize);
    free(w);
    return ok;
}

WINADVAPI BOOL WINAPI ConvertStringSidToSidW16(const uint16_t *StringSid, PSID *Sid)
{
    wchar_t *w = StringSid ? wi_wide_from_utf16(StringSid) : NULL;
    if (StringSid && !w)
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    BOOL ok = ConvertStringSidToSidW(w, Sid);
    free(w);
    return ok;
}

WINADVAPI BOOL WINAPI ConvertSidToStringSidW16(PSID Sid, uint16_t **StringSid)
{
    char buf[192];
    if (!StringSid)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (!wi_sid_valid(Sid))
        return wi_fail_bool(ERROR_INVALID_SID);
    sid_to_string(Sid, buf);
    size_t n = strlen(buf) + 1;
    uint16_t *p = LocalAlloc(LMEM_FIXED, n * sizeof *p);
    if (!p)
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)buf[i]; /* ASCII */
    *StringSid = p;
    return TRUE;
}
