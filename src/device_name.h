/* SPDX-License-Identifier: MIT */
/* Names in Windows' device namespace: "\\.\pipe\x", "\\.\mailslot\x". */
#ifndef WINIPC_DEVICE_NAME_H
#define WINIPC_DEVICE_NAME_H

#include <windows.h>

enum wi_device_name {
    WI_DEVNAME_LOCAL,    /* "\\.\<device>\rest" (either slash, device in any case) */
    WI_DEVNAME_VERBATIM, /* "\\?\<device>\rest": Windows takes the rest as it is */
    WI_DEVNAME_REMOTE,   /* "\\server\<device>\rest", "\\*\...", "\\domain\..." */
    WI_DEVNAME_BAD,      /* anything else */
};

/* Split `name` for `device` ("pipe", "mailslot"); *rest points into name.
 * Remote forms are recognised so callers can refuse them with their own
 * error rather than ERROR_INVALID_NAME. */
enum wi_device_name wi_device_name_split(const char *name, const char *device, const char **rest);

/* The name inside the namespace (malloc'd): Windows turns '/' into '\' in
 * "\\.\" paths (not in "\\?\" ones), so both spellings reach one object. */
DWORD wi_device_name_normalize(const char *rest, enum wi_device_name kind, char **out);

#endif
