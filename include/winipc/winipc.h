/* SPDX-License-Identifier: MIT */
/* winipc's own additions: version. Nothing here is needed by Win32 code. */
#ifndef WINIPC_WINIPC_H
#define WINIPC_WINIPC_H
#define WINIPC_VERSION_MAJOR 0
#define WINIPC_VERSION_MINOR 1
#define WINIPC_VERSION_PATCH 0
#define WINIPC_VERSION "0.1.0"
#endif
