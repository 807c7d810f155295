/* SPDX-License-Identifier: MIT */
/* Security Descriptor Definition Language: the string forms of security
 * descriptors and SIDs. Not included by <windows.h>, as in the SDK. The
 * subset of SDDL winipc understands is listed in docs/security.md. */
#ifndef _SDDL_H_
#define _SDDL_H_
#include <windows.h>
WINIPC_BEGIN_DECLS

#define SDDL_REVISION_1 1
#define SDDL_REVISION SDDL_REVISION_1

#if __SIZEOF_WCHAR_T__ == 2
#define ConvertStringSecurityDescriptorToSecurityDescriptorW ConvertStringSecurityDescriptorToSecurityDescriptorW16
#define ConvertStringSidToSidW ConvertStringSidToSidW16
#define ConvertSidToStringSidW ConvertSidToStringSidW16
#endif

WINADVAPI BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorA(LPCSTR StringSecurityDescriptor,
                                                                           DWORD StringSDRevision,
                                                                           PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                                                           PULONG SecurityDescriptorSize);
WINADVAPI BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorW(LPCWSTR StringSecurityDescriptor,
                                                                           DWORD StringSDRevision,
                                                                           PSECURITY_DESCRIPTOR *SecurityDescriptor,
                                                                           PULONG SecurityDescriptorSize);
WINADVAPI BOOL WINAPI ConvertStringSidToSidA(LPCSTR StringSid, PSID *Sid);
WINADVAPI BOOL WINAPI ConvertStringSidToSidW(LPCWSTR StringSid, PSID *Sid);
WINADVAPI BOOL WINAPI ConvertSidToStringSidA(PSID Sid, LPSTR *StringSid);
WINADVAPI BOOL WINAPI ConvertSidToStringSidW(PSID Sid, LPWSTR *StringSid);

#ifdef UNICODE
#define ConvertStringSecurityDescriptorToSecurityDescriptor ConvertStringSecurityDescriptorToSecurityDescriptorW
#define ConvertStringSidToSid ConvertStringSidToSidW
#define ConvertSidToStringSid ConvertSidToStringSidW
#else
#define ConvertStringSecurityDescriptorToSecurityDescriptor ConvertStringSecurityDescriptorToSecurityDescriptorA
#define ConvertStringSidToSid ConvertStringSidToSidA
#define ConvertSidToStringSid ConvertSidToStringSidA
#endif

WINIPC_END_DECLS
#endif
