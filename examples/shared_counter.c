/* SPDX-License-Identifier: MIT */
/* A counter shared through a named file mapping.
 *
 *   shared_counter               increment once and print the counter
 *   shared_counter N M           start N copies of itself that each increment
 *                                M times while this process holds the mapping,
 *                                then print the total (N * M)
 *
 * Each separate run of the first form prints 1: the mapping, and its name,
 * disappear with the last handle, exactly as on Windows. */
#include <windows.h>
#include <stdio.h>

static LONG *open_counter(HANDLE *map)
{
    *map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(LONG),
                              "Global\\WinipcDemoCounter");
    if (!*map) {
        fprintf(stderr, "CreateFileMapping failed: %lu\n", (unsigned long)GetLastError());
        return NULL;
    }
    LONG *counter = MapViewOfFile(*map, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(LONG));
    if (!counter)
        fprintf(stderr, "MapViewOfFile failed: %lu\n", (unsigned long)GetLastError());
    return counter;
}

int main(int argc, char **argv)
{
    HANDLE map;
    LONG *counter = open_counter(&map);
    if (!counter)
        return 1;
    if (argc == 4 && strcmp(argv[1], "--increment") == 0) {
        long times = atol(argv[2]);
        for (long i = 0; i < times; i++)
            InterlockedIncrement(counter);
        return 0;
    }
    if (argc == 3) {
        long n = atol(argv[1]), m = atol(argv[2]);
        char self[MAX_PATH], cmd[MAX_PATH + 64];
        PROCESS_INFORMATION pi[64];
        if (n < 1 || n > 64 || !GetModuleFileNameA(NULL, self, sizeof self))
            return 1;
        for (long i = 0; i < n; i++) {
            STARTUPINFOA si;
            memset(&si, 0, sizeof si);
            si.cb = sizeof si;
            snprintf(cmd, sizeof cmd, "\"%s\" --increment %ld x", self, m);
            if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi[i])) {
                fprintf(stderr, "CreateProcess failed: %lu\n", (unsigned long)GetLastError());
                return 1;
            }
        }
        for (long i = 0; i < n; i++) {
            WaitForSingleObject(pi[i].hProcess, INFINITE);
            CloseHandle(pi[i].hProcess);
            CloseHandle(pi[i].hThread);
        }
        printf("%ld processes x %ld increments: Counter = %ld\n", n, m, (long)*counter);
    } else {
        InterlockedIncrement(counter);
        printf("Counter = %ld\n", (long)*counter);
    }
    UnmapViewOfFile(counter);
    CloseHandle(map);
    return 0;
}
