/* SPDX-License-Identifier: MIT */
/* SECURITY_ATTRIBUTES as the object-creating calls see it, and the
 * descriptor/ACL/SID helpers shared by security.c and sddl.c. */
#ifndef WINIPC_SECURITY_H
#define WINIPC_SECURITY_H

#include <windows.h>
#include <stdbool.h>

struct wi_object_ops;

/* Check `sa` for an object of the type `ops` describes and report what it
 * asks for: *flags gets HANDLE_FLAG_INHERIT when bInheritHandle is set;
 * *world is true when the descriptor lets every user use the object (a NULL
 * DACL, or a DACL granting Everyone or Authenticated Users every right
 * Linux cannot hand out separately — see docs/security.md). A NULL sa, a
 * NULL descriptor or a descriptor without a DACL means the default: the
 * creating user only. What Linux cannot express fails with
 * ERROR_NOT_SUPPORTED; a malformed descriptor with ERROR_UNKNOWN_REVISION,
 * ERROR_INVALID_SECURITY_DESCR, ERROR_INVALID_ACL or ERROR_INVALID_SID, as
 * Windows' object creation does. */
DWORD wi_sa_parse_for(const SECURITY_ATTRIBUTES *sa, const struct wi_object_ops *ops, DWORD *flags, bool *world);

/* The same without knowing the object type: generic rights only (a grant of
 * GENERIC_ALL to Everyone opens the object; any narrower grant to Everyone
 * fails with ERROR_NOT_SUPPORTED). For callers whose objects have no name
 * another user could open (threads, processes, anonymous pipes) and for
 * types not yet converted to wi_sa_parse_for. */
DWORD wi_sa_parse(const SECURITY_ATTRIBUTES *sa, DWORD *flags, bool *world);

/* SIDs in caller memory of any alignment. */
bool wi_sid_valid(const void *sid);
DWORD wi_sid_length(const void *sid); /* of a valid SID */

/* The well-known SID `type` (no domain) into `out` (SECURITY_MAX_SID_SIZE
 * bytes); false when winipc does not know it. */
bool wi_sid_well_known(WELL_KNOWN_SID_TYPE type, BYTE *out);

/* Check an ACL's structure: ERROR_SUCCESS or ERROR_INVALID_ACL. *used gets
 * the bytes the header and its ACEs occupy. */
DWORD wi_acl_check(const void *acl, DWORD *used);

#endif
