/* SPDX-License-Identifier: MIT */
/* Device-namespace names (device_name.h). */
#include "device_name.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_sep(char c)
{
    return c == '\\' || c == '/';
}

enum wi_device_name wi_device_name_split(const char *name, const char *device, const char **rest)
{
    size_t n = strlen(device);
    if (strncmp(name, "\\\\?\\", 4) == 0) {
        if (strncasecmp(name + 4, device, n) != 0 || name[4 + n] != '\\')
            return WI_DEVNAME_BAD;
        *rest = name + 5 + n;
        return WI_DEVNAME_VERBATIM;
    }
    if (!is_sep(name[0]) || !is_sep(name[1]))
        return WI_DEVNAME_BAD;
    const char *host = name + 2, *p = host;
    while (*p && !is_sep(*p))
        p++;
    if (p == host || !*p || strncasecmp(p + 1, device, n) != 0 || !is_sep(p[1 + n]))
        return WI_DEVNAME_BAD;
    *rest = p + 2 + n;
    return (p - host == 1 && host[0] == '.') ? WI_DEVNAME_LOCAL : WI_DEVNAME_REMOTE;
}

DWORD wi_device_name_normalize(const char *rest, enum wi_device_name kind, char **out)
{
    char *n = strdup(rest);
    if (!n)
        return ERROR_NOT_ENOUGH_MEMORY;
    for (char *p = n; *p && kind == WI_DEVNAME_LOCAL; p++)
        if (*p == '/')
            *p = '\\';
    *out = n;
    return ERROR_SUCCESS;
}
