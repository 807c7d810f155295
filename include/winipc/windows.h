/* SPDX-License-Identifier: MIT */
/* The umbrella header. Like the SDK's, it brings in the usual C headers
 * (string.h among them) that Windows programs rely on implicitly. */
#ifndef _WINDOWS_
#define _WINDOWS_

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <wchar.h>

#include <windef.h>
#include <winerror.h>
#include <winbase.h>

#endif /* _WINDOWS_ */
