/* SPDX-License-Identifier: MIT */
/* Security attributes. The descriptor functions (InitializeSecurityDescriptor,
 * SetSecurityDescriptorDacl, ...) arrive with the synchronization issue;
 * until then only a NULL descriptor is understood and any other fails with
 * ERROR_NOT_SUPPORTED rather than being silently ignored. */
#include "security.h"

DWORD wi_sa_parse(const SECURITY_ATTRIBUTES *sa, DWORD *flags, bool *world)
{
    *flags = 0;
    *world = false;
    if (!sa)
        return ERROR_SUCCESS;
    if (sa->bInheritHandle)
        *flags = HANDLE_FLAG_INHERIT;
    if (sa->lpSecurityDescriptor)
        return ERROR_NOT_SUPPORTED;
    return ERROR_SUCCESS;
}
