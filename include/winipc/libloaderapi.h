/* SPDX-License-Identifier: MIT */
#ifndef _LIBLOADERAPI_H_
#define _LIBLOADERAPI_H_
#include <minwinbase.h>
WINIPC_BEGIN_DECLS
#if __SIZEOF_WCHAR_T__ == 2
#define GetModuleFileNameW GetModuleFileNameW16
#define GetModuleHandleW GetModuleHandleW16
#endif
WINBASEAPI DWORD WINAPI GetModuleFileNameA(HMODULE hModule, LPSTR lpFilename, DWORD nSize);
WINBASEAPI DWORD WINAPI GetModuleFileNameW(HMODULE hModule, LPWSTR lpFilename, DWORD nSize);
WINBASEAPI HMODULE WINAPI GetModuleHandleA(LPCSTR lpModuleName);
WINBASEAPI HMODULE WINAPI GetModuleHandleW(LPCWSTR lpModuleName);
WINBASEAPI FARPROC WINAPI GetProcAddress(HMODULE hModule, LPCSTR lpProcName);
#ifdef UNICODE
#define GetModuleFileName GetModuleFileNameW
#define GetModuleHandle GetModuleHandleW
#else
#define GetModuleFileName GetModuleFileNameA
#define GetModuleHandle GetModuleHandleA
#endif
WINIPC_END_DECLS
#endif
