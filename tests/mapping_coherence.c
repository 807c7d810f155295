/* SPDX-License-Identifier: MIT */
/* A file-backed mapping edited by two processes while a third reads the
 * file with ReadFile: every write through a view is visible to the file
 * reader, in order (a slot's sequence number never goes back), and the final
 * contents are exact. */
#include "test.h"

#define ROUNDS 200000
#define SLOT_A 0
#define SLOT_B 4096 /* another page */

static HANDLE open_map(void)
{
    return OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, t_name("coherence"));
}

/* Writer: counts its slot from 1 to ROUNDS through a view of the section. */
static int child_writer(DWORD offset)
{
    HANDLE go = OpenEventA(SYNCHRONIZE, FALSE, t_name("coh-reading"));
    HANDLE map = open_map();
    volatile LONG *p = map ? (volatile LONG *)MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    if (!go || !p)
        return 10;
    WaitForSingleObject(go, 10000);
    for (LONG i = 1; i <= ROUNDS; i++)
        InterlockedExchange((LONG *)&p[offset / sizeof(LONG)], i);
    if (!FlushViewOfFile((LPCVOID)p, 0))
        return 11;
    UnmapViewOfFile((LPCVOID)p);
    CloseHandle(map);
    return 0;
}

static LONG read_slot(HANDLE f, DWORD offset)
{
    OVERLAPPED ov;
    LONG v = -1;
    DWORD got = 0;
    memset(&ov, 0, sizeof ov);
    ov.Offset = offset;
    if (!ReadFile(f, &v, sizeof v, &got, &ov) || got != sizeof v)
        return -1;
    return v;
}

/* Reader: reads both slots from the file (not through a view) until both
 * writers are done; a value going back, or a read failing, is an error. */
static int child_reader(const char *path)
{
    HANDLE go = OpenEventA(SYNCHRONIZE, FALSE, t_name("coh-go"));
    HANDLE reading = OpenEventA(EVENT_MODIFY_STATE, FALSE, t_name("coh-reading"));
    HANDLE done = OpenEventA(SYNCHRONIZE, FALSE, t_name("coh-done"));
    HANDLE f = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    if (!go || !reading || !done || f == INVALID_HANDLE_VALUE)
        return 20;
    WaitForSingleObject(go, 10000);
    LONG last_a = 0, last_b = 0;
    unsigned reads = 0;
    for (;;) {
        BOOL finished = WaitForSingleObject(done, 0) == WAIT_OBJECT_0;
        LONG a = read_slot(f, SLOT_A), b = read_slot(f, SLOT_B);
        if (a < last_a || b < last_b || a > ROUNDS || b > ROUNDS)
            return 21; /* went back, or garbage */
        last_a = a;
        last_b = b;
        if (reads++ == 0)
            SetEvent(reading); /* the writers start once we read */
        if (finished)
            break;
    }
    if (last_a != ROUNDS || last_b != ROUNDS)
        return 22; /* the final values must be in the file */
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "child") == 0) {
        if (strcmp(argv[2], "writer-a") == 0)
            return child_writer(SLOT_A);
        if (strcmp(argv[2], "writer-b") == 0)
            return child_writer(SLOT_B);
        if (strcmp(argv[2], "reader") == 0 && argc >= 4)
            return child_reader(argv[3]);
        return 99;
    }

    char dir[MAX_PATH], path[MAX_PATH], args[MAX_PATH + 64];
    T_OK(GetTempPathA(sizeof dir, dir) && GetTempFileNameA(dir, "coh", 0, path), "a temporary file");
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           CREATE_ALWAYS, 0, NULL);
    T_OK(f != INVALID_HANDLE_VALUE, "opened for the mapping");
    HANDLE map = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 65536, t_name("coherence"));
    T_OK(map != NULL, "a named file-backed section of 64 KiB");
    LARGE_INTEGER size;
    T_OK(GetFileSizeEx(f, &size) && size.QuadPart == 65536, "the file grew to the section size");
    HANDLE go = CreateEventA(NULL, TRUE, FALSE, t_name("coh-go"));
    HANDLE done = CreateEventA(NULL, TRUE, FALSE, t_name("coh-done"));
    HANDLE reading = CreateEventA(NULL, TRUE, FALSE, t_name("coh-reading"));

    PROCESS_INFORMATION wa, wb, rd;
    snprintf(args, sizeof args, "child reader \"%s\"", path);
    T_OK(t_spawn("child writer-a", &wa) && t_spawn("child writer-b", &wb) && t_spawn(args, &rd),
         "two writer processes and a reader process");
    SetEvent(go);
    T_EQ(t_wait_child(&wa, 30000), 0, "writer A counted its slot through its view");
    T_EQ(t_wait_child(&wb, 30000), 0, "writer B counted its slot through its view");
    SetEvent(done);
    T_EQ(t_wait_child(&rd, 30000), 0, "the reader saw both slots only move forward, and their final values, with ReadFile");

    LONG v = 0;
    DWORD got = 0;
    SetFilePointer(f, SLOT_B, NULL, FILE_BEGIN);
    T_OK(ReadFile(f, &v, sizeof v, &got, NULL) && v == ROUNDS, "the file holds writer B's last value");
    CloseHandle(map);
    CloseHandle(f);
    CloseHandle(go);
    CloseHandle(done);
    CloseHandle(reading);
    T_OK(DeleteFileA(path), "cleanup");
    return t_done();
}
