/* SPDX-License-Identifier: MIT */
/* File mappings within one process: parameter checks, names, views,
 * protections, alignment, sizes, VirtualQuery on views, the lifetime of a
 * name against its views, large sparse sections, concurrent map/unmap. */
#include "test.h"

#define GRAN 65536u

#ifndef FILE_MAP_LARGE_PAGES /* missing from older SDK headers */
#define FILE_MAP_LARGE_PAGES 0x20000000
#endif

static HANDLE new_map(DWORD protect, DWORD high, DWORD low, const char *name)
{
    return CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, protect, high, low, name);
}

static void query(const void *p, MEMORY_BASIC_INFORMATION *mbi)
{
    memset(mbi, 0xcc, sizeof *mbi);
    SetLastError(T_POISON);
    SIZE_T n = VirtualQuery(p, mbi, sizeof *mbi);
    if (n != sizeof *mbi)
        memset(mbi, 0, sizeof *mbi);
}

static void test_create_errors(void)
{
    HANDLE ev, h;

    SetLastError(T_POISON);
    h = new_map(PAGE_READWRITE, 0, 0, NULL);
    T_ERR(h != NULL, ERROR_INVALID_PARAMETER, "pagefile mapping of size 0");
    T_OK(h != INVALID_HANDLE_VALUE, "failure returns NULL, not INVALID_HANDLE_VALUE");
    T_ERR(new_map(PAGE_NOACCESS, 0, 4096, NULL) != NULL, ERROR_INVALID_PARAMETER, "PAGE_NOACCESS");
    T_ERR(new_map(PAGE_EXECUTE, 0, 4096, NULL) != NULL, ERROR_INVALID_PARAMETER, "PAGE_EXECUTE");
    T_ERR(new_map(0, 0, 4096, NULL) != NULL, ERROR_INVALID_PARAMETER, "protection 0");
    T_ERR(new_map(PAGE_READWRITE | PAGE_READONLY, 0, 4096, NULL) != NULL, ERROR_INVALID_PARAMETER,
          "two protections");
    T_ERR(new_map(PAGE_READWRITE | PAGE_GUARD, 0, 4096, NULL) != NULL, ERROR_INVALID_PARAMETER, "PAGE_GUARD");
    T_ERR(new_map(PAGE_READWRITE | PAGE_NOCACHE, 0, 4096, NULL) != NULL, ERROR_INVALID_PARAMETER,
          "PAGE_NOCACHE");
    T_ERR(new_map(PAGE_READWRITE | SEC_COMMIT | SEC_RESERVE, 0, 4096, NULL) != NULL, ERROR_INVALID_PARAMETER,
          "SEC_COMMIT | SEC_RESERVE");
    T_ERR(new_map(PAGE_READWRITE | 0x00100000, 0, 4096, NULL) != NULL, ERROR_INVALID_PARAMETER,
          "an unknown attribute bit");
    T_ERR(new_map(PAGE_READONLY | SEC_IMAGE, 0, 4096, NULL) != NULL, ERROR_NOT_SUPPORTED, "SEC_IMAGE");
    T_ERR(new_map(PAGE_READWRITE | SEC_LARGE_PAGES, 0, 4096, NULL) != NULL, ERROR_NOT_SUPPORTED,
          "SEC_LARGE_PAGES");
    T_ERR(new_map(PAGE_READWRITE | SEC_NOCACHE, 0, 4096, NULL) != NULL, ERROR_NOT_SUPPORTED, "SEC_NOCACHE");
    T_ERR(new_map(PAGE_READWRITE | SEC_WRITECOMBINE, 0, 4096, NULL) != NULL, ERROR_NOT_SUPPORTED,
          "SEC_WRITECOMBINE");

    /* NULL reaches NtCreateSection as "no file", like INVALID_HANDLE_VALUE. */
    h = CreateFileMappingA(NULL, NULL, PAGE_READWRITE, 0, 4096, NULL);
    T_OK(h != NULL, "hFile NULL makes a pagefile-backed section");
    CloseHandle(h);
    T_ERR(CreateFileMappingA(NULL, NULL, PAGE_READWRITE, 0, 0, NULL) != NULL, ERROR_INVALID_PARAMETER,
          "hFile NULL and size 0");
    ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_ERR(CreateFileMappingA(ev, NULL, PAGE_READWRITE, 0, 4096, NULL) != NULL, ERROR_INVALID_HANDLE,
          "hFile is an event");
    T_ERR(CreateFileMappingA((HANDLE)(ULONG_PTR)0x7ff0, NULL, PAGE_READWRITE, 0, 4096, NULL) != NULL,
          ERROR_INVALID_HANDLE, "hFile is garbage");
    CloseHandle(ev);
}

static void test_unnamed_views(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    HANDLE h;
    unsigned char *a, *b, *c;

    SetLastError(T_POISON);
    h = new_map(PAGE_READWRITE, 0, 2 * GRAN, NULL);
    T_OK(h != NULL, "unnamed pagefile mapping of 128 KiB");
    T_EQ(GetLastError(), 0, "a new mapping clears the last error");
    T_EQ((ULONG_PTR)h % 4, 0, "handle value is a multiple of 4");

    a = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    T_OK(a != NULL, "MapViewOfFile of the whole section (bytes 0)");
    T_EQ((ULONG_PTR)a % GRAN, 0, "views start at a multiple of 64 KiB");
    T_EQ(a[0] | a[GRAN] | a[2 * GRAN - 1], 0, "a new section reads as zeros");
    a[0] = 0x11;
    a[GRAN] = 0x22;
    a[2 * GRAN - 1] = 0x33;

    b = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    T_OK(b != NULL && b != a, "a second view at another address");
    T_EQ(b[0], 0x11, "the second view sees the first view's writes");
    T_EQ(b[2 * GRAN - 1], 0x33, "up to the last byte");

    c = MapViewOfFile(h, FILE_MAP_READ, 0, GRAN, 0);
    T_OK(c != NULL, "a view at offset 64 KiB");
    T_EQ(c[0], 0x22, "offset honoured");
    query(c, &mbi);
    T_EQ(mbi.RegionSize, GRAN, "bytes 0 maps from the offset to the end of the section");
    T_OK(UnmapViewOfFile(c), "UnmapViewOfFile");

    c = MapViewOfFile(h, FILE_MAP_READ, 0, GRAN, 100);
    T_OK(c != NULL, "a 100-byte view at offset 64 KiB");
    query(c, &mbi);
    T_EQ(mbi.RegionSize, 4096, "a view covers whole pages");
    T_OK(UnmapViewOfFile(c), "unmapped");

    SetLastError(T_POISON);
    T_ERR(MapViewOfFile(h, FILE_MAP_READ, 0, 4096, 0) != NULL, ERROR_MAPPED_ALIGNMENT,
          "an offset that is not a multiple of 64 KiB");
    T_ERR(MapViewOfFile(h, FILE_MAP_READ, 1, 0, 0) != NULL, ERROR_INVALID_PARAMETER,
          "an offset past the end (4 GiB)");
    T_ERR(MapViewOfFile(h, FILE_MAP_READ, 0, 2 * GRAN, 0) != NULL, ERROR_INVALID_PARAMETER,
          "an offset at the end");
    T_ERR(MapViewOfFile(h, FILE_MAP_READ, 0, 0, 2 * GRAN + 1) != NULL, ERROR_ACCESS_DENIED,
          "a view one byte larger than the section");
    T_ERR(MapViewOfFile(h, FILE_MAP_READ, 0, GRAN, GRAN + 1) != NULL, ERROR_ACCESS_DENIED,
          "offset + bytes past the end");
    T_ERR(MapViewOfFile(h, FILE_MAP_READ, 0, GRAN, ~(SIZE_T)0) != NULL, ERROR_ACCESS_DENIED,
          "a view of SIZE_MAX bytes");
    /* Windows looks at FILE_MAP_WRITE/READ/COPY/EXECUTE only. */
    c = MapViewOfFile(h, FILE_MAP_READ | 0x00400000, 0, 0, 0);
    T_OK(c != NULL, "an unknown access bit changes nothing");
    query(c, &mbi);
    T_EQ(mbi.Protect, PAGE_READONLY, "the view is read-only");
    UnmapViewOfFile(c);
    T_ERR(MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_LARGE_PAGES, 0, 0, 0) != NULL, ERROR_NOT_SUPPORTED,
          "FILE_MAP_LARGE_PAGES");
    T_ERR(MapViewOfFile(NULL, FILE_MAP_READ, 0, 0, 0) != NULL, ERROR_INVALID_HANDLE, "a NULL handle");
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_ERR(MapViewOfFile(ev, FILE_MAP_READ, 0, 0, 0) != NULL, ERROR_INVALID_HANDLE, "an event handle");
    CloseHandle(ev);

    /* Windows unmaps the view that contains the address. */
    T_OK(UnmapViewOfFile(b + 5000), "UnmapViewOfFile of an address inside a view");
    T_ERR(UnmapViewOfFile(b), ERROR_INVALID_ADDRESS, "that unmapped the whole view");
    query(b, &mbi);
    T_EQ(mbi.State, MEM_FREE, "its pages are free again");
    int local = 0;
    T_ERR(UnmapViewOfFile(&local), ERROR_INVALID_ADDRESS, "UnmapViewOfFile of a stack address");
    T_ERR(UnmapViewOfFile(NULL), ERROR_INVALID_ADDRESS, "UnmapViewOfFile(NULL)");

    T_OK(FlushViewOfFile(a, 0), "FlushViewOfFile of a pagefile view succeeds");
    T_OK(FlushViewOfFile(a + 100, 10), "FlushViewOfFile of part of a view");
    T_ERR(FlushViewOfFile(&local, 0), ERROR_INVALID_ADDRESS, "FlushViewOfFile outside any view");
    T_ERR(FlushViewOfFile(a, 2 * GRAN + 1), ERROR_INVALID_PARAMETER, "FlushViewOfFile past the view");

    /* Waiting on a section is not possible: a CreateFileMapping handle has
     * no SYNCHRONIZE right, and with it the object is still not waitable. */
    SetLastError(T_POISON);
    T_ERR(WaitForSingleObject(h, 0) != WAIT_FAILED, ERROR_ACCESS_DENIED,
          "WaitForSingleObject on a CreateFileMapping handle (no SYNCHRONIZE)");
    HANDLE sync = NULL;
    T_OK(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &sync, SYNCHRONIZE | FILE_MAP_READ, FALSE, 0),
         "a duplicate with SYNCHRONIZE");
    SetLastError(T_POISON);
    T_ERR(WaitForSingleObject(sync, 0) != WAIT_FAILED, ERROR_INVALID_HANDLE,
          "WaitForSingleObject on a mapping handle with SYNCHRONIZE");
    CloseHandle(sync);

    /* Nor a file, nor something to signal. */
    char byte = 0;
    DWORD n = T_POISON;
    T_ERR(ReadFile(h, &byte, 1, &n, NULL), ERROR_INVALID_HANDLE, "ReadFile on a mapping handle");
    T_ERR(WriteFile(h, &byte, 1, &n, NULL), ERROR_INVALID_HANDLE, "WriteFile on a mapping handle");
    HANDLE other = CreateEventA(NULL, TRUE, TRUE, NULL);
    SetLastError(T_POISON);
    T_ERR(SignalObjectAndWait(h, other, 0, FALSE) != WAIT_FAILED, ERROR_INVALID_HANDLE,
          "SignalObjectAndWait signalling a mapping");
    CloseHandle(other);

    /* A duplicate handle reaches the same section. */
    HANDLE d = NULL;
    T_OK(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &d, 0, FALSE, DUPLICATE_SAME_ACCESS),
         "DuplicateHandle");
    T_OK(CloseHandle(h), "CloseHandle of the original");
    b = MapViewOfFile(d, FILE_MAP_READ, 0, 0, 0);
    T_OK(b != NULL && b[GRAN] == 0x22, "the duplicate maps the same data");
    T_OK(UnmapViewOfFile(b), "unmapped");
    T_OK(CloseHandle(d), "CloseHandle of the duplicate");
    T_EQ(a[0], 0x11, "a view outlives every handle");
    a[1] = 1;
    T_OK(UnmapViewOfFile(a), "and is unmapped last");
    T_ERR(CloseHandle(h), ERROR_INVALID_HANDLE, "the closed handle is gone");
}

static void test_page_rounding(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    HANDLE h = new_map(PAGE_READWRITE, 0, 4090, NULL);
    unsigned char *p;

    T_OK(h != NULL, "a 4090-byte section");
    p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    T_OK(p != NULL, "mapped whole");
    query(p, &mbi);
    T_EQ(mbi.RegionSize, 4096, "a pagefile section is rounded up to whole pages");
    p[4095] = 7;
    T_OK(UnmapViewOfFile(p), "unmapped");
    p = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 4096);
    T_OK(p != NULL && p[4095] == 7, "a 4096-byte view of it works");
    UnmapViewOfFile(p);
    T_ERR(MapViewOfFile(h, FILE_MAP_READ, 0, 0, 4097) != NULL, ERROR_ACCESS_DENIED, "4097 bytes do not");
    CloseHandle(h);
}

static void test_virtual_query(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    HANDLE h = new_map(PAGE_EXECUTE_READWRITE, 0, 3 * 4096, NULL);
    char *r, *w, *x, *n, *cp;

    r = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    w = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    x = MapViewOfFile(h, FILE_MAP_EXECUTE | FILE_MAP_READ, 0, 0, 0);
    n = MapViewOfFile(h, 0, 0, 0, 0);
    cp = MapViewOfFile(h, FILE_MAP_COPY, 0, 0, 0);
    T_OK(r && w && x && n && cp, "five views of an execute-read-write section");

    query(r + 5000, &mbi);
    T_EQ(GetLastError(), T_POISON, "VirtualQuery leaves the last error alone");
    T_OK(mbi.BaseAddress == r + 4096, "BaseAddress is the page of the address");
    T_OK(mbi.AllocationBase == r, "AllocationBase is the view");
    T_EQ(mbi.AllocationProtect, PAGE_READONLY, "FILE_MAP_READ view: AllocationProtect PAGE_READONLY");
    T_EQ(mbi.Protect, PAGE_READONLY, "Protect PAGE_READONLY");
    T_EQ(mbi.RegionSize, 2 * 4096, "RegionSize to the end of the view");
    T_EQ(mbi.State, MEM_COMMIT, "MEM_COMMIT");
    T_EQ(mbi.Type, MEM_MAPPED, "MEM_MAPPED");
    query(w, &mbi);
    T_EQ(mbi.Protect, PAGE_READWRITE, "FILE_MAP_WRITE view: PAGE_READWRITE");
    query(x, &mbi);
    T_EQ(mbi.Protect, PAGE_EXECUTE_READ, "FILE_MAP_EXECUTE | FILE_MAP_READ view: PAGE_EXECUTE_READ");
    query(n, &mbi);
    T_EQ(mbi.Protect, PAGE_NOACCESS, "access 0: a PAGE_NOACCESS view");
    query(cp, &mbi);
    T_EQ(mbi.Protect, PAGE_WRITECOPY, "FILE_MAP_COPY view: PAGE_WRITECOPY");

    w[10] = 'w';
    cp[10] = 'c';
    T_EQ(r[10], 'w', "the shared view sees shared writes");
    T_EQ(x[10], 'w', "so does the execute view");
    T_EQ(cp[10], 'c', "the copy-on-write view keeps its private write");
    T_OK(UnmapViewOfFile(cp), "copy view unmapped");
    T_EQ(r[10], 'w', "a private write never reached the section");

    UnmapViewOfFile(r);
    UnmapViewOfFile(w);
    UnmapViewOfFile(x);
    UnmapViewOfFile(n);
    CloseHandle(h);

    /* Outside views. */
    static int global_var;
    query(&global_var, &mbi);
    T_EQ(mbi.State, MEM_COMMIT, "a global variable is committed memory");
    T_OK(mbi.Protect == PAGE_READWRITE || mbi.Protect == PAGE_WRITECOPY, "and writable");
    T_OK(mbi.BaseAddress == (void *)((ULONG_PTR)&global_var & ~(ULONG_PTR)4095), "BaseAddress its page");
    SetLastError(T_POISON);
    T_EQ(VirtualQuery(&global_var, &mbi, sizeof mbi - 1), 0, "a buffer too small");
    T_EQ(GetLastError(), ERROR_BAD_LENGTH, "ERROR_BAD_LENGTH");
    SetLastError(T_POISON);
    T_EQ(VirtualQuery((void *)~(ULONG_PTR)0, &mbi, sizeof mbi), 0, "an address above user space");
    T_EQ(GetLastError(), ERROR_INVALID_PARAMETER, "ERROR_INVALID_PARAMETER");
}

static void test_protections(void)
{
    HANDLE ro = new_map(PAGE_READONLY, 0, GRAN, NULL);
    HANDLE wc = new_map(PAGE_WRITECOPY, 0, GRAN, NULL);
    HANDLE rw = new_map(PAGE_READWRITE, 0, GRAN, NULL);
    HANDLE rx = new_map(PAGE_EXECUTE_READ, 0, GRAN, NULL);
    char *p;

    T_OK(ro && wc && rw && rx, "PAGE_READONLY, PAGE_WRITECOPY, PAGE_READWRITE, PAGE_EXECUTE_READ sections");
    SetLastError(T_POISON);
    T_ERR(MapViewOfFile(ro, FILE_MAP_WRITE, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED,
          "FILE_MAP_WRITE on a PAGE_READONLY section");
    T_ERR(MapViewOfFile(ro, FILE_MAP_ALL_ACCESS, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED,
          "FILE_MAP_ALL_ACCESS on a PAGE_READONLY section");
    T_ERR(MapViewOfFile(ro, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED,
          "FILE_MAP_EXECUTE on a section without execute");
    T_ERR(MapViewOfFile(wc, FILE_MAP_WRITE, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED,
          "FILE_MAP_WRITE on a PAGE_WRITECOPY section");
    T_ERR(MapViewOfFile(rx, FILE_MAP_WRITE, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED,
          "FILE_MAP_WRITE on a PAGE_EXECUTE_READ section");

    p = MapViewOfFile(ro, FILE_MAP_READ, 0, 0, 0);
    T_OK(p != NULL && p[0] == 0, "FILE_MAP_READ on PAGE_READONLY");
    UnmapViewOfFile(p);
    p = MapViewOfFile(ro, FILE_MAP_COPY, 0, 0, 0);
    T_OK(p != NULL, "FILE_MAP_COPY on PAGE_READONLY");
    if (p) {
        p[0] = 42; /* private */
        T_EQ(p[0], 42, "a copy-on-write view of a read-only section is writable");
        UnmapViewOfFile(p);
    }
    p = MapViewOfFile(ro, FILE_MAP_READ, 0, 0, 0);
    T_OK(p != NULL && p[0] == 0, "and the section is unchanged");
    UnmapViewOfFile(p);
    p = MapViewOfFile(wc, FILE_MAP_COPY, 0, 0, 0);
    T_OK(p != NULL, "FILE_MAP_COPY on PAGE_WRITECOPY");
    UnmapViewOfFile(p);
    p = MapViewOfFile(rx, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, 0);
    T_OK(p != NULL, "FILE_MAP_EXECUTE on PAGE_EXECUTE_READ");
    UnmapViewOfFile(p);
    p = MapViewOfFile(rw, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    T_OK(p != NULL, "FILE_MAP_ALL_ACCESS on PAGE_READWRITE");
    UnmapViewOfFile(p);

    CloseHandle(ro);
    CloseHandle(wc);
    CloseHandle(rw);
    CloseHandle(rx);

    p = NULL;
    HANDLE sr = new_map(PAGE_READWRITE | SEC_RESERVE, 0, GRAN, NULL);
    T_OK(sr != NULL, "SEC_RESERVE is accepted");
    p = MapViewOfFile(sr, FILE_MAP_WRITE, 0, 0, 0);
    T_OK(p != NULL, "and mapped");
    if (p) {
        p[GRAN - 1] = 1;
        T_EQ(p[GRAN - 1], 1, "its pages are committed on first touch");
        UnmapViewOfFile(p);
    }
    CloseHandle(sr);
    sr = new_map(PAGE_READWRITE | SEC_COMMIT, 0, GRAN, NULL);
    T_OK(sr != NULL, "SEC_COMMIT");
    CloseHandle(sr);
}

static void test_names(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    HANDLE h, h2, o;
    char *p, *q;

    SetLastError(T_POISON);
    h = new_map(PAGE_READWRITE, 0, 8192, t_name("map-one"));
    T_OK(h != NULL, "named mapping created");
    T_EQ(GetLastError(), 0, "a new name clears the last error");
    p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    T_OK(p != NULL, "mapped");
    strcpy(p, "hello");

    SetLastError(T_POISON);
    h2 = new_map(PAGE_READONLY, 0, 4 * GRAN, t_name("map-one"));
    T_OK(h2 != NULL && h2 != h, "the same name opens it again");
    T_EQ(GetLastError(), ERROR_ALREADY_EXISTS, "ERROR_ALREADY_EXISTS");
    /* The handle's rights follow the protection asked for: read only. */
    T_ERR(MapViewOfFile(h2, FILE_MAP_WRITE, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED,
          "a PAGE_READONLY call gives a handle without SECTION_MAP_WRITE");
    q = MapViewOfFile(h2, FILE_MAP_READ, 0, 0, 0);
    T_OK(q != NULL, "but it maps the existing section for reading");
    query(q, &mbi);
    T_EQ(mbi.RegionSize, 8192, "and its size: the new size was ignored");
    T_OK(q && strcmp(q, "hello") == 0, "and its data");
    UnmapViewOfFile(q);
    T_ERR(MapViewOfFile(h2, FILE_MAP_READ, 0, 0, 4 * GRAN) != NULL, ERROR_ACCESS_DENIED,
          "a view of the size asked the second time");
    CloseHandle(h2);

    o = OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("map-one"));
    T_OK(o != NULL, "OpenFileMapping FILE_MAP_READ");
    SetLastError(T_POISON);
    T_ERR(MapViewOfFile(o, FILE_MAP_WRITE, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED,
          "FILE_MAP_WRITE through a FILE_MAP_READ handle");
    q = MapViewOfFile(o, FILE_MAP_READ, 0, 0, 0);
    T_OK(q && strcmp(q, "hello") == 0, "FILE_MAP_READ through it sees the data");
    UnmapViewOfFile(q);
    q = MapViewOfFile(o, 0, 0, 0, 0);
    T_OK(q != NULL, "a no-access view through a FILE_MAP_READ handle");
    UnmapViewOfFile(q);
    CloseHandle(o);

    o = OpenFileMappingA(FILE_MAP_WRITE, FALSE, t_name("map-one"));
    T_OK(o != NULL, "OpenFileMapping FILE_MAP_WRITE");
    T_ERR(MapViewOfFile(o, FILE_MAP_READ, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED,
          "FILE_MAP_READ through a FILE_MAP_WRITE handle");
    q = MapViewOfFile(o, FILE_MAP_WRITE, 0, 0, 0);
    T_OK(q != NULL, "FILE_MAP_WRITE through it");
    if (q)
        q[0] = 'j';
    T_EQ(p[0], 'j', "writes through it reach the section");
    UnmapViewOfFile(q);
    CloseHandle(o);

    o = OpenFileMappingA(FILE_MAP_COPY, FALSE, t_name("map-one"));
    T_OK(o != NULL, "OpenFileMapping FILE_MAP_COPY");
    q = MapViewOfFile(o, FILE_MAP_COPY, 0, 0, 0);
    T_OK(q != NULL, "a copy-on-write view through it");
    UnmapViewOfFile(q);
    CloseHandle(o);

    o = OpenFileMappingA(GENERIC_READ, FALSE, t_name("map-one"));
    T_OK(o != NULL, "OpenFileMapping GENERIC_READ");
    q = MapViewOfFile(o, FILE_MAP_READ, 0, 0, 0);
    T_OK(q != NULL, "GENERIC_READ grants SECTION_MAP_READ");
    UnmapViewOfFile(q);
    T_ERR(MapViewOfFile(o, FILE_MAP_WRITE, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED, "but not SECTION_MAP_WRITE");
    CloseHandle(o);

    o = OpenFileMappingA(0, FALSE, t_name("map-one"));
    T_OK(o != NULL, "OpenFileMapping with no access");
    T_ERR(MapViewOfFile(o, 0, 0, 0, 0) != NULL, ERROR_ACCESS_DENIED, "cannot map even a no-access view");
    CloseHandle(o);

    o = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, L"Local\\winipc-test-map-one");
    T_OK(o != NULL, "OpenFileMappingW with a Local\\ prefix");
    CloseHandle(o);

    SetLastError(T_POISON);
    T_ERR(OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("no-such-map")) != NULL, ERROR_FILE_NOT_FOUND,
          "OpenFileMapping of a missing name");
    T_ERR(OpenFileMappingA(FILE_MAP_READ, FALSE, NULL) != NULL, ERROR_INVALID_PARAMETER, "OpenFileMapping(NULL)");
    T_ERR(new_map(PAGE_READWRITE, 0, 4096, "bad\\name") != NULL, ERROR_PATH_NOT_FOUND,
          "a backslash inside the name");
    T_ERR(OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("map-one-x")) != NULL, ERROR_FILE_NOT_FOUND,
          "names are not prefixes");

    h2 = new_map(PAGE_READWRITE, 0, 4096, "Global\\winipc-test-map-one");
    T_OK(h2 != NULL, "a Global\\ name of the same text");
    T_EQ(GetLastError(), 0, "is another object");
    CloseHandle(h2);

    h2 = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, L"winipc-test-wide-\u00e9");
    T_OK(h2 != NULL, "CreateFileMappingW with a non-ASCII name");
    o = OpenFileMappingA(FILE_MAP_READ, FALSE, "winipc-test-wide-\xc3\xa9");
    T_OK(o != NULL, "found by OpenFileMappingA in UTF-8");
    CloseHandle(o);
    CloseHandle(h2);

    /* One namespace with events: another type's name is ERROR_INVALID_HANDLE. */
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, t_name("clash"));
    T_OK(ev != NULL, "an event named clash");
    SetLastError(T_POISON);
    T_ERR(new_map(PAGE_READWRITE, 0, 4096, t_name("clash")) != NULL, ERROR_INVALID_HANDLE,
          "CreateFileMapping on an event's name");
    T_ERR(OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("clash")) != NULL, ERROR_INVALID_HANDLE,
          "OpenFileMapping on an event's name");
    CloseHandle(ev);
    T_ERR(CreateEventA(NULL, TRUE, FALSE, t_name("map-one")) != NULL, ERROR_INVALID_HANDLE,
          "CreateEvent on a mapping's name");

    /* NT deletes a name with its last handle; a view keeps only the data. */
    CloseHandle(h);
    T_EQ(p[0], 'j', "the view still reads after the last CloseHandle");
    p[1] = 'k';
    T_EQ(p[1], 'k', "and writes");
    SetLastError(T_POISON);
    T_ERR(OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("map-one")) != NULL, ERROR_FILE_NOT_FOUND,
          "but the name went with the last handle");
    SetLastError(T_POISON);
    h = new_map(PAGE_READWRITE, 0, 8192, t_name("map-one"));
    T_EQ(GetLastError(), 0, "CreateFileMapping of that name makes a new section");
    q = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    T_OK(q && q[0] == 0, "whose data is fresh");
    UnmapViewOfFile(q);
    CloseHandle(h);
    T_OK(UnmapViewOfFile(p), "the old view unmaps");
}

static void test_base_address(void)
{
    HANDLE h = new_map(PAGE_READWRITE, 0, 2 * GRAN, NULL);
    char *p, *q;

    p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    T_OK(p != NULL, "a view to learn a free address");
    p[0] = 'x';
    SetLastError(T_POISON);
    T_ERR(MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0, p) != NULL, ERROR_INVALID_ADDRESS,
          "MapViewOfFileEx on an occupied address");
    T_ERR(MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0, p + 4096) != NULL, ERROR_MAPPED_ALIGNMENT,
          "a base address that is not a multiple of 64 KiB");
    T_OK(UnmapViewOfFile(p), "unmapped");
    q = MapViewOfFileEx(h, FILE_MAP_READ, 0, GRAN, 0, p);
    T_OK(q == p, "MapViewOfFileEx at a free address returns exactly it");
    UnmapViewOfFile(q);
    q = MapViewOfFileEx(h, FILE_MAP_READ, 0, 0, 0, p);
    T_OK(q == p && q[0] == 'x', "with the right data");
    UnmapViewOfFile(q);
    q = MapViewOfFileEx(h, FILE_MAP_READ, 0, 0, 0, NULL);
    T_OK(q != NULL, "a NULL base address lets the system choose");
    UnmapViewOfFile(q);
    CloseHandle(h);
}

static void test_large(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    /* 4 GiB + 64 KiB through dwMaximumSizeHigh. */
    HANDLE h = new_map(PAGE_READWRITE, 1, GRAN, NULL);
    unsigned char *tail, *whole;

    T_OK(h != NULL, "a 4 GiB + 64 KiB section");
    tail = MapViewOfFile(h, FILE_MAP_WRITE, 1, 0, 0);
    T_OK(tail != NULL, "a view at offset 4 GiB");
    query(tail, &mbi);
    T_EQ(mbi.RegionSize, GRAN, "covering the last 64 KiB");
    if (tail)
        tail[GRAN - 1] = 0x5a;
    if (sizeof(void *) == 8) {
        whole = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
        T_OK(whole != NULL, "a view of the whole section");
        T_EQ(whole ? whole[0x100000000ull + GRAN - 1] : 0, 0x5a, "its last byte is the tail view's");
        T_EQ(whole ? whole[0x80000000ull] : 1, 0, "an untouched page in the middle reads zero");
        UnmapViewOfFile(whole);
    }
    UnmapViewOfFile(tail);
    CloseHandle(h);

    /* 16 GiB costs nothing until touched. */
    h = new_map(PAGE_READWRITE, 4, 0, t_name("sixteen"));
    T_OK(h != NULL, "a named 16 GiB section");
    tail = MapViewOfFile(h, FILE_MAP_WRITE, 3, 0xFFFF0000u, 0);
    T_OK(tail != NULL, "its last 64 KiB mapped");
    if (tail) {
        tail[GRAN - 1] = 1;
        T_EQ(tail[GRAN - 1], 1, "a page at the far end is usable");
    }
    UnmapViewOfFile(tail);
    CloseHandle(h);
}

#define THREADS 4
#define ROUNDS 300

static HANDLE shared_map;

static DWORD WINAPI churn(LPVOID arg)
{
    DWORD id = (DWORD)(ULONG_PTR)arg, bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        DWORD *p = MapViewOfFile(shared_map, FILE_MAP_WRITE, 0, id * GRAN, GRAN);
        if (!p)
            return 1000000;
        p[i % 1000] = id * 100000 + (DWORD)i;
        if (p[i % 1000] != id * 100000 + (DWORD)i)
            bad++;
        if (!UnmapViewOfFile((char *)p + (i % GRAN)))
            bad++;
    }
    return bad;
}

static void test_threads(void)
{
    HANDLE th[THREADS];
    shared_map = new_map(PAGE_READWRITE, 0, THREADS * GRAN, NULL);
    for (int i = 0; i < THREADS; i++)
        th[i] = CreateThread(NULL, 0, churn, (LPVOID)(ULONG_PTR)i, 0, NULL);
    T_EQ(WaitForMultipleObjects(THREADS, th, TRUE, 20000), WAIT_OBJECT_0, "map/unmap threads finished");
    DWORD total = 0, code;
    for (int i = 0; i < THREADS; i++) {
        code = T_POISON;
        GetExitCodeThread(th[i], &code);
        total += code;
        CloseHandle(th[i]);
    }
    T_EQ(total, 0, "concurrent MapViewOfFile/UnmapViewOfFile from four threads");
    DWORD *p = MapViewOfFile(shared_map, FILE_MAP_READ, 0, 0, 0);
    T_OK(p != NULL && p[(ROUNDS - 1) % 1000] == (DWORD)(ROUNDS - 1) && p[GRAN / 4 + (ROUNDS - 1) % 1000] ==
                                                                          100000u + ROUNDS - 1,
         "each thread's last write is in the section");
    UnmapViewOfFile(p);
    CloseHandle(shared_map);
}

int main(void)
{
    test_create_errors();
    test_unnamed_views();
    test_page_rounding();
    test_virtual_query();
    test_protections();
    test_names();
    test_base_address();
    test_large();
    test_threads();
    return t_done();
}
