/* SPDX-License-Identifier: MIT */
#ifndef _IO_APISET_H_
#define _IO_APISET_H_
#include <minwinbase.h>
WINIPC_BEGIN_DECLS
WINBASEAPI BOOL WINAPI GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred,
                                           BOOL bWait);
WINBASEAPI BOOL WINAPI CancelIo(HANDLE hFile);
WINBASEAPI BOOL WINAPI CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped);
WINIPC_END_DECLS
#endif
