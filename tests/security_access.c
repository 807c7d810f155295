/* SPDX-License-Identifier: MIT */
/* Security descriptors and isolation of named objects between users.
 *
 * 1. The descriptor, ACL and SID functions: sizes, errors, round trips,
 *    SDDL.
 * 2. What a descriptor does to a named object: the mode of its file in the
 *    namespace directory (0600 owner only, 0666 every user), and the
 *    descriptors Linux cannot express failing with ERROR_NOT_SUPPORTED.
 * 3. As root: children that switch to the unprivileged user 65534 and try
 *    to open, signal, squat and take over root's objects and pipes. Skipped
 *    when not root.
 *
 * Parts 2 and 3 look at the namespace directory ($WINIPC_ROOT, set by
 * tests/run-test) and switch users with the C library; the rest is Win32. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setresuid */
#endif
#include "test.h"

#include <sddl.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534

/* --- part 1: descriptors, ACLs, SIDs ------------------------------------------------ */

static void check_layouts(void)
{
    T_EQ(sizeof(SECURITY_DESCRIPTOR), 40, "sizeof(SECURITY_DESCRIPTOR) (x64)");
    T_EQ(SECURITY_DESCRIPTOR_MIN_LENGTH, 40, "SECURITY_DESCRIPTOR_MIN_LENGTH");
    T_EQ(offsetof(SECURITY_DESCRIPTOR, Owner), 8, "SECURITY_DESCRIPTOR.Owner at 8");
    T_EQ(offsetof(SECURITY_DESCRIPTOR, Dacl), 32, "SECURITY_DESCRIPTOR.Dacl at 32");
    T_EQ(sizeof(SECURITY_DESCRIPTOR_RELATIVE), 20, "sizeof(SECURITY_DESCRIPTOR_RELATIVE)");
    T_EQ(sizeof(ACL), 8, "sizeof(ACL)");
    T_EQ(offsetof(ACL, AceCount), 4, "ACL.AceCount at 4");
    T_EQ(sizeof(ACE_HEADER), 4, "sizeof(ACE_HEADER)");
    T_EQ(sizeof(ACCESS_ALLOWED_ACE), 12, "sizeof(ACCESS_ALLOWED_ACE)");
    T_EQ(offsetof(ACCESS_DENIED_ACE, SidStart), 8, "ACCESS_DENIED_ACE.SidStart at 8");
    T_EQ(sizeof(SID), 12, "sizeof(SID)");
    T_EQ(sizeof(SID_IDENTIFIER_AUTHORITY), 6, "sizeof(SID_IDENTIFIER_AUTHORITY)");
    T_EQ(SECURITY_MAX_SID_SIZE, 68, "SECURITY_MAX_SID_SIZE");
    T_EQ(SE_DACL_PRESENT, 0x4, "SE_DACL_PRESENT");
    T_EQ(SE_SELF_RELATIVE, 0x8000, "SE_SELF_RELATIVE");
    T_EQ(ACL_REVISION, 2, "ACL_REVISION");
    T_EQ(WinBuiltinAdministratorsSid, 26, "WinBuiltinAdministratorsSid");
    T_EQ(WinCreatorOwnerRightsSid, 71, "WinCreatorOwnerRightsSid");
}

static void check_descriptor(void)
{
    SECURITY_DESCRIPTOR sd;
    BOOL present = 77, defaulted = 77;
    PACL acl = (PACL)T_POISON_HANDLE;
    SECURITY_DESCRIPTOR_CONTROL control = 0xFFFF;
    DWORD revision = T_POISON;

    T_ERR(InitializeSecurityDescriptor(&sd, 2), ERROR_UNKNOWN_REVISION, "InitializeSecurityDescriptor(revision 2)");
    memset(&sd, 0xAB, sizeof sd);
    T_OK(InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION), "InitializeSecurityDescriptor");
    T_EQ(sd.Revision, 1, "revision 1");
    T_EQ(sd.Control, 0, "no control bits");
    T_OK(!sd.Owner && !sd.Group && !sd.Sacl && !sd.Dacl, "no owner, group, SACL or DACL");
    T_OK(IsValidSecurityDescriptor(&sd), "IsValidSecurityDescriptor");
    T_OK(GetSecurityDescriptorControl(&sd, &control, &revision), "GetSecurityDescriptorControl");
    T_EQ(control, 0, "control 0");
    T_EQ(revision, 1, "revision 1 reported");
    T_EQ(GetSecurityDescriptorLength(&sd), 40, "GetSecurityDescriptorLength of an empty absolute descriptor");

    T_OK(GetSecurityDescriptorDacl(&sd, &present, &acl, &defaulted), "GetSecurityDescriptorDacl without a DACL");
    T_EQ(present, FALSE, "no DACL present");
    T_EQ((ULONG_PTR)acl, (ULONG_PTR)T_POISON_HANDLE, "pDacl left alone when absent");
    T_EQ(defaulted, 77, "defaulted left alone when absent");

    /* A NULL DACL: present, no ACL. */
    T_OK(SetSecurityDescriptorDacl(&sd, TRUE, NULL, FALSE), "SetSecurityDescriptorDacl(NULL DACL)");
    T_EQ(sd.Control, SE_DACL_PRESENT, "SE_DACL_PRESENT set");
    present = defaulted = 77;
    acl = (PACL)T_POISON_HANDLE;
    T_OK(GetSecurityDescriptorDacl(&sd, &present, &acl, &defaulted), "GetSecurityDescriptorDacl(NULL DACL)");
    T_EQ(present, TRUE, "NULL DACL present");
    T_OK(acl == NULL, "NULL DACL round trip");
    T_EQ(defaulted, FALSE, "not defaulted");
    T_OK(IsValidSecurityDescriptor(&sd), "a NULL DACL is valid");

    T_OK(SetSecurityDescriptorDacl(&sd, TRUE, NULL, TRUE), "SetSecurityDescriptorDacl(defaulted)");
    T_EQ(sd.Control, SE_DACL_PRESENT | SE_DACL_DEFAULTED, "SE_DACL_DEFAULTED set");
    T_OK(GetSecurityDescriptorDacl(&sd, &present, &acl, &defaulted) && defaulted == TRUE, "defaulted reported");
    T_OK(SetSecurityDescriptorDacl(&sd, FALSE, NULL, FALSE), "SetSecurityDescriptorDacl(not present)");
    T_OK(GetSecurityDescriptorDacl(&sd, &present, &acl, &defaulted) && present == FALSE, "DACL gone");

    sd.Revision = 3;
    T_ERR(SetSecurityDescriptorDacl(&sd, TRUE, NULL, FALSE), ERROR_UNKNOWN_REVISION, "SetSecurityDescriptorDacl on revision 3");
    T_ERR(GetSecurityDescriptorDacl(&sd, &present, &acl, &defaulted), ERROR_UNKNOWN_REVISION,
          "GetSecurityDescriptorDacl on revision 3");
    T_OK(!IsValidSecurityDescriptor(&sd), "revision 3 is not valid");
    sd.Revision = 1;

    /* A DACL whose ACL is malformed makes the descriptor invalid. */
    BYTE bad[16] = {0};
    T_OK(SetSecurityDescriptorDacl(&sd, TRUE, (PACL)bad, FALSE), "SetSecurityDescriptorDacl(garbage ACL) is not checked");
    T_OK(!IsValidSecurityDescriptor(&sd), "but the descriptor is not valid");
}

static void check_sids(void)
{
    BYTE world[SECURITY_MAX_SID_SIZE], admins[SECURITY_MAX_SID_SIZE];
    DWORD cb = 0;
    char *str = NULL;
    PSID sid = NULL;

    T_ERR(CreateWellKnownSid(WinWorldSid, NULL, NULL, &cb), ERROR_INSUFFICIENT_BUFFER,
          "CreateWellKnownSid without a buffer");
    T_EQ(cb, 12, "WinWorldSid needs 12 bytes");
    cb = 11;
    T_ERR(CreateWellKnownSid(WinWorldSid, NULL, world, &cb), ERROR_INSUFFICIENT_BUFFER, "11 bytes are too few");
    T_EQ(cb, 12, "and the size is reported again");
    cb = sizeof world;
    T_OK(CreateWellKnownSid(WinWorldSid, NULL, world, &cb), "CreateWellKnownSid(WinWorldSid)");
    T_EQ(cb, 12, "12 bytes used");
    T_OK(IsValidSid(world), "valid");
    T_EQ(GetLengthSid(world), 12, "GetLengthSid");
    T_OK(ConvertSidToStringSidA(world, &str), "ConvertSidToStringSidA");
    T_STR(str, "S-1-1-0", "Everyone is S-1-1-0");
    T_OK(LocalFree(str) == NULL, "LocalFree frees the string");

    static const struct {
        WELL_KNOWN_SID_TYPE type;
        const char *text;
    } known[] = {
        {WinCreatorOwnerSid, "S-1-3-0"},        {WinCreatorOwnerRightsSid, "S-1-3-4"},
        {WinLocalSystemSid, "S-1-5-18"},        {WinBuiltinAdministratorsSid, "S-1-5-32-544"},
        {WinAuthenticatedUserSid, "S-1-5-11"},  {WinBuiltinUsersSid, "S-1-5-32-545"},
        {WinLowLabelSid, "S-1-16-4096"},        {WinNtAuthoritySid, "S-1-5"},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        BYTE buf[SECURITY_MAX_SID_SIZE];
        char name[96];
        cb = sizeof buf;
        str = NULL;
        snprintf(name, sizeof name, "CreateWellKnownSid gives %s", known[i].text);
        T_OK(CreateWellKnownSid(known[i].type, NULL, buf, &cb) && ConvertSidToStringSidA(buf, &str) && str &&
                 strcmp(str, known[i].text) == 0,
             name);
        LocalFree(str);
    }
    cb = sizeof admins;
    T_OK(CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &cb), "Administrators");
    T_EQ(cb, 16, "16 bytes");
    T_ERR(CreateWellKnownSid((WELL_KNOWN_SID_TYPE)200, NULL, admins, &cb), ERROR_INVALID_PARAMETER,
          "an unknown type: ERROR_INVALID_PARAMETER");
    T_ERR(CreateWellKnownSid(WinAccountAdministratorSid, NULL, admins, &cb), ERROR_NOT_SUPPORTED,
          "an account-domain SID without a domain: ERROR_NOT_SUPPORTED");
    T_ERR(CreateWellKnownSid(WinWorldSid, NULL, admins, NULL), ERROR_INVALID_PARAMETER, "NULL cbSid");
    T_OK(IsWellKnownSid(admins, WinBuiltinAdministratorsSid), "IsWellKnownSid");
    T_OK(!IsWellKnownSid(admins, WinWorldSid), "IsWellKnownSid for another type");

    SID_IDENTIFIER_AUTHORITY world_auth = {SECURITY_WORLD_SID_AUTHORITY};
    SID_IDENTIFIER_AUTHORITY nt_auth = {SECURITY_NT_AUTHORITY};
    T_OK(AllocateAndInitializeSid(&world_auth, 1, SECURITY_WORLD_RID, 0, 0, 0, 0, 0, 0, 0, &sid),
         "AllocateAndInitializeSid(Everyone)");
    T_OK(EqualSid(sid, world), "equal to the well-known one");
    SetLastError(T_POISON);
    T_OK(!EqualSid(sid, admins), "not equal to Administrators");
    T_EQ(GetLastError(), ERROR_SUCCESS, "EqualSid clears the last error when the SIDs differ");
    T_OK(FreeSid(sid) == NULL, "FreeSid returns NULL");
    sid = NULL;
    T_OK(AllocateAndInitializeSid(&nt_auth, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS, 0, 0, 0, 0, 0,
                                  0, &sid),
         "AllocateAndInitializeSid(Administrators)");
    T_OK(EqualSid(sid, admins), "same as CreateWellKnownSid's");
    T_EQ(*GetSidSubAuthorityCount(sid), 2, "GetSidSubAuthorityCount");
    T_EQ(*GetSidSubAuthority(sid, 1), 544, "GetSidSubAuthority");
    T_EQ(GetSidIdentifierAuthority(sid)->Value[5], 5, "GetSidIdentifierAuthority");
    FreeSid(sid);
    T_ERR(AllocateAndInitializeSid(&nt_auth, 9, 0, 0, 0, 0, 0, 0, 0, 0, &sid), ERROR_INVALID_SID,
          "nine sub-authorities: ERROR_INVALID_SID");

    BYTE copy[16];
    T_ERR(CopySid(15, copy, admins), ERROR_INSUFFICIENT_BUFFER, "CopySid into 15 bytes");
    T_OK(CopySid(16, copy, admins) && EqualSid(copy, admins), "CopySid");
    T_EQ(GetSidLengthRequired(2), 16, "GetSidLengthRequired(2)");

    T_OK(!IsValidSid(NULL), "IsValidSid(NULL)");
    BYTE broken[12] = {2, 1};
    T_OK(!IsValidSid(broken), "revision 2 SID is not valid");
    broken[0] = 1;
    broken[1] = 16;
    T_OK(!IsValidSid(broken), "16 sub-authorities are too many");

    T_OK(ConvertStringSidToSidA("S-1-5-32-544", &sid), "ConvertStringSidToSidA");
    T_OK(sid && EqualSid(sid, admins), "gives Administrators");
    LocalFree(sid);
    T_OK(ConvertStringSidToSidA("BA", &sid) && EqualSid(sid, admins), "ConvertStringSidToSidA(\"BA\")");
    LocalFree(sid);
    T_ERR(ConvertStringSidToSidA("S-1-5-x", &sid), ERROR_INVALID_SID, "a malformed SID string");
    T_ERR(ConvertStringSidToSidA("S-2-5", &sid), ERROR_INVALID_SID, "revision 2");
}

static void check_acls(void)
{
    BYTE world[SECURITY_MAX_SID_SIZE], admins[SECURITY_MAX_SID_SIZE];
    DWORD cb = sizeof world;
    CreateWellKnownSid(WinWorldSid, NULL, world, &cb);
    cb = sizeof admins;
    CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &cb);

    union {
        ACL acl;
        BYTE bytes[64];
    } u;
    PACL acl = &u.acl;
    T_ERR(InitializeAcl(acl, 4, ACL_REVISION), ERROR_INSUFFICIENT_BUFFER, "InitializeAcl(4 bytes)");
    T_ERR(InitializeAcl(acl, sizeof u, 99), ERROR_INVALID_PARAMETER, "InitializeAcl(revision 99)");
    T_ERR(InitializeAcl(acl, 0x10000, ACL_REVISION), ERROR_INVALID_PARAMETER, "InitializeAcl(64 KiB)");

    /* Room for exactly one ACE for Everyone. */
    DWORD size = sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) - sizeof(DWORD) + GetLengthSid(world);
    T_EQ(size, 28, "an ACL with one Everyone ACE is 28 bytes");
    memset(&u, 0xCD, sizeof u);
    T_OK(InitializeAcl(acl, size, ACL_REVISION), "InitializeAcl");
    T_EQ(acl->AclRevision, ACL_REVISION, "AclRevision");
    T_EQ(acl->AclSize, size, "AclSize");
    T_EQ(acl->AceCount, 0, "no ACEs");
    T_OK(IsValidAcl(acl), "IsValidAcl(empty)");
    T_OK(AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, world), "AddAccessAllowedAce(Everyone)");
    T_EQ(acl->AceCount, 1, "one ACE");
    T_ERR(AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_READ, world), ERROR_ALLOTTED_SPACE_EXCEEDED,
          "a full ACL: ERROR_ALLOTTED_SPACE_EXCEEDED");
    T_EQ(acl->AceCount, 1, "still one ACE");

    ACCESS_ALLOWED_ACE *ace = NULL;
    T_OK(GetAce(acl, 0, (LPVOID *)&ace), "GetAce(0)");
    T_OK(ace && ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE && ace->Header.AceFlags == 0 &&
             ace->Header.AceSize == 20 && ace->Mask == GENERIC_ALL && EqualSid(&ace->SidStart, world),
         "the ACE as added");
    T_ERR(GetAce(acl, 1, (LPVOID *)&ace), ERROR_INVALID_PARAMETER, "GetAce past the end");

    ACL_SIZE_INFORMATION info;
    T_OK(GetAclInformation(acl, &info, sizeof info, AclSizeInformation), "GetAclInformation(size)");
    T_OK(info.AceCount == 1 && info.AclBytesInUse == 28 && info.AclBytesFree == 0, "1 ACE, 28 bytes, none free");
    T_ERR(GetAclInformation(acl, &info, 4, AclSizeInformation), ERROR_INSUFFICIENT_BUFFER, "too small");

    T_OK(InitializeAcl(acl, sizeof u, ACL_REVISION), "a bigger ACL");
    T_OK(AddAccessDeniedAce(acl, ACL_REVISION, WRITE_DAC, admins), "AddAccessDeniedAce");
    T_OK(AddAccessAllowedAceEx(acl, ACL_REVISION, CONTAINER_INHERIT_ACE | OBJECT_INHERIT_ACE, GENERIC_READ, world),
         "AddAccessAllowedAceEx(OI|CI)");
    T_OK(GetAce(acl, 1, (LPVOID *)&ace) && ace->Header.AceFlags == 3 && ace->Mask == GENERIC_READ,
         "second ACE after the first");
    T_OK(GetAce(acl, 0, (LPVOID *)&ace) && ace->Header.AceType == ACCESS_DENIED_ACE_TYPE, "first is the deny");
    T_ERR(AddAccessAllowedAceEx(acl, ACL_REVISION, SUCCESSFUL_ACCESS_ACE_FLAG, GENERIC_READ, world),
          ERROR_INVALID_FLAGS, "audit flags on an allow ACE: ERROR_INVALID_FLAGS");
    BYTE broken[12] = {7, 1};
    T_ERR(AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_READ, broken), ERROR_INVALID_SID, "an invalid SID");
    T_ERR(AddAccessAllowedAce(acl, 9, GENERIC_READ, world), ERROR_REVISION_MISMATCH, "ACE revision 9");
    acl->AclRevision = 0;
    T_OK(!IsValidAcl(acl), "ACL revision 0 is not valid");
    T_ERR(AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_READ, world), ERROR_INVALID_ACL, "adding to it: ERROR_INVALID_ACL");
}

static void check_sddl(void)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    ULONG size = T_POISON;
    BOOL present = FALSE, defaulted = TRUE;
    PACL acl = NULL;
    ACCESS_ALLOWED_ACE *ace;
    BYTE world[SECURITY_MAX_SID_SIZE];
    DWORD cb = sizeof world;
    CreateWellKnownSid(WinWorldSid, NULL, world, &cb);

    T_OK(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;GA;;;WD)", SDDL_REVISION_1, &sd, &size),
         "SDDL D:(A;;GA;;;WD)");
    T_EQ(size, 20 + 8 + 20, "self-relative: header, ACL, one ACE");
    T_OK(IsValidSecurityDescriptor(sd), "valid");
    T_EQ(GetSecurityDescriptorLength(sd), size, "GetSecurityDescriptorLength agrees");
    T_EQ(((SECURITY_DESCRIPTOR_RELATIVE *)sd)->Control, SE_SELF_RELATIVE | SE_DACL_PRESENT, "control bits");
    T_OK(GetSecurityDescriptorDacl(sd, &present, &acl, &defaulted) && present && acl && !defaulted, "DACL present");
    T_OK(acl->AceCount == 1 && GetAce(acl, 0, (LPVOID *)&ace) && ace->Mask == GENERIC_ALL &&
             ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE && EqualSid(&ace->SidStart, world),
         "one ACE: allow Everyone GENERIC_ALL");
    T_ERR(SetSecurityDescriptorDacl(sd, TRUE, NULL, FALSE), ERROR_INVALID_SECURITY_DESCR,
          "SetSecurityDescriptorDacl on a self-relative descriptor");
    T_OK(LocalFree(sd) == NULL, "LocalFree frees the descriptor");

    T_OK(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)",
                                                              SDDL_REVISION_1, &sd, NULL),
         "SDDL D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)");
    T_OK(GetSecurityDescriptorDacl(sd, &present, &acl, &defaulted) && acl && acl->AceCount == 3, "three ACEs");
    T_OK(((SECURITY_DESCRIPTOR_RELATIVE *)sd)->Control & SE_DACL_PROTECTED, "P: SE_DACL_PROTECTED");
    LocalFree(sd);

    T_OK(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;OICI;GRGW;;;AU)", SDDL_REVISION_1, &sd, NULL),
         "SDDL D:(A;OICI;GRGW;;;AU)");
    T_OK(GetSecurityDescriptorDacl(sd, &present, &acl, &defaulted) && acl && GetAce(acl, 0, (LPVOID *)&ace) &&
             ace->Mask == (GENERIC_READ | GENERIC_WRITE) &&
             ace->Header.AceFlags == (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE),
         "GRGW with OI|CI");
    LocalFree(sd);

    T_OK(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:NO_ACCESS_CONTROL", SDDL_REVISION_1, &sd, NULL),
         "SDDL D:NO_ACCESS_CONTROL");
    acl = (PACL)T_POISON_HANDLE;
    T_OK(GetSecurityDescriptorDacl(sd, &present, &acl, &defaulted) && present && acl == NULL, "a NULL DACL");
    LocalFree(sd);

    T_OK(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;0x1f0003;;;S-1-1-0)S:(ML;;NW;;;LW)",
                                                              SDDL_REVISION_1, &sd, NULL),
         "SDDL with a hexadecimal mask, a SID string and a low label");
    T_OK(GetSecurityDescriptorDacl(sd, &present, &acl, &defaulted) && acl && GetAce(acl, 0, (LPVOID *)&ace) &&
             ace->Mask == EVENT_ALL_ACCESS && EqualSid(&ace->SidStart, world),
         "0x1f0003 for S-1-1-0");
    T_OK(GetSecurityDescriptorSacl(sd, &present, &acl, &defaulted) && present && acl && GetAce(acl, 0, (LPVOID *)&ace) &&
             ace->Header.AceType == SYSTEM_MANDATORY_LABEL_ACE_TYPE && ace->Mask == SYSTEM_MANDATORY_LABEL_NO_WRITE_UP,
         "the label in the SACL");
    LocalFree(sd);

    T_OK(ConvertStringSecurityDescriptorToSecurityDescriptorW(L"O:BAG:SYD:(D;;WD;;;WD)", SDDL_REVISION_1, &sd, NULL),
         "ConvertStringSecurityDescriptorToSecurityDescriptorW with owner and group");
    PSID owner = NULL;
    T_OK(GetSecurityDescriptorOwner(sd, &owner, &defaulted) && owner && IsWellKnownSid(owner, WinBuiltinAdministratorsSid),
         "owner BA");
    LocalFree(sd);

    sd = T_POISON_HANDLE;
    T_ERR(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;GA;;;WD)", 2, &sd, NULL), ERROR_UNKNOWN_REVISION,
          "SDDL revision 2");
    T_ERR(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(Q;;GA;;;WD)", SDDL_REVISION_1, &sd, NULL),
          ERROR_INVALID_PARAMETER, "an unknown ACE type");
    T_ERR(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;GA;;;WD", SDDL_REVISION_1, &sd, NULL),
          ERROR_INVALID_PARAMETER, "an unterminated ACE");
    T_ERR(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;GA;;;WD)D:(A;;GA;;;WD)", SDDL_REVISION_1, &sd,
                                                               NULL),
          ERROR_INVALID_PARAMETER, "two DACLs");
    T_ERR(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(OA;;GA;;;WD)", SDDL_REVISION_1, &sd, NULL),
          ERROR_NOT_SUPPORTED, "object ACEs: ERROR_NOT_SUPPORTED");
    T_ERR(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;GA;;;DA)", SDDL_REVISION_1, &sd, NULL),
          ERROR_NONE_MAPPED, "Domain Admins outside a domain: ERROR_NONE_MAPPED");
    T_ERR(ConvertStringSecurityDescriptorToSecurityDescriptorA(NULL, SDDL_REVISION_1, &sd, NULL),
          ERROR_INVALID_PARAMETER, "NULL string");
    T_EQ((ULONG_PTR)sd, (ULONG_PTR)T_POISON_HANDLE, "failures leave the output alone");
}

/* --- part 2: descriptors on named objects ------------------------------------------ */

static char root_dir[4096];

/* Mode bits of a named object's file, or -1. Kernel-object names of
 * upper-case letters, digits and '-' are stored as they are. */
static int object_mode(const char *dir, const char *file)
{
    char path[8192];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/%s", root_dir, dir, file);
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* Create the Global event `name` with the SDDL descriptor (NULL: no
 * security attributes; "": a descriptor without DACL). Returns the handle,
 * or NULL with the last error. */
static HANDLE event_with(const char *sddl, const char *name)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
    SECURITY_DESCRIPTOR abs;
    PSECURITY_DESCRIPTOR sd = NULL;
    char full[128];
    snprintf(full, sizeof full, "Global\\%s", name);
    if (!sddl)
        return CreateEventA(NULL, FALSE, FALSE, full);
    if (!*sddl) {
        InitializeSecurityDescriptor(&abs, SECURITY_DESCRIPTOR_REVISION);
        sa.lpSecurityDescriptor = &abs;
        return CreateEventA(&sa, FALSE, FALSE, full);
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL))
        return NULL;
    sa.lpSecurityDescriptor = sd;
    HANDLE h = CreateEventA(&sa, FALSE, FALSE, full);
    DWORD err = GetLastError();
    LocalFree(sd);
    SetLastError(err);
    return h;
}

static void check_event_mode(const char *sddl, const char *name, int mode, const char *what)
{
    char label[256];
    HANDLE h = event_with(sddl, name);
    snprintf(label, sizeof label, "%s: created", what);
    T_OK(h != NULL, label);
    snprintf(label, sizeof label, "%s: mode %04o", what, mode);
    T_EQ(object_mode("global", name), mode, label);
    CloseHandle(h);
}

static void check_event_refused(const char *sddl, DWORD err, const char *what)
{
    HANDLE h = event_with(sddl, "SEC-REFUSED");
    T_ERR(h != NULL, err, what);
    if (h)
        CloseHandle(h);
    T_EQ(object_mode("global", "SEC-REFUSED"), -1, "and no object file is left");
}

static void check_object_modes(void)
{
    check_event_mode(NULL, "SEC-M1", 0600, "no security attributes");
    check_event_mode("", "SEC-M2", 0600, "a descriptor without DACL");
    check_event_mode("D:NO_ACCESS_CONTROL", "SEC-M3", 0666, "a NULL DACL");
    check_event_mode("D:(A;;GA;;;WD)", "SEC-M4", 0666, "Everyone: GENERIC_ALL");
    check_event_mode("D:(A;OICI;GRGW;;;AU)", "SEC-M5", 0666, "Authenticated Users: GENERIC_READ|GENERIC_WRITE");
    check_event_mode("D:(A;;0x100002;;;WD)", "SEC-M6", 0666, "Everyone: SYNCHRONIZE|EVENT_MODIFY_STATE");
    check_event_mode("D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)", "SEC-M7", 0600, "SYSTEM, Administrators, owner");
    check_event_mode("D:", "SEC-M8", 0600, "an empty DACL");
    check_event_mode("D:(D;;GA;;;WD)", "SEC-M9", 0600, "Everyone denied everything");
    check_event_mode("D:(A;;GA;;;WD)(D;;GA;;;WD)", "SEC-M10", 0666, "a deny after the grant changes nothing");
    check_event_mode("D:(A;;RC;;;WD)", "SEC-M11", 0600, "Everyone: READ_CONTROL only");
    check_event_mode("D:(A;IO;GA;;;S-1-5-21-1-2-3-1001)", "SEC-M12", 0600, "an inherit-only ACE does not apply");
    check_event_mode("D:(A;;GA;;;WD)S:(ML;;NW;;;LW)", "SEC-M13", 0666, "a low integrity label");

    check_event_refused("D:(A;;0x100000;;;WD)", ERROR_NOT_SUPPORTED, "Everyone: SYNCHRONIZE only (wait, not set)");
    check_event_refused("D:(D;;GW;;;WD)(A;;GA;;;WD)", ERROR_NOT_SUPPORTED, "Everyone: all but write");
    check_event_refused("D:(A;;GA;;;S-1-5-21-1-2-3-1001)", ERROR_NOT_SUPPORTED, "a user SID");
    check_event_refused("D:(A;;GA;;;BU)", ERROR_NOT_SUPPORTED, "the Users group");
    check_event_refused("O:BAD:(A;;GA;;;WD)", ERROR_NOT_SUPPORTED, "an owner");
    check_event_refused("D:(A;;GA;;;WD)S:(ML;;NW;;;HI)", ERROR_NOT_SUPPORTED, "a high integrity label");

    /* A malformed descriptor fails as Windows' object creation does. */
    SECURITY_DESCRIPTOR sd;
    SECURITY_ATTRIBUTES sa = {sizeof sa, &sd, FALSE};
    InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    sd.Revision = 2;
    T_ERR(CreateEventA(&sa, FALSE, FALSE, "Global\\SEC-BAD"), ERROR_UNKNOWN_REVISION, "descriptor revision 2");
    sd.Revision = 1;
    BYTE bad[8] = {0};
    SetSecurityDescriptorDacl(&sd, TRUE, (PACL)bad, FALSE);
    T_ERR(CreateEventA(&sa, FALSE, FALSE, "Global\\SEC-BAD"), ERROR_INVALID_ACL, "a malformed ACL");
    T_ERR(CreateEventA(&sa, FALSE, FALSE, NULL), ERROR_INVALID_ACL, "also for an unnamed event");

    /* The type's generic mapping decides: GENERIC_READ|GENERIC_WRITE
     * gives no SYNCHRONIZE on a mutex, so others could not use it. */
    PSECURITY_DESCRIPTOR psd = NULL;
    ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;GRGW;;;WD)", SDDL_REVISION_1, &psd, NULL);
    sa.lpSecurityDescriptor = psd;
    T_ERR(CreateMutexA(&sa, FALSE, "Global\\SEC-MUTEX"), ERROR_NOT_SUPPORTED, "mutex: GENERIC_READ|GENERIC_WRITE");
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 4096, "Global\\SEC-MAP");
    T_OK(h != NULL, "mapping: GENERIC_READ|GENERIC_WRITE is enough");
    T_EQ(object_mode("global", "SEC-MAP"), 0666, "mapping file 0666");
    CloseHandle(h);
    LocalFree(psd);
    ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;GX;;;WD)", SDDL_REVISION_1, &psd, NULL);
    sa.lpSecurityDescriptor = psd;
    h = CreateMutexA(&sa, FALSE, "Global\\SEC-MUTEX");
    T_OK(h != NULL, "mutex: GENERIC_EXECUTE (SYNCHRONIZE) is enough");
    T_EQ(object_mode("global", "SEC-MUTEX"), 0666, "mutex file 0666");
    CloseHandle(h);
    LocalFree(psd);
}

/* --- part 3: another user ------------------------------------------------------------ */

static int child_checks, child_failures;

static int child_result(void)
{
    printf("# child (uid %u): %d of %d checks passed\n", (unsigned)getuid(), child_checks - child_failures,
           child_checks);
    return child_failures;
}

#define C_CHECK(cond, what)                                                                           \
    do {                                                                                              \
        child_checks++;                                                                               \
        if (!(cond)) {                                                                                \
            printf("# child (uid %u): %s failed (GetLastError() = %lu, errno = %d)\n", (unsigned)getuid(), \
                   (what), (unsigned long)GetLastError(), errno);                                     \
            child_failures++;                                                                         \
        }                                                                                             \
    } while (0)

static int become_nobody(void)
{
    if (setgroups(0, NULL) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 || setresuid(NOBODY, NOBODY, NOBODY) != 0) {
        printf("# child: cannot switch to uid %d: errno %d\n", NOBODY, errno);
        return -1;
    }
    return 0;
}

static int child_nobody(void)
{
    char path[8192];
    HANDLE h;
    DWORD written;

    if (become_nobody())
        return 100;

    /* Root's Local names live in root's per-user directory, which nobody
     * can look into: for this user the name does not exist, as a name of
     * another session on Windows. */
    SetLastError(0);
    h = OpenEventA(SYNCHRONIZE, FALSE, "Local\\SEC-LOCAL");
    C_CHECK(!h && GetLastError() == ERROR_FILE_NOT_FOUND, "OpenEvent(root's Local name) -> ERROR_FILE_NOT_FOUND");
    h = OpenEventA(SYNCHRONIZE, FALSE, "SEC-LOCAL");
    C_CHECK(!h && GetLastError() == ERROR_FILE_NOT_FOUND, "OpenEvent(root's unprefixed name) -> ERROR_FILE_NOT_FOUND");

    /* A default Global object: visible, but not for us. */
    h = OpenEventA(SYNCHRONIZE, FALSE, "Global\\SEC-PRIVATE");
    C_CHECK(!h && GetLastError() == ERROR_ACCESS_DENIED, "OpenEvent(default Global event) -> ERROR_ACCESS_DENIED");
    h = OpenEventA(EVENT_MODIFY_STATE, FALSE, "Global\\SEC-PRIVATE");
    C_CHECK(!h && GetLastError() == ERROR_ACCESS_DENIED, "OpenEvent(EVENT_MODIFY_STATE) -> ERROR_ACCESS_DENIED");
    h = CreateEventA(NULL, FALSE, FALSE, "Global\\SEC-PRIVATE");
    C_CHECK(!h && GetLastError() == ERROR_ACCESS_DENIED, "CreateEvent(root's Global name) -> ERROR_ACCESS_DENIED");
    h = CreateMutexA(NULL, FALSE, "Global\\SEC-PRIVATE");
    C_CHECK(!h && GetLastError() == ERROR_ACCESS_DENIED, "CreateMutex(root's Global name) -> ERROR_ACCESS_DENIED");

    /* Nor through the file system: no reading, no deleting, no replacing. */
    snprintf(path, sizeof path, "%s/global/SEC-PRIVATE", root_dir);
    errno = 0;
    C_CHECK(open(path, O_RDONLY) < 0 && errno == EACCES, "open(2) of the object file -> EACCES");
    errno = 0;
    C_CHECK(unlink(path) != 0 && (errno == EPERM || errno == EACCES), "unlink(2) of the object file (sticky directory)");
    char mine[8192];
    snprintf(mine, sizeof mine, "%s/global/SEC-MINE-TMP", root_dir);
    int fd = open(mine, O_CREAT | O_WRONLY | O_EXCL, 0600);
    C_CHECK(fd >= 0, "create a file of our own in global/");
    if (fd >= 0)
        close(fd);
    errno = 0;
    C_CHECK(rename(mine, path) != 0 && (errno == EPERM || errno == EACCES), "rename(2) over the object file");
    unlink(mine);
    snprintf(path, sizeof path, "%s/global/.lock", root_dir);
    errno = 0;
    C_CHECK(open(path, O_WRONLY) < 0 && errno == EACCES, "the namespace lock file is not writable");

    /* A NULL-DACL Global event: open it and wake root. */
    h = OpenEventA(EVENT_MODIFY_STATE, FALSE, "Global\\SEC-OPEN");
    C_CHECK(h != NULL, "OpenEvent(NULL-DACL Global event)");
    C_CHECK(h && SetEvent(h), "SetEvent on it");
    if (h)
        CloseHandle(h);

    /* A stale name of root's (nobody holds it): private, so we cannot
     * take it over; world-accessible, so we can when we ask for the same. */
    h = CreateEventA(NULL, FALSE, FALSE, "Global\\SEC-STALE-PRIVATE");
    C_CHECK(!h && GetLastError() == ERROR_ACCESS_DENIED, "CreateEvent over root's private stale file");
    h = CreateEventA(NULL, FALSE, FALSE, "Global\\SEC-STALE-OPEN");
    C_CHECK(!h && GetLastError() == ERROR_ACCESS_DENIED,
            "CreateEvent(default) over root's world-writable stale file: cannot be made private");
    {
        SECURITY_DESCRIPTOR sd;
        SECURITY_ATTRIBUTES sa = {sizeof sa, &sd, FALSE};
        InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
        SetSecurityDescriptorDacl(&sd, TRUE, NULL, FALSE);
        h = CreateEventA(&sa, FALSE, FALSE, "Global\\SEC-STALE-OPEN");
        C_CHECK(h != NULL && GetLastError() == ERROR_SUCCESS, "CreateEvent(NULL DACL) takes the stale name over");
        if (h)
            CloseHandle(h);
    }
    /* And leave a stale file of our own for root to take over. */
    snprintf(path, sizeof path, "%s/global/SEC-STALE-NOBODY", root_dir);
    fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0666);
    C_CHECK(fd >= 0 && fchmod(fd, 0666) == 0, "plant a stale world-writable file");
    if (fd >= 0)
        close(fd);

    /* Pipes: a default one refuses us, a NULL-DACL one lets us in. */
    h = CreateFileA("\\\\.\\pipe\\sec-private", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    C_CHECK(h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_ACCESS_DENIED,
            "CreateFile(default pipe) -> ERROR_ACCESS_DENIED");
    h = CreateNamedPipeA("\\\\.\\pipe\\sec-private", PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, PIPE_UNLIMITED_INSTANCES, 512,
                         512, 0, NULL);
    C_CHECK(h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_ACCESS_DENIED,
            "CreateNamedPipe(another instance of root's pipe) -> ERROR_ACCESS_DENIED");
    h = CreateFileA("\\\\.\\pipe\\sec-open", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    C_CHECK(h != INVALID_HANDLE_VALUE, "CreateFile(NULL-DACL pipe)");
    if (h != INVALID_HANDLE_VALUE) {
        C_CHECK(WriteFile(h, "hi", 2, &written, NULL) && written == 2, "WriteFile on it");
        /* Stay connected until root has read the message. */
        HANDLE ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, "Global\\SEC-PIPE-READY");
        HANDLE done = OpenEventA(SYNCHRONIZE, FALSE, "Global\\SEC-PIPE-DONE");
        C_CHECK(ready && done, "open the NULL-DACL events of the pipe hand-over");
        if (ready && done) {
            SetEvent(ready);
            C_CHECK(WaitForSingleObject(done, 20000) == WAIT_OBJECT_0, "root read the message");
        }
        if (ready)
            CloseHandle(ready);
        if (done)
            CloseHandle(done);
        CloseHandle(h);
    }

    /* Our own Local namespace works. */
    h = CreateEventA(NULL, TRUE, FALSE, "Local\\SEC-MINE");
    C_CHECK(h != NULL && GetLastError() == ERROR_SUCCESS, "CreateEvent(Local) of our own");
    if (h)
        CloseHandle(h);
    return child_result();
}

/* Root has planted a directory where this user's Local names belong. */
static int child_squatted(void)
{
    if (become_nobody())
        return 100;
    HANDLE h = CreateEventA(NULL, FALSE, FALSE, "Local\\SEC-SQUAT");
    C_CHECK(!h && GetLastError() == ERROR_ACCESS_DENIED, "CreateEvent(Local) in a planted directory -> ERROR_ACCESS_DENIED");
    h = OpenEventA(SYNCHRONIZE, FALSE, "Local\\SEC-SQUAT");
    C_CHECK(!h && GetLastError() == ERROR_ACCESS_DENIED, "OpenEvent(Local) in a planted directory -> ERROR_ACCESS_DENIED");
    return child_result();
}

static HANDLE pipe_with(const char *name, SECURITY_ATTRIBUTES *sa)
{
    return CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_WAIT, 1, 512, 512, 0, sa);
}

static void remove_dir(const char *dir)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s/.lock", root_dir, dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s", root_dir, dir);
    rmdir(path);
}

static void check_other_user(void)
{
    PROCESS_INFORMATION pi;
    SECURITY_DESCRIPTOR open_sd;
    SECURITY_ATTRIBUTES open_sa = {sizeof open_sa, &open_sd, FALSE};
    char path[8192];
    struct stat st;
    DWORD code;

    if (geteuid() != 0) {
        t_report(1, __FILE__, __LINE__, "another user's access # SKIP not running as root", NULL);
        return;
    }
    /* run-test's directory is private (mktemp -d): make it what the
     * default root is, a sticky world-writable directory. */
    T_EQ(chmod(root_dir, 01777), 0, "chmod 1777 the namespace root");

    InitializeSecurityDescriptor(&open_sd, SECURITY_DESCRIPTOR_REVISION);
    SetSecurityDescriptorDacl(&open_sd, TRUE, NULL, FALSE);

    HANDLE local = CreateEventA(NULL, TRUE, FALSE, "Local\\SEC-LOCAL");
    HANDLE priv = CreateEventA(NULL, TRUE, FALSE, "Global\\SEC-PRIVATE");
    HANDLE open_evt = CreateEventA(&open_sa, FALSE, FALSE, "Global\\SEC-OPEN");
    HANDLE ready = CreateEventA(&open_sa, FALSE, FALSE, "Global\\SEC-PIPE-READY");
    HANDLE done = CreateEventA(&open_sa, FALSE, FALSE, "Global\\SEC-PIPE-DONE");
    HANDLE pipe_priv = pipe_with("\\\\.\\pipe\\sec-private", NULL);
    HANDLE pipe_open = pipe_with("\\\\.\\pipe\\sec-open", &open_sa);
    T_OK(local && priv && open_evt && ready && done, "root's events");
    T_OK(pipe_priv != INVALID_HANDLE_VALUE && pipe_open != INVALID_HANDLE_VALUE, "root's pipes");
    T_EQ(object_mode("global", "SEC-PRIVATE"), 0600, "default Global event: 0600");
    T_EQ(object_mode("global", "SEC-OPEN"), 0666, "NULL-DACL Global event: 0666");

    /* Two stale files of root's: what a holder killed by SIGKILL leaves. */
    snprintf(path, sizeof path, "%s/global/SEC-STALE-PRIVATE", root_dir);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "%s/global/SEC-STALE-OPEN", root_dir);
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0666);
    if (fd >= 0) {
        fchmod(fd, 0666);
        close(fd);
    }

    T_OK(t_spawn("child nobody", &pi), "spawn the child that becomes uid 65534");
    T_EQ(WaitForSingleObject(open_evt, 20000), WAIT_OBJECT_0, "the other user's SetEvent wakes us");

    HANDLE either[2] = {ready, pi.hProcess};
    T_EQ(WaitForMultipleObjects(2, either, FALSE, 20000), WAIT_OBJECT_0, "the other user is on the NULL-DACL pipe");
    char buf[8] = {0};
    DWORD got = 0;
    BOOL connected = ConnectNamedPipe(pipe_open, NULL) || GetLastError() == ERROR_PIPE_CONNECTED;
    T_OK(connected, "the other user connected to the NULL-DACL pipe");
    T_OK(connected && ReadFile(pipe_open, buf, sizeof buf, &got, NULL) && got == 2 && memcmp(buf, "hi", 2) == 0,
         "and its message arrived");
    SetEvent(done);
    code = t_wait_child(&pi, 20000);
    T_EQ(code, 0, "every check of the other user passed (see # lines)");

    /* Root replaces another user's stale file rather than reuse it. */
    HANDLE taken = CreateEventA(NULL, FALSE, FALSE, "Global\\SEC-STALE-NOBODY");
    T_OK(taken != NULL && GetLastError() == ERROR_SUCCESS, "root creates over nobody's stale file");
    snprintf(path, sizeof path, "%s/global/SEC-STALE-NOBODY", root_dir);
    T_OK(stat(path, &st) == 0 && st.st_uid == 0 && (st.st_mode & 07777) == 0600,
         "in a fresh file of its own, mode 0600");
    CloseHandle(taken);

    /* Squatting: a directory planted where nobody's Local names go. */
    remove_dir("u65534");
    snprintf(path, sizeof path, "%s/u%d", root_dir, NOBODY);
    T_EQ(mkdir(path, 0700), 0, "plant u65534 as root");
    T_OK(t_spawn("child squatted", &pi), "spawn the squatted child");
    T_EQ(t_wait_child(&pi, 20000), 0, "the squatted user's Local names are refused");
    rmdir(path);

    CloseHandle(local);
    CloseHandle(priv);
    CloseHandle(open_evt);
    CloseHandle(ready);
    CloseHandle(done);
    CloseHandle(pipe_priv);
    CloseHandle(pipe_open);
}

int main(int argc, char **argv)
{
    const char *root = getenv("WINIPC_ROOT");
    snprintf(root_dir, sizeof root_dir, "%s", root ? root : "");

    if (argc >= 3 && strcmp(argv[1], "child") == 0) {
        if (strcmp(argv[2], "nobody") == 0)
            return child_nobody();
        if (strcmp(argv[2], "squatted") == 0)
            return child_squatted();
        return 99;
    }

    check_layouts();
    check_descriptor();
    check_sids();
    check_acls();
    check_sddl();
    if (!root || !*root) {
        t_report(1, __FILE__, __LINE__, "named objects # SKIP WINIPC_ROOT not set (run through tests/run-test)", NULL);
        return t_done();
    }
    check_object_modes();
    check_other_user();
    return t_done();
}
