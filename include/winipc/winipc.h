/* SPDX-License-Identifier: MIT */
/* winipc's own additions: version. Nothing here is needed by Win32 code. */
#ifndef WINIPC_WINIPC_H
#define WINIPC_WINIPC_H
#define WINIPC_VERSION_MAJOR 0
#define WINIPC_VERSION_MINOR 1
#define WINIPC_VERSION_PATCH 0
#define WINIPC_VERSION "0.1.0"

/* --- Introspection: the live named objects and pipes ------------------------
 *
 * What the `winipc` tool lists (docs/tool.md), for programs that want the
 * same: Windows has no documented API for it (WinObj and pipelist use the
 * native NtQueryDirectoryObject and NtQueryDirectoryFile).
 *
 * Each function takes a snapshot of the namespace, then calls `Callback`
 * once per entry, in name order, with no lock held (the callback may use
 * any API, create objects included); it returns FALSE to stop early.
 * Entries are only reported while something holds them: stale names left by
 * killed processes are removed on the way, as any open of them would.
 * Names are UTF-8. The functions return TRUE when the walk completed or the
 * callback stopped it, FALSE with the last error set otherwise
 * (ERROR_INVALID_PARAMETER for a NULL callback or unknown flags). */
#include <windef.h>

WINIPC_BEGIN_DECLS

/* Longest name (UTF-8 bytes plus the terminating 0): MAX_PATH characters. */
#define WINIPC_MAX_NAME (MAX_PATH * 4 + 1)

/* WinipcEnumObjects: also the Local namespaces of other users, where the
 * caller may read them (in practice: root). */
#define WINIPC_ENUM_ALL_USERS 0x00000001u

/* Holders when /proc/locks cannot be read. */
#define WINIPC_HOLDERS_UNKNOWN ((DWORD)-1)

typedef struct WINIPC_OBJECT_INFO {
    /* WinObj's type name: "Event", "Mutant", "Semaphore", "Timer",
     * "Section" (or "Job" and others as they come). */
    const char *TypeName;
    BOOL Global;        /* Global\ namespace; FALSE: a Local\ namespace */
    DWORD OwnerUid;     /* Linux user owning the object (for Local\: whose namespace) */
    /* The name without Global\ or Local\, as created. When it could not be
     * recovered (a long name stored as prefix + hash on a file system
     * without user extended attributes), NameIsEscaped is TRUE and Name is
     * the escaped file name. */
    char Name[WINIPC_MAX_NAME];
    BOOL NameIsEscaped;
    /* Open file descriptions holding the name, from /proc/locks: one per
     * CreateX/OpenX call of each process that still references it, so a
     * process that opened the name twice counts twice (docs/tool.md).
     * WINIPC_HOLDERS_UNKNOWN when /proc/locks is unreadable. */
    DWORD Holders;
    ULONGLONG SectionSize; /* "Section": its size in bytes; 0 for other types */
} WINIPC_OBJECT_INFO;

typedef struct WINIPC_PIPE_INFO {
    /* The name without \\.\pipe\, as the first server instance created it
     * (case-folded, or escaped with NameIsEscaped, as for objects). */
    char Name[WINIPC_MAX_NAME];
    BOOL NameIsEscaped;
    DWORD PipeType;     /* PIPE_TYPE_BYTE or PIPE_TYPE_MESSAGE */
    DWORD Instances;    /* live server instances */
    DWORD MaxInstances; /* PIPE_UNLIMITED_INSTANCES (255) for unlimited */
    DWORD ServerProcessIdCount;
    DWORD ServerProcessIds[255]; /* distinct ids of the processes serving it */
} WINIPC_PIPE_INFO;

typedef BOOL (*WINIPC_OBJECT_CALLBACK)(const WINIPC_OBJECT_INFO *Info, void *Context);
typedef BOOL (*WINIPC_PIPE_CALLBACK)(const WINIPC_PIPE_INFO *Info, void *Context);

/* Named kernel objects (events, mutexes, semaphores, waitable timers, file
 * mappings) of the Global namespace and of the caller's Local namespace;
 * with WINIPC_ENUM_ALL_USERS also other users' Local namespaces. Objects
 * the caller may not open are not reported. */
WINBASEAPI BOOL WINAPI WinipcEnumObjects(DWORD Flags, WINIPC_OBJECT_CALLBACK Callback, void *Context);

/* Named pipes with at least one live server instance. Flags must be 0. */
WINBASEAPI BOOL WINAPI WinipcEnumPipes(DWORD Flags, WINIPC_PIPE_CALLBACK Callback, void *Context);

WINIPC_END_DECLS

#endif
