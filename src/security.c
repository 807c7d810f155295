/* SPDX-License-Identifier: MIT */
/* Security descriptors, ACLs and SIDs (securitybaseapi.h), and what a
 * descriptor passed to a CreateXxx call means on Linux (wi_sa_parse_for).
 *
 * Layouts are the SDK's. Programs build them in byte buffers of any
 * alignment (`BYTE sid[SECURITY_MAX_SID_SIZE]` is common), so fields are
 * read and written through the memcpy accessors below, never through a
 * misaligned struct pointer.
 *
 * From DACL to Linux (docs/security.md has the table and the reasons):
 * a named object is a file (or socket) in the namespace directory, and a
 * winipc process needs read-write access to it to use the object at all —
 * even a wait changes shared state. So the only two things Linux can say are
 * "the owner (and root)" (mode 0600) and "every user" (0666):
 *   - no DACL (default)                      → owner only
 *   - NULL DACL                              → every user
 *   - ACEs for Everyone / Authenticated Users, evaluated in order with the
 *     type's generic mapping: granting at least the rights a user of the
 *     type needs (table in rights_for_others) → every user; granting none
 *     of the type's rights → owner only; anything in between →
 *     ERROR_NOT_SUPPORTED (Linux cannot grant part of an object);
 *   - ACEs for the owner side (CREATOR OWNER, OWNER RIGHTS, SYSTEM,
 *     Administrators) change nothing: the Linux owner and root always have
 *     access (as a Windows owner can always rewrite the DACL);
 *   - ACEs for any other SID → ERROR_NOT_SUPPORTED (no SID → uid mapping);
 *   - an owner or group in the descriptor → ERROR_NOT_SUPPORTED (the Linux
 *     owner is the creating user); a SACL holding anything but integrity
 *     labels at or below Medium → ERROR_NOT_SUPPORTED. */
#include "security.h"

#include "error.h"
#include "handle.h"
#include "object.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SID_HEADER 8u     /* Revision, SubAuthorityCount, IdentifierAuthority */
#define ACL_HEADER 8u     /* sizeof(ACL) */
#define ACE_SID_AT 8u     /* ACE_HEADER + Mask: where an ACE's SID starts */
#define SD_ABS_SIZE ((DWORD)sizeof(SECURITY_DESCRIPTOR))
#define SD_REL_SIZE 20u   /* sizeof(SECURITY_DESCRIPTOR_RELATIVE) */
/* Absolute form: Owner, Group, Sacl, Dacl are consecutive pointers. */
#define SD_PTR_AT(i) (offsetof(SECURITY_DESCRIPTOR, Owner) + sizeof(void *) * (i))

_Static_assert(sizeof(SECURITY_DESCRIPTOR) == 40 || sizeof(void *) != 8, "SDK layout (x64)");
_Static_assert(offsetof(SECURITY_DESCRIPTOR, Dacl) == SD_PTR_AT(3), "SDK layout");
_Static_assert(sizeof(SECURITY_DESCRIPTOR_RELATIVE) == SD_REL_SIZE, "SDK layout");
_Static_assert(sizeof(ACL) == ACL_HEADER && sizeof(ACE_HEADER) == 4 && sizeof(ACCESS_ALLOWED_ACE) == 12, "SDK layout");
_Static_assert(sizeof(SID) == 12 && SECURITY_MAX_SID_SIZE == 68, "SDK layout");

static WORD rd16(const BYTE *p)
{
    WORD v;
    memcpy(&v, p, sizeof v);
    return v;
}
static DWORD rd32(const BYTE *p)
{
    DWORD v;
    memcpy(&v, p, sizeof v);
    return v;
}
static void wr16(BYTE *p, WORD v)
{
    memcpy(p, &v, sizeof v);
}
static void wr32(BYTE *p, DWORD v)
{
    memcpy(p, &v, sizeof v);
}

/* --- SIDs ------------------------------------------------------------------------ */

bool wi_sid_valid(const void *sid)
{
    const BYTE *s = sid;
    return s && s[0] == SID_REVISION && s[1] <= SID_MAX_SUB_AUTHORITIES;
}

DWORD wi_sid_length(const void *sid)
{
    return SID_HEADER + 4u * ((const BYTE *)sid)[1];
}

static bool sid_equal(const BYTE *a, const BYTE *b)
{
    DWORD n = wi_sid_length(a);
    return n == wi_sid_length(b) && memcmp(a, b, n) == 0;
}

/* Write S-1-<authority>-<sub...> (authority < 256: all well-known ones). */
static void sid_build(BYTE *out, BYTE authority, BYTE count, const DWORD *sub)
{
    out[0] = SID_REVISION;
    out[1] = count;
    memset(out + 2, 0, 5);
    out[7] = authority;
    for (BYTE i = 0; i < count; i++)
        wr32(out + SID_HEADER + 4u * i, sub[i]);
}

/* Well-known SIDs that need no domain. */
static const struct well_known {
    WELL_KNOWN_SID_TYPE type;
    BYTE authority, count;
    DWORD sub[2];
} well_known[] = {
    {WinNullSid, 0, 1, {SECURITY_NULL_RID}},
    {WinWorldSid, 1, 1, {SECURITY_WORLD_RID}},
    {WinLocalSid, 2, 1, {SECURITY_LOCAL_RID}},
    {WinCreatorOwnerSid, 3, 1, {SECURITY_CREATOR_OWNER_RID}},
    {WinCreatorGroupSid, 3, 1, {SECURITY_CREATOR_GROUP_RID}},
    {WinCreatorOwnerServerSid, 3, 1, {SECURITY_CREATOR_OWNER_SERVER_RID}},
    {WinCreatorGroupServerSid, 3, 1, {SECURITY_CREATOR_GROUP_SERVER_RID}},
    {WinCreatorOwnerRightsSid, 3, 1, {SECURITY_CREATOR_OWNER_RIGHTS_RID}},
    {WinNtAuthoritySid, 5, 0, {0}},
    {WinDialupSid, 5, 1, {SECURITY_DIALUP_RID}},
    {WinNetworkSid, 5, 1, {SECURITY_NETWORK_RID}},
    {WinBatchSid, 5, 1, {SECURITY_BATCH_RID}},
    {WinInteractiveSid, 5, 1, {SECURITY_INTERACTIVE_RID}},
    {WinServiceSid, 5, 1, {SECURITY_SERVICE_RID}},
    {WinAnonymousSid, 5, 1, {SECURITY_ANONYMOUS_LOGON_RID}},
    {WinProxySid, 5, 1, {SECURITY_PROXY_RID}},
    {WinEnterpriseControllersSid, 5, 1, {SECURITY_ENTERPRISE_CONTROLLERS_RID}},
    {WinSelfSid, 5, 1, {SECURITY_PRINCIPAL_SELF_RID}},
    {WinAuthenticatedUserSid, 5, 1, {SECURITY_AUTHENTICATED_USER_RID}},
    {WinRestrictedCodeSid, 5, 1, {SECURITY_RESTRICTED_CODE_RID}},
    {WinTerminalServerSid, 5, 1, {SECURITY_TERMINAL_SERVER_RID}},
    {WinRemoteLogonIdSid, 5, 1, {SECURITY_REMOTE_LOGON_RID}},
    {WinLocalSystemSid, 5, 1, {SECURITY_LOCAL_SYSTEM_RID}},
    {WinLocalServiceSid, 5, 1, {SECURITY_LOCAL_SERVICE_RID}},
    {WinNetworkServiceSid, 5, 1, {SECURITY_NETWORK_SERVICE_RID}},
    {WinBuiltinDomainSid, 5, 1, {SECURITY_BUILTIN_DOMAIN_RID}},
    {WinBuiltinAdministratorsSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS}},
    {WinBuiltinUsersSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_USERS}},
    {WinBuiltinGuestsSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_GUESTS}},
    {WinBuiltinPowerUsersSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_POWER_USERS}},
    {WinBuiltinAccountOperatorsSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, 548}},
    {WinBuiltinSystemOperatorsSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, 549}},
    {WinBuiltinPrintOperatorsSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, 550}},
    {WinBuiltinBackupOperatorsSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, 551}},
    {WinBuiltinReplicatorSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, 552}},
    {WinBuiltinPreWindows2000CompatibleAccessSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, 554}},
    {WinBuiltinRemoteDesktopUsersSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, 555}},
    {WinBuiltinNetworkConfigurationOperatorsSid, 5, 2, {SECURITY_BUILTIN_DOMAIN_RID, 556}},
    {WinUntrustedLabelSid, 16, 1, {SECURITY_MANDATORY_UNTRUSTED_RID}},
    {WinLowLabelSid, 16, 1, {SECURITY_MANDATORY_LOW_RID}},
    {WinMediumLabelSid, 16, 1, {SECURITY_MANDATORY_MEDIUM_RID}},
    {WinMediumPlusLabelSid, 16, 1, {SECURITY_MANDATORY_MEDIUM_PLUS_RID}},
    {WinHighLabelSid, 16, 1, {SECURITY_MANDATORY_HIGH_RID}},
    {WinSystemLabelSid, 16, 1, {SECURITY_MANDATORY_SYSTEM_RID}},
};

/* Account-domain SIDs: the domain's SID plus one RID. */
static const struct {
    WELL_KNOWN_SID_TYPE type;
    DWORD rid;
} domain_relative[] = {
    {WinAccountAdministratorSid, 500},   {WinAccountGuestSid, 501},         {WinAccountKrbtgtSid, 502},
    {WinAccountDomainAdminsSid, 512},    {WinAccountDomainUsersSid, 513},   {WinAccountDomainGuestsSid, 514},
    {WinAccountComputersSid, 515},       {WinAccountControllersSid, 516},   {WinAccountCertAdminsSid, 517},
    {WinAccountSchemaAdminsSid, 518},    {WinAccountEnterpriseAdminsSid, 519},
};

bool wi_sid_well_known(WELL_KNOWN_SID_TYPE type, BYTE *out)
{
    for (size_t i = 0; i < sizeof well_known / sizeof *well_known; i++) {
        if (well_known[i].type == type) {
            sid_build(out, well_known[i].authority, well_known[i].count, well_known[i].sub);
            return true;
        }
    }
    return false;
}

static bool sid_is(const BYTE *sid, WELL_KNOWN_SID_TYPE type)
{
    BYTE w[SECURITY_MAX_SID_SIZE];
    return wi_sid_well_known(type, w) && sid_equal(sid, w);
}

/* --- ACLs ---------------------------------------------------------------------- */

static bool ace_has_sid(BYTE type)
{
    switch (type) {
    case ACCESS_ALLOWED_ACE_TYPE:
    case ACCESS_DENIED_ACE_TYPE:
    case SYSTEM_AUDIT_ACE_TYPE:
    case SYSTEM_ALARM_ACE_TYPE:
    case ACCESS_ALLOWED_CALLBACK_ACE_TYPE:
    case ACCESS_DENIED_CALLBACK_ACE_TYPE:
    case SYSTEM_MANDATORY_LABEL_ACE_TYPE:
        return true;
    default:
        return false; /* object ACEs and others: a layout we do not look into */
    }
}

DWORD wi_acl_check(const void *acl, DWORD *used)
{
    const BYTE *a = acl;
    if (!a || a[0] < MIN_ACL_REVISION || a[0] > MAX_ACL_REVISION)
        return ERROR_INVALID_ACL;
    DWORD size = rd16(a + 2), count = rd16(a + 4), off = ACL_HEADER;
    if (size < ACL_HEADER)
        return ERROR_INVALID_ACL;
    for (DWORD i = 0; i < count; i++) {
        if (off + 4 > size)
            return ERROR_INVALID_ACL;
        DWORD ace_size = rd16(a + off + 2);
        if (ace_size < 4 || (ace_size & 3) || off + ace_size > size)
            return ERROR_INVALID_ACL;
        if (ace_has_sid(a[off])) {
            const BYTE *sid = a + off + ACE_SID_AT;
            if (ace_size < ACE_SID_AT + SID_HEADER || !wi_sid_valid(sid) ||
                ACE_SID_AT + wi_sid_length(sid) > ace_size)
                return ERROR_INVALID_ACL;
        }
        off += ace_size;
    }
    if (used)
        *used = off;
    return ERROR_SUCCESS;
}

static DWORD add_ace(PACL pAcl, DWORD revision, BYTE type, DWORD flags, DWORD mask, PSID pSid)
{
    BYTE *a = (BYTE *)pAcl;
    DWORD used;
    if (!a)
        return ERROR_INVALID_PARAMETER;
    if (wi_acl_check(a, &used))
        return ERROR_INVALID_ACL;
    if (!wi_sid_valid(pSid))
        return ERROR_INVALID_SID;
    if (revision < MIN_ACL_REVISION || revision > MAX_ACL_REVISION)
        return ERROR_REVISION_MISMATCH;
    if (flags & ~(DWORD)VALID_INHERIT_FLAGS)
        return ERROR_INVALID_FLAGS;
    DWORD sid_len = wi_sid_length(pSid), ace_size = ACE_SID_AT + sid_len;
    DWORD count = rd16(a + 4);
    if (used + ace_size > rd16(a + 2) || count == 0xFFFF)
        return ERROR_ALLOTTED_SPACE_EXCEEDED;
    BYTE *ace = a + used;
    ace[0] = type;
    ace[1] = (BYTE)flags;
    wr16(ace + 2, (WORD)ace_size);
    wr32(ace + 4, mask);
    memcpy(ace + ACE_SID_AT, pSid, sid_len);
    wr16(a + 4, (WORD)(count + 1));
    if (revision > a[0])
        a[0] = (BYTE)revision; /* the ACL takes the newer revision its ACEs need */
    return ERROR_SUCCESS;
}

/* --- security descriptors --------------------------------------------------------- */

struct sd_parts {
    WORD control;
    const BYTE *owner, *group, *sacl, *dacl; /* NULL when absent (or a NULL DACL/SACL) */
};

/* Read either form and check every part: ERROR_UNKNOWN_REVISION,
 * ERROR_INVALID_SECURITY_DESCR, ERROR_INVALID_SID or ERROR_INVALID_ACL. */
static DWORD sd_read(const void *sd, struct sd_parts *p)
{
    const BYTE *b = sd;
    if (!b)
        return ERROR_INVALID_SECURITY_DESCR;
    if (b[0] != SECURITY_DESCRIPTOR_REVISION)
        return ERROR_UNKNOWN_REVISION;
    memset(p, 0, sizeof *p);
    p->control = rd16(b + 2);
    const BYTE *part[4];
    if (p->control & SE_SELF_RELATIVE) {
        for (int i = 0; i < 4; i++) {
            DWORD off = rd32(b + 4 + 4 * i);
            if (off && off < SD_REL_SIZE)
                return ERROR_INVALID_SECURITY_DESCR; /* inside the header */
            part[i] = off ? b + off : NULL;
        }
    } else {
        for (int i = 0; i < 4; i++)
            memcpy(&part[i], b + SD_PTR_AT(i), sizeof(void *));
    }
    p->owner = part[0];
    p->group = part[1];
    p->sacl = (p->control & SE_SACL_PRESENT) ? part[2] : NULL;
    p->dacl = (p->control & SE_DACL_PRESENT) ? part[3] : NULL;
    if ((p->owner && !wi_sid_valid(p->owner)) || (p->group && !wi_sid_valid(p->group)))
        return ERROR_INVALID_SID;
    if ((p->sacl && wi_acl_check(p->sacl, NULL)) || (p->dacl && wi_acl_check(p->dacl, NULL)))
        return ERROR_INVALID_ACL;
    return ERROR_SUCCESS;
}

/* --- what a descriptor means on Linux --------------------------------------------- */

/* The rights another user's process needs to use an object of this type at
 * all through winipc. Linux can give them only together (read-write access
 * to the object's file), and giving them gives every right of the type
 * except the standard ones (DELETE, READ_CONTROL, WRITE_DAC, WRITE_OWNER),
 * which have no Linux counterpart for a non-owner. 0: objects of this type
 * cannot be reached by another user through a name. */
static DWORD rights_for_others(enum wi_type type)
{
    switch (type) {
    case WI_TYPE_EVENT:
        return SYNCHRONIZE | EVENT_MODIFY_STATE;
    case WI_TYPE_MUTEX:
        return SYNCHRONIZE; /* waiting is acquiring; ReleaseMutex needs no right */
    case WI_TYPE_SEMAPHORE:
        return SYNCHRONIZE | SEMAPHORE_MODIFY_STATE;
    case WI_TYPE_TIMER:
        return SYNCHRONIZE | TIMER_MODIFY_STATE;
    case WI_TYPE_MAPPING:
        return SECTION_MAP_READ | SECTION_MAP_WRITE;
    case WI_TYPE_PIPE:
        return FILE_READ_DATA | FILE_WRITE_DATA;
    case WI_TYPE_MAILSLOT:
        return FILE_WRITE_DATA; /* mailslot clients only write */
    default:
        return 0;
    }
}

enum principal { PRINCIPAL_WORLD, PRINCIPAL_OWNER_SIDE, PRINCIPAL_OTHER };

/* Who an ACE's SID stands for, as far as Linux can tell users apart. */
static enum principal principal_of(const BYTE *sid)
{
    if (sid_is(sid, WinWorldSid) || sid_is(sid, WinAuthenticatedUserSid))
        return PRINCIPAL_WORLD; /* every Linux user is "authenticated" */
    if (sid_is(sid, WinCreatorOwnerSid) || sid_is(sid, WinCreatorOwnerRightsSid) || sid_is(sid, WinLocalSystemSid) ||
        sid_is(sid, WinBuiltinAdministratorsSid))
        return PRINCIPAL_OWNER_SIDE; /* the file's owner, and root, who bypasses modes */
    return PRINCIPAL_OTHER;
}

static DWORD map_rights(const struct wi_object_ops *ops, DWORD mask)
{
    return ops ? wi_handle_map_access(ops, mask) : mask;
}

/* Integrity labels at or below Medium restrict only processes below Medium;
 * Linux has none (every process counts as Medium), so they change nothing.
 * Higher labels, audit and alarm ACEs have no Linux counterpart. */
static DWORD check_sacl(const BYTE *acl)
{
    DWORD off = ACL_HEADER, count = rd16(acl + 4);
    for (DWORD i = 0; i < count; i++) {
        const BYTE *ace = acl + off;
        off += rd16(ace + 2);
        if (ace[1] & INHERIT_ONLY_ACE)
            continue;
        if (ace[0] != SYSTEM_MANDATORY_LABEL_ACE_TYPE)
            return ERROR_NOT_SUPPORTED;
        const BYTE *sid = ace + ACE_SID_AT;
        static const BYTE label_authority[6] = SECURITY_MANDATORY_LABEL_AUTHORITY;
        if (memcmp(sid + 2, label_authority, 6) != 0 || sid[1] != 1)
            return ERROR_INVALID_SID;
        if (rd32(sid + SID_HEADER) > SECURITY_MANDATORY_MEDIUM_RID)
            return ERROR_NOT_SUPPORTED;
    }
    return ERROR_SUCCESS;
}

/* Evaluate the DACL for "any other user" the way Windows' access check
 * does (ACEs in order; a right, once denied, cannot be granted by a later
 * ACE and vice versa) and decide between owner-only and every user. */
static DWORD dacl_world(const BYTE *acl, const struct wi_object_ops *ops, bool *world)
{
    DWORD granted = 0, denied = 0, off = ACL_HEADER, count = rd16(acl + 4);
    bool any_deny = false;
    for (DWORD i = 0; i < count; i++) {
        const BYTE *ace = acl + off;
        off += rd16(ace + 2);
        if (ace[1] & INHERIT_ONLY_ACE)
            continue; /* for children only; kernel objects have none */
        if (ace[0] != ACCESS_ALLOWED_ACE_TYPE && ace[0] != ACCESS_DENIED_ACE_TYPE)
            return ERROR_NOT_SUPPORTED; /* object, callback and compound ACEs */
        switch (principal_of(ace + ACE_SID_AT)) {
        case PRINCIPAL_OTHER:
            return ERROR_NOT_SUPPORTED;
        case PRINCIPAL_OWNER_SIDE:
            continue;
        case PRINCIPAL_WORLD:
            break;
        }
        DWORD mask = map_rights(ops, rd32(ace + 4));
        if (ace[0] == ACCESS_ALLOWED_ACE_TYPE) {
            granted |= mask & ~denied;
        } else {
            denied |= mask & ~granted;
            any_deny = true;
        }
    }
    const DWORD standard = DELETE | READ_CONTROL | WRITE_DAC | WRITE_OWNER;
    if (!(granted & ~standard))
        return ERROR_SUCCESS; /* nothing usable for others: owner only */
    DWORD need = ops ? rights_for_others(ops->type) : 0;
    if (need ? (granted & need) == need : (!any_deny && (granted & GENERIC_ALL))) {
        *world = true;
        return ERROR_SUCCESS;
    }
    return ERROR_NOT_SUPPORTED; /* a partial grant: Linux gives all or nothing */
}

static DWORD sd_world(const void *sd, const struct wi_object_ops *ops, bool *world)
{
    struct sd_parts p;
    DWORD err = sd_read(sd, &p);
    if (err)
        return err;
    if (p.owner || p.group)
        return ERROR_NOT_SUPPORTED; /* the Linux owner is the creating user */
    if (p.sacl && (err = check_sacl(p.sacl)))
        return err;
    if (!(p.control & SE_DACL_PRESENT))
        return ERROR_SUCCESS; /* the creator's default DACL: owner only */
    if (!p.dacl) {
        *world = true; /* NULL DACL: everyone, every right */
        return ERROR_SUCCESS;
    }
    return dacl_world(p.dacl, ops, world);
}

DWORD wi_sa_parse_for(const SECURITY_ATTRIBUTES *sa, const struct wi_object_ops *ops, DWORD *flags, bool *world)
{
    *flags = 0;
    *world = false;
    if (!sa)
        return ERROR_SUCCESS;
    if (sa->bInheritHandle)
        *flags = HANDLE_FLAG_INHERIT;
    if (!sa->lpSecurityDescriptor)
        return ERROR_SUCCESS;
    return sd_world(sa->lpSecurityDescriptor, ops, world);
}

DWORD wi_sa_parse(const SECURITY_ATTRIBUTES *sa, DWORD *flags, bool *world)
{
    return wi_sa_parse_for(sa, NULL, flags, world);
}

/* --- Win32 entry points: security descriptors ------------------------------------ */

WINADVAPI BOOL WINAPI InitializeSecurityDescriptor(PSECURITY_DESCRIPTOR pSecurityDescriptor, DWORD dwRevision)
{
    if (!pSecurityDescriptor)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (dwRevision != SECURITY_DESCRIPTOR_REVISION)
        return wi_fail_bool(ERROR_UNKNOWN_REVISION);
    /* Absolute form, no owner, group, SACL or DACL. */
    memset(pSecurityDescriptor, 0, sizeof(SECURITY_DESCRIPTOR));
    ((BYTE *)pSecurityDescriptor)[0] = SECURITY_DESCRIPTOR_REVISION;
    return TRUE;
}

WINADVAPI BOOL WINAPI IsValidSecurityDescriptor(PSECURITY_DESCRIPTOR pSecurityDescriptor)
{
    struct sd_parts p;
    /* Windows documents no extended error; we leave the reason anyway. */
    return wi_result_bool(sd_read(pSecurityDescriptor, &p));
}

static DWORD aligned4(DWORD n)
{
    return (n + 3) & ~3u;
}

WINADVAPI DWORD WINAPI GetSecurityDescriptorLength(PSECURITY_DESCRIPTOR pSecurityDescriptor)
{
    struct sd_parts p;
    if (sd_read(pSecurityDescriptor, &p))
        return 0; /* Windows returns the length of garbage; we return nothing */
    DWORD n = (p.control & SE_SELF_RELATIVE) ? SD_REL_SIZE : SD_ABS_SIZE;
    if (p.owner)
        n += aligned4(wi_sid_length(p.owner));
    if (p.group)
        n += aligned4(wi_sid_length(p.group));
    if (p.sacl)
        n += aligned4(rd16(p.sacl + 2));
    if (p.dacl)
        n += aligned4(rd16(p.dacl + 2));
    return n;
}

WINADVAPI BOOL WINAPI GetSecurityDescriptorControl(PSECURITY_DESCRIPTOR pSecurityDescriptor,
                                                   PSECURITY_DESCRIPTOR_CONTROL pControl, LPDWORD lpdwRevision)
{
    const BYTE *b = pSecurityDescriptor;
    if (!b || !pControl || !lpdwRevision)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    *lpdwRevision = b[0];
    *pControl = rd16(b + 2);
    if (b[0] != SECURITY_DESCRIPTOR_REVISION)
        return wi_fail_bool(ERROR_UNKNOWN_REVISION);
    return TRUE;
}

WINADVAPI BOOL WINAPI SetSecurityDescriptorDacl(PSECURITY_DESCRIPTOR pSecurityDescriptor, BOOL bDaclPresent,
                                                PACL pDacl, BOOL bDaclDefaulted)
{
    BYTE *b = pSecurityDescriptor;
    if (!b)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (b[0] != SECURITY_DESCRIPTOR_REVISION)
        return wi_fail_bool(ERROR_UNKNOWN_REVISION);
    WORD control = rd16(b + 2);
    if (control & SE_SELF_RELATIVE)
        return wi_fail_bool(ERROR_INVALID_SECURITY_DESCR); /* only the absolute form holds pointers */
    if (!bDaclPresent) {
        /* pDacl and bDaclDefaulted are ignored, as documented. */
        wr16(b + 2, (WORD)(control & ~SE_DACL_PRESENT));
        return TRUE;
    }
    control |= SE_DACL_PRESENT;
    if (bDaclDefaulted)
        control |= SE_DACL_DEFAULTED;
    else
        control &= (WORD)~SE_DACL_DEFAULTED;
    wr16(b + 2, control);
    memcpy(b + SD_PTR_AT(3), &pDacl, sizeof pDacl);
    return TRUE;
}

/* Get a DACL or SACL: `present_bit`/`defaulted_bit` and index 2 (SACL) or 3. */
static BOOL get_acl(PSECURITY_DESCRIPTOR sd, WORD present_bit, WORD defaulted_bit, LPBOOL present, PACL *acl,
                    LPBOOL defaulted)
{
    struct sd_parts p;
    const BYTE *b = sd;
    if (!b || !present)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (b[0] != SECURITY_DESCRIPTOR_REVISION)
        return wi_fail_bool(ERROR_UNKNOWN_REVISION);
    WORD control = rd16(b + 2);
    *present = (control & present_bit) != 0;
    if (!*present)
        return TRUE; /* the other out-parameters are left alone, as documented */
    if (!acl || !defaulted)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    DWORD err = sd_read(sd, &p);
    if (err)
        return wi_fail_bool(err);
    *acl = (PACL)(present_bit == SE_DACL_PRESENT ? p.dacl : p.sacl);
    *defaulted = (control & defaulted_bit) != 0;
    return TRUE;
}

WINADVAPI BOOL WINAPI GetSecurityDescriptorDacl(PSECURITY_DESCRIPTOR pSecurityDescriptor, LPBOOL lpbDaclPresent,
                                                PACL *pDacl, LPBOOL lpbDaclDefaulted)
{
    return get_acl(pSecurityDescriptor, SE_DACL_PRESENT, SE_DACL_DEFAULTED, lpbDaclPresent, pDacl,
                   lpbDaclDefaulted);
}

WINADVAPI BOOL WINAPI GetSecurityDescriptorSacl(PSECURITY_DESCRIPTOR pSecurityDescriptor, LPBOOL lpbSaclPresent,
                                                PACL *pSacl, LPBOOL lpbSaclDefaulted)
{
    return get_acl(pSecurityDescriptor, SE_SACL_PRESENT, SE_SACL_DEFAULTED, lpbSaclPresent, pSacl,
                   lpbSaclDefaulted);
}

static BOOL get_sid_part(PSECURITY_DESCRIPTOR sd, bool owner, PSID *out, LPBOOL defaulted)
{
    struct sd_parts p;
    if (!sd || !out || !defaulted)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    DWORD err = sd_read(sd, &p);
    if (err)
        return wi_fail_bool(err);
    *out = (PSID)(owner ? p.owner : p.group);
    *defaulted = (p.control & (owner ? SE_OWNER_DEFAULTED : SE_GROUP_DEFAULTED)) != 0;
    return TRUE;
}

WINADVAPI BOOL WINAPI GetSecurityDescriptorOwner(PSECURITY_DESCRIPTOR pSecurityDescriptor, PSID *pOwner,
                                                 LPBOOL lpbOwnerDefaulted)
{
    return get_sid_part(pSecurityDescriptor, true, pOwner, lpbOwnerDefaulted);
}

WINADVAPI BOOL WINAPI GetSecurityDescriptorGroup(PSECURITY_DESCRIPTOR pSecurityDescriptor, PSID *pGroup,
                                                 LPBOOL lpbGroupDefaulted)
{
    return get_sid_part(pSecurityDescriptor, false, pGroup, lpbGroupDefaulted);
}

/* --- Win32 entry points: ACLs ------------------------------------------------------- */

WINADVAPI BOOL WINAPI InitializeAcl(PACL pAcl, DWORD nAclLength, DWORD dwAclRevision)
{
    BYTE *a = (BYTE *)pAcl;
    if (!a)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (nAclLength < ACL_HEADER)
        return wi_fail_bool(ERROR_INSUFFICIENT_BUFFER);
    if (dwAclRevision < MIN_ACL_REVISION || dwAclRevision > MAX_ACL_REVISION || nAclLength > 0xFFFF)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    /* The length must be DWORD-aligned; an odd one is rounded down so the
     * ACL never claims bytes past the caller's buffer. */
    a[0] = (BYTE)dwAclRevision;
    a[1] = 0;
    wr16(a + 2, (WORD)(nAclLength & ~3u));
    wr16(a + 4, 0);
    wr16(a + 6, 0);
    return TRUE;
}

WINADVAPI BOOL WINAPI IsValidAcl(PACL pAcl)
{
    return wi_acl_check(pAcl, NULL) == ERROR_SUCCESS;
}

WINADVAPI BOOL WINAPI AddAccessAllowedAce(PACL pAcl, DWORD dwAceRevision, DWORD AccessMask, PSID pSid)
{
    return wi_result_bool(add_ace(pAcl, dwAceRevision, ACCESS_ALLOWED_ACE_TYPE, 0, AccessMask, pSid));
}

WINADVAPI BOOL WINAPI AddAccessAllowedAceEx(PACL pAcl, DWORD dwAceRevision, DWORD AceFlags, DWORD AccessMask,
                                            PSID pSid)
{
    return wi_result_bool(add_ace(pAcl, dwAceRevision, ACCESS_ALLOWED_ACE_TYPE, AceFlags, AccessMask, pSid));
}

WINADVAPI BOOL WINAPI AddAccessDeniedAce(PACL pAcl, DWORD dwAceRevision, DWORD AccessMask, PSID pSid)
{
    return wi_result_bool(add_ace(pAcl, dwAceRevision, ACCESS_DENIED_ACE_TYPE, 0, AccessMask, pSid));
}

WINADVAPI BOOL WINAPI AddAccessDeniedAceEx(PACL pAcl, DWORD dwAceRevision, DWORD AceFlags, DWORD AccessMask,
                                           PSID pSid)
{
    return wi_result_bool(add_ace(pAcl, dwAceRevision, ACCESS_DENIED_ACE_TYPE, AceFlags, AccessMask, pSid));
}

WINADVAPI BOOL WINAPI GetAce(PACL pAcl, DWORD dwAceIndex, LPVOID *pAce)
{
    BYTE *a = (BYTE *)pAcl;
    if (!pAce)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (wi_acl_check(a, NULL))
        return wi_fail_bool(ERROR_INVALID_ACL);
    if (dwAceIndex >= rd16(a + 4))
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    DWORD off = ACL_HEADER;
    for (DWORD i = 0; i < dwAceIndex; i++)
        off += rd16(a + off + 2);
    *pAce = a + off;
    return TRUE;
}

WINADVAPI BOOL WINAPI GetAclInformation(PACL pAcl, LPVOID pAclInformation, DWORD nAclInformationLength,
                                        ACL_INFORMATION_CLASS dwAclInformationClass)
{
    const BYTE *a = (const BYTE *)pAcl;
    DWORD used;
    if (!pAclInformation)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (wi_acl_check(a, &used))
        return wi_fail_bool(ERROR_INVALID_ACL);
    if (dwAclInformationClass == AclRevisionInformation) {
        if (nAclInformationLength < sizeof(ACL_REVISION_INFORMATION))
            return wi_fail_bool(ERROR_INSUFFICIENT_BUFFER);
        ACL_REVISION_INFORMATION info = {a[0]};
        memcpy(pAclInformation, &info, sizeof info);
        return TRUE;
    }
    if (dwAclInformationClass == AclSizeInformation) {
        if (nAclInformationLength < sizeof(ACL_SIZE_INFORMATION))
            return wi_fail_bool(ERROR_INSUFFICIENT_BUFFER);
        ACL_SIZE_INFORMATION info = {rd16(a + 4), used, rd16(a + 2) - used};
        memcpy(pAclInformation, &info, sizeof info);
        return TRUE;
    }
    return wi_fail_bool(ERROR_INVALID_PARAMETER);
}

/* --- Win32 entry points: SIDs --------------------------------------------------------- */

WINADVAPI BOOL WINAPI AllocateAndInitializeSid(PSID_IDENTIFIER_AUTHORITY pIdentifierAuthority,
                                               BYTE nSubAuthorityCount, DWORD nSubAuthority0, DWORD nSubAuthority1,
                                               DWORD nSubAuthority2, DWORD nSubAuthority3, DWORD nSubAuthority4,
                                               DWORD nSubAuthority5, DWORD nSubAuthority6, DWORD nSubAuthority7,
                                               PSID *pSid)
{
    const DWORD sub[8] = {nSubAuthority0, nSubAuthority1, nSubAuthority2, nSubAuthority3,
                          nSubAuthority4, nSubAuthority5, nSubAuthority6, nSubAuthority7};
    if (!pIdentifierAuthority || !pSid)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (nSubAuthorityCount > 8)
        return wi_fail_bool(ERROR_INVALID_SID); /* only eight can be passed */
    BYTE *s = malloc(SID_HEADER + 4u * nSubAuthorityCount);
    if (!s)
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    s[0] = SID_REVISION;
    s[1] = nSubAuthorityCount;
    memcpy(s + 2, pIdentifierAuthority->Value, 6);
    for (BYTE i = 0; i < nSubAuthorityCount; i++)
        wr32(s + SID_HEADER + 4u * i, sub[i]);
    *pSid = s;
    return TRUE;
}

/* Returns NULL, as Windows does. Only for SIDs from AllocateAndInitializeSid. */
WINADVAPI PVOID WINAPI FreeSid(PSID pSid)
{
    free(pSid);
    return NULL;
}

WINADVAPI BOOL WINAPI InitializeSid(PSID Sid, PSID_IDENTIFIER_AUTHORITY pIdentifierAuthority, BYTE nSubAuthorityCount)
{
    BYTE *s = Sid;
    if (!s || !pIdentifierAuthority)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (nSubAuthorityCount > SID_MAX_SUB_AUTHORITIES)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    s[0] = SID_REVISION;
    s[1] = nSubAuthorityCount;
    memcpy(s + 2, pIdentifierAuthority->Value, 6);
    return TRUE; /* the sub-authorities are the caller's to fill (GetSidSubAuthority) */
}

WINADVAPI DWORD WINAPI GetSidLengthRequired(UCHAR nSubAuthorityCount)
{
    return SID_HEADER + 4u * nSubAuthorityCount;
}

/* Like Windows, no validation: the length the header claims. */
WINADVAPI DWORD WINAPI GetLengthSid(PSID pSid)
{
    if (!pSid) {
        wi_set_last_error(ERROR_INVALID_SID);
        return 0;
    }
    return wi_sid_length(pSid);
}

WINADVAPI BOOL WINAPI IsValidSid(PSID pSid)
{
    return wi_sid_valid(pSid);
}

WINADVAPI BOOL WINAPI EqualSid(PSID pSid1, PSID pSid2)
{
    if (!wi_sid_valid(pSid1) || !wi_sid_valid(pSid2))
        return wi_fail_bool(ERROR_INVALID_SID);
    if (sid_equal(pSid1, pSid2))
        return TRUE;
    /* Windows clears the last error when the SIDs merely differ. */
    return wi_fail_bool(ERROR_SUCCESS);
}

WINADVAPI BOOL WINAPI CopySid(DWORD nDestinationSidLength, PSID pDestinationSid, PSID pSourceSid)
{
    if (!wi_sid_valid(pSourceSid))
        return wi_fail_bool(ERROR_INVALID_SID);
    DWORD n = wi_sid_length(pSourceSid);
    if (!pDestinationSid || nDestinationSidLength < n)
        return wi_fail_bool(ERROR_INSUFFICIENT_BUFFER);
    memmove(pDestinationSid, pSourceSid, n);
    return TRUE;
}

WINADVAPI PSID_IDENTIFIER_AUTHORITY WINAPI GetSidIdentifierAuthority(PSID pSid)
{
    if (!wi_sid_valid(pSid)) {
        wi_set_last_error(ERROR_INVALID_SID);
        return NULL;
    }
    wi_set_last_error(ERROR_SUCCESS);
    return (PSID_IDENTIFIER_AUTHORITY)((BYTE *)pSid + 2);
}

WINADVAPI PUCHAR WINAPI GetSidSubAuthorityCount(PSID pSid)
{
    if (!wi_sid_valid(pSid)) {
        wi_set_last_error(ERROR_INVALID_SID);
        return NULL;
    }
    wi_set_last_error(ERROR_SUCCESS);
    return (PUCHAR)pSid + 1;
}

/* The caller may write through the result (after InitializeSid), so a
 * sub-authority index up to the count the header claims is accepted. */
WINADVAPI PDWORD WINAPI GetSidSubAuthority(PSID pSid, DWORD nSubAuthority)
{
    if (!wi_sid_valid(pSid) || nSubAuthority >= ((BYTE *)pSid)[1]) {
        wi_set_last_error(ERROR_INVALID_SID);
        return NULL;
    }
    wi_set_last_error(ERROR_SUCCESS);
    return (PDWORD)(void *)((BYTE *)pSid + SID_HEADER + 4u * nSubAuthority);
}

/* Build a well-known SID (domain-relative ones from DomainSid) into out;
 * *len gets its length. */
static DWORD build_well_known(WELL_KNOWN_SID_TYPE type, const BYTE *domain, BYTE *out, DWORD *len)
{
    if (wi_sid_well_known(type, out)) {
        *len = wi_sid_length(out);
        return ERROR_SUCCESS;
    }
    for (size_t i = 0; i < sizeof domain_relative / sizeof *domain_relative; i++) {
        if (domain_relative[i].type != type)
            continue;
        /* Without a domain Windows uses the computer's account domain,
         * which a Linux machine does not have. */
        if (!domain)
            return ERROR_NOT_SUPPORTED;
        if (!wi_sid_valid(domain) || domain[1] >= SID_MAX_SUB_AUTHORITIES)
            return ERROR_INVALID_PARAMETER;
        DWORD n = wi_sid_length(domain);
        memcpy(out, domain, n);
        out[1]++;
        wr32(out + n, domain_relative[i].rid);
        *len = n + 4;
        return ERROR_SUCCESS;
    }
    return ERROR_INVALID_PARAMETER; /* unknown, or one winipc does not build (WinLogonIdsSid, ...) */
}

WINADVAPI BOOL WINAPI CreateWellKnownSid(WELL_KNOWN_SID_TYPE WellKnownSidType, PSID DomainSid, PSID pSid,
                                         DWORD *cbSid)
{
    BYTE buf[SECURITY_MAX_SID_SIZE];
    DWORD len;
    if (!cbSid)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    DWORD err = build_well_known(WellKnownSidType, DomainSid, buf, &len);
    if (err)
        return wi_fail_bool(err);
    if (!pSid || *cbSid < len) {
        *cbSid = len;
        return wi_fail_bool(ERROR_INSUFFICIENT_BUFFER);
    }
    memcpy(pSid, buf, len);
    *cbSid = len;
    return TRUE;
}

WINADVAPI BOOL WINAPI IsWellKnownSid(PSID pSid, WELL_KNOWN_SID_TYPE WellKnownSidType)
{
    BYTE buf[SECURITY_MAX_SID_SIZE];
    return wi_sid_valid(pSid) && wi_sid_well_known(WellKnownSidType, buf) && sid_equal(pSid, buf);
}
