/* SPDX-License-Identifier: MIT */
/* File-backed mappings: sizes (0 = the file's, growing, empty files),
 * protection against the file handle's access, views against ReadFile and
 * WriteFile, FlushViewOfFile, copy-on-write, a named file mapping opened in
 * this process and in a child, an inherited one. */
#include "test.h"

#define SHARE (FILE_SHARE_READ | FILE_SHARE_WRITE)

static char path[MAX_PATH];

static HANDLE open_file(DWORD access, DWORD disposition)
{
    return CreateFileA(path, access, SHARE, NULL, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
}

static LONGLONG file_size(HANDLE f)
{
    LARGE_INTEGER sz;
    sz.QuadPart = -1;
    if (!GetFileSizeEx(f, &sz))
        return -1;
    return sz.QuadPart;
}

/* Read `len` bytes at `off` with ReadFile. */
static BOOL read_at(HANDLE f, DWORD off, void *buf, DWORD len)
{
    DWORD got = T_POISON;
    if (SetFilePointer(f, (LONG)off, NULL, FILE_BEGIN) != off)
        return FALSE;
    return ReadFile(f, buf, len, &got, NULL) && got == len;
}

static BOOL write_at(HANDLE f, DWORD off, const void *buf, DWORD len)
{
    DWORD put = T_POISON;
    if (SetFilePointer(f, (LONG)off, NULL, FILE_BEGIN) != off)
        return FALSE;
    return WriteFile(f, buf, len, &put, NULL) && put == len;
}

/* --- children ------------------------------------------------------------------------- */

static int child_named(const char *name)
{
    HANDLE h = OpenFileMappingA(FILE_MAP_WRITE, FALSE, name);
    if (!h)
        return 10;
    char *p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    if (!p)
        return 11;
    if (memcmp(p, "file data", 9) != 0)
        return 12;
    memcpy(p + 200, "child was here", 14);
    UnmapViewOfFile(p);
    CloseHandle(h);
    return 0;
}

static int child_inherited(const char *value)
{
    HANDLE h = (HANDLE)(ULONG_PTR)strtoull(value, NULL, 10);
    char *p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    if (!p)
        return 11;
    if (memcmp(p, "file data", 9) != 0)
        return 12;
    memcpy(p + 300, "inherited", 9);
    return 0;
}

/* --- parent ----------------------------------------------------------------------------- */

static void test_sizes(void)
{
    HANDLE f = open_file(GENERIC_READ | GENERIC_WRITE, CREATE_ALWAYS);
    HANDLE h;
    T_OK(f != INVALID_HANDLE_VALUE, "an empty file");

    SetLastError(T_POISON);
    T_ERR(CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL) != NULL, ERROR_FILE_INVALID,
          "size 0 of an empty file: ERROR_FILE_INVALID");
    T_ERR(CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 100, NULL) != NULL, ERROR_NOT_ENOUGH_MEMORY,
          "a read-only section larger than the file");
    T_ERR(CreateFileMappingA(f, NULL, PAGE_WRITECOPY, 0, 100, NULL) != NULL, ERROR_NOT_ENOUGH_MEMORY,
          "a copy-on-write section larger than the file");
    T_EQ(file_size(f), 0, "the file did not grow");
    /* winipc does not map images (docs/mappings.md); Windows would parse the
     * file as one and fail with ERROR_BAD_EXE_FORMAT here. */
    T_ERR(CreateFileMappingA(f, NULL, PAGE_READONLY | SEC_IMAGE, 0, 0, NULL) != NULL, ERROR_NOT_SUPPORTED,
          "SEC_IMAGE");

    SetLastError(T_POISON);
    h = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 8192, NULL);
    T_OK(h != NULL, "a read-write section of 8192 bytes over the empty file");
    T_EQ(GetLastError(), 0, "last error cleared");
    T_EQ(file_size(f), 8192, "grew the file to the section size");
    CloseHandle(h);

    T_OK(write_at(f, 0, "file data", 9), "WriteFile at 0");
    h = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 5000, NULL);
    T_OK(h != NULL, "a 5000-byte read-only section of the 8192-byte file");
    T_EQ(file_size(f), 8192, "a smaller section leaves the file alone");
    SetLastError(T_POISON);
    T_ERR(MapViewOfFile(h, FILE_MAP_READ, 0, 0, 5001) != NULL, ERROR_ACCESS_DENIED,
          "a file-backed section is not rounded up: 5001 bytes do not fit");
    char *p = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 5000);
    T_OK(p != NULL && memcmp(p, "file data", 9) == 0, "5000 bytes do, and show the file");
    UnmapViewOfFile(p);
    CloseHandle(h);

    /* Programs pass SEC_RESERVE with files; Windows ignores it there. */
    h = CreateFileMappingA(f, NULL, PAGE_READONLY | SEC_RESERVE, 0, 0, NULL);
    T_OK(h != NULL, "SEC_RESERVE with a file is accepted");
    p = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    T_OK(p != NULL && memcmp(p, "file data", 9) == 0, "and its view shows the file at once");
    UnmapViewOfFile(p);
    CloseHandle(h);

    h = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL);
    T_OK(h != NULL, "size 0: the file's size");
    p = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 8192);
    T_OK(p != NULL, "a view of all 8192 bytes");
    UnmapViewOfFile(p);
    T_ERR(MapViewOfFile(h, FILE_MAP_READ, 0, 0, 8193) != NULL, ERROR_ACCESS_DENIED, "but not 8193");
    CloseHandle(h);
    CloseHandle(f);
}

static void test_access(void)
{
    HANDLE ro = open_file(GENERIC_READ, OPEN_EXISTING);
    HANDLE wo = open_file(GENERIC_WRITE, OPEN_EXISTING);
    HANDLE none = open_file(0, OPEN_EXISTING);
    HANDLE rx = open_file(GENERIC_READ | GENERIC_EXECUTE, OPEN_EXISTING);
    HANDLE h;
    char buf[16];

    T_OK(ro != INVALID_HANDLE_VALUE && wo != INVALID_HANDLE_VALUE && none != INVALID_HANDLE_VALUE &&
             rx != INVALID_HANDLE_VALUE,
         "read-only, write-only, no-access and read-execute handles");
    SetLastError(T_POISON);
    T_ERR(CreateFileMappingA(ro, NULL, PAGE_READWRITE, 0, 0, NULL) != NULL, ERROR_ACCESS_DENIED,
          "PAGE_READWRITE over a read-only handle");
    T_ERR(CreateFileMappingA(wo, NULL, PAGE_READONLY, 0, 0, NULL) != NULL, ERROR_ACCESS_DENIED,
          "PAGE_READONLY over a write-only handle");
    T_ERR(CreateFileMappingA(none, NULL, PAGE_READONLY, 0, 0, NULL) != NULL, ERROR_ACCESS_DENIED,
          "PAGE_READONLY over a handle without access");
    T_ERR(CreateFileMappingA(ro, NULL, PAGE_EXECUTE_READ, 0, 0, NULL) != NULL, ERROR_ACCESS_DENIED,
          "PAGE_EXECUTE_READ over a handle without GENERIC_EXECUTE");
    h = CreateFileMappingA(rx, NULL, PAGE_EXECUTE_READ, 0, 0, NULL);
    T_OK(h != NULL, "PAGE_EXECUTE_READ over a read-execute handle");
    CloseHandle(h);

    h = CreateFileMappingA(ro, NULL, PAGE_READONLY, 0, 0, NULL);
    T_OK(h != NULL, "PAGE_READONLY over the read-only handle");
    CloseHandle(h);
    h = CreateFileMappingA(ro, NULL, PAGE_WRITECOPY, 0, 0, NULL);
    T_OK(h != NULL, "PAGE_WRITECOPY over the read-only handle");
    SetLastError(T_POISON);
    T_ERR(MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED,
          "no shared write view of a PAGE_WRITECOPY section");
    char *p = MapViewOfFile(h, FILE_MAP_COPY, 0, 0, 0);
    T_OK(p != NULL, "a copy-on-write view");
    if (p) {
        memcpy(p, "private!!", 9);
        T_OK(FlushViewOfFile(p, 0), "FlushViewOfFile of a copy-on-write view succeeds");
    }
    T_OK(read_at(ro, 0, buf, 9) && memcmp(buf, "file data", 9) == 0, "copy-on-write writes never reach the file");
    UnmapViewOfFile(p);
    CloseHandle(h);

    HANDLE ev = CreateEventA(NULL, FALSE, FALSE, NULL);
    T_ERR(CreateFileMappingA(ev, NULL, PAGE_READONLY, 0, 0, NULL) != NULL, ERROR_INVALID_HANDLE,
          "an event is not a file");
    CloseHandle(ev);
    CloseHandle(ro);
    CloseHandle(wo);
    CloseHandle(none);
    CloseHandle(rx);
}

static void test_coherence(void)
{
    HANDLE f = open_file(GENERIC_READ | GENERIC_WRITE, OPEN_EXISTING);
    HANDLE h = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL);
    char buf[16];
    char *p, *q;

    T_OK(h != NULL, "a read-write section of the whole file");
    p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    T_OK(p != NULL && memcmp(p, "file data", 9) == 0, "the view shows the file");
    T_OK(CloseHandle(f), "closing the file handle");
    if (!p)
        return;
    memcpy(p + 100, "view data", 9);
    T_OK(FlushViewOfFile(p + 100, 9), "FlushViewOfFile of the written range");
    T_OK(FlushViewOfFile(p, 0), "FlushViewOfFile of the whole view");
    f = open_file(GENERIC_READ | GENERIC_WRITE, OPEN_EXISTING);
    T_OK(read_at(f, 100, buf, 9) && memcmp(buf, "view data", 9) == 0, "ReadFile sees the view's write");
    T_OK(write_at(f, 4096, "written", 7), "WriteFile into the mapped range");
    T_OK(memcmp(p + 4096, "written", 7) == 0, "the view sees WriteFile's data");

    q = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 200);
    T_OK(q != NULL && memcmp(q + 100, "view data", 9) == 0, "a second view agrees");
    UnmapViewOfFile(q);

    HANDLE h2 = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL);
    q = MapViewOfFile(h2, FILE_MAP_READ, 0, 0, 0);
    T_OK(q != NULL && memcmp(q + 100, "view data", 9) == 0, "so does a view of another section of the file");
    UnmapViewOfFile(q);
    CloseHandle(h2);

    UnmapViewOfFile(p);
    CloseHandle(h);
    CloseHandle(f);
}

static void test_named(void)
{
    HANDLE f = open_file(GENERIC_READ | GENERIC_WRITE, OPEN_EXISTING);
    HANDLE h, o;
    PROCESS_INFORMATION pi;
    char args[300], buf[16];

    SetLastError(T_POISON);
    h = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, t_name("filemap"));
    T_OK(h != NULL, "a named file-backed section");
    T_EQ(GetLastError(), 0, "new");
    HANDLE again = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, t_name("filemap"));
    T_OK(again != NULL, "CreateFileMapping of that name without a file");
    T_EQ(GetLastError(), ERROR_ALREADY_EXISTS, "opens the file-backed section");
    char *p = MapViewOfFile(again, FILE_MAP_READ, 0, 0, 0);
    T_OK(p != NULL && memcmp(p, "file data", 9) == 0, "and maps the file");
    UnmapViewOfFile(p);
    CloseHandle(again);

    o = OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("filemap"));
    T_OK(o != NULL, "OpenFileMapping in this process");
    p = MapViewOfFile(o, FILE_MAP_READ, 0, 0, 0);
    T_OK(p != NULL && memcmp(p, "file data", 9) == 0, "maps the file");
    UnmapViewOfFile(p);
    CloseHandle(o);

    snprintf(args, sizeof args, "child named %s", t_name("filemap"));
    T_OK(t_spawn(args, &pi), "a child opening the name");
    T_EQ(t_wait_child(&pi, 15000), 0, "the child mapped the file through the name and wrote to it");
    T_OK(read_at(f, 200, buf, 14) && memcmp(buf, "child was here", 14) == 0, "its write is in the file");
    CloseHandle(h);
    CloseHandle(f);
}

static void test_inherited(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE f = open_file(GENERIC_READ | GENERIC_WRITE, OPEN_EXISTING);
    HANDLE h = CreateFileMappingA(f, &sa, PAGE_READWRITE, 0, 0, NULL);
    PROCESS_INFORMATION pi;
    char args[64], buf[16];

    T_OK(h != NULL, "an inheritable unnamed file-backed section");
    snprintf(args, sizeof args, "child inherited %llu", (unsigned long long)(ULONG_PTR)h);
    T_OK(t_spawn_ex(args, TRUE, NULL, &pi), "a child inheriting it");
    T_EQ(t_wait_child(&pi, 15000), 0, "the child mapped the inherited section and wrote");
    T_OK(read_at(f, 300, buf, 9) && memcmp(buf, "inherited", 9) == 0, "its write is in the file");
    CloseHandle(h);
    CloseHandle(f);
}

int main(int argc, char **argv)
{
    char dir[MAX_PATH];
    if (argc >= 4 && strcmp(argv[1], "child") == 0) {
        if (strcmp(argv[2], "named") == 0)
            return child_named(argv[3]);
        if (strcmp(argv[2], "inherited") == 0)
            return child_inherited(argv[3]);
        return 99;
    }
    if (!GetTempPathA(sizeof dir, dir) || !GetTempFileNameA(dir, "wim", 0, path)) {
        T_OK(0, "a temporary file name");
        return t_done();
    }
    test_sizes();
    test_access();
    test_coherence();
    test_named();
    test_inherited();
    T_OK(DeleteFileA(path), "DeleteFile of the temporary file");
    return t_done();
}
