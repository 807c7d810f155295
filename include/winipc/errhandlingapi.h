/* SPDX-License-Identifier: MIT */
#ifndef _ERRHANDLING_H_
#define _ERRHANDLING_H_
#include <minwinbase.h>
WINIPC_BEGIN_DECLS
WINBASEAPI DWORD WINAPI GetLastError(void);
WINBASEAPI void WINAPI SetLastError(DWORD dwErrCode);
WINIPC_END_DECLS
#endif
