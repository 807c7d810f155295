/* SPDX-License-Identifier: MIT */
#ifndef _PROFILEAPI_H_
#define _PROFILEAPI_H_
#include <minwinbase.h>
WINIPC_BEGIN_DECLS
WINBASEAPI BOOL WINAPI QueryPerformanceCounter(LARGE_INTEGER *lpPerformanceCount);
WINBASEAPI BOOL WINAPI QueryPerformanceFrequency(LARGE_INTEGER *lpFrequency);
WINIPC_END_DECLS
#endif
