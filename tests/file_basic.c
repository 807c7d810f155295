/* SPDX-License-Identifier: MIT */
/* Files: CreateFile dispositions and their last errors, paths, read/write,
 * file pointer and size, overlapped requests on files, share modes within
 * one process and across processes, delete-on-close, DeleteFile, temporary
 * names, standard handles, bad handles and NULL pointers. */
#include "test.h"

static char tmpdir[MAX_PATH];

/* A path in the temporary directory, unique to this process. */
static const char *path_of(const char *tag)
{
    static char buf[8][MAX_PATH + 64];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, MAX_PATH + 64, "%swipc-file-%lu-%s", tmpdir, (unsigned long)GetCurrentProcessId(), tag);
    return b;
}

static HANDLE open_file(const char *path, DWORD access, DWORD share, DWORD disposition)
{
    return CreateFileA(path, access, share, NULL, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
}

static DWORD file_size(HANDLE h)
{
    DWORD high = T_POISON;
    DWORD low = GetFileSize(h, &high);
    return high == 0 ? low : 0xFFFFFFFFu;
}

static void test_dispositions(void)
{
    const char *p = path_of("disp");
    HANDLE h;
    DWORD n;

    DeleteFileA(p);
    SetLastError(T_POISON);
    h = open_file(p, GENERIC_READ | GENERIC_WRITE, 0, CREATE_NEW);
    T_OK(h != INVALID_HANDLE_VALUE, "CREATE_NEW creates a file");
    T_EQ(GetLastError(), 0, "CREATE_NEW of a new file clears the last error");
    n = T_POISON;
    T_OK(WriteFile(h, "hello world", 11, &n, NULL), "WriteFile");
    T_EQ(n, 11, "11 bytes written");
    T_OK(CloseHandle(h), "CloseHandle");

    SetLastError(T_POISON);
    h = open_file(p, GENERIC_READ, FILE_SHARE_READ, CREATE_NEW);
    T_ERR(h != INVALID_HANDLE_VALUE, ERROR_FILE_EXISTS, "CREATE_NEW on an existing file: ERROR_FILE_EXISTS");

    SetLastError(T_POISON);
    h = open_file(p, GENERIC_READ, FILE_SHARE_READ, OPEN_ALWAYS);
    T_OK(h != INVALID_HANDLE_VALUE, "OPEN_ALWAYS opens an existing file");
    T_EQ(GetLastError(), ERROR_ALREADY_EXISTS, "OPEN_ALWAYS on an existing file: ERROR_ALREADY_EXISTS");
    T_EQ(file_size(h), 11, "OPEN_ALWAYS keeps the contents");
    CloseHandle(h);

    SetLastError(T_POISON);
    h = open_file(p, GENERIC_READ, FILE_SHARE_READ, OPEN_EXISTING);
    T_OK(h != INVALID_HANDLE_VALUE, "OPEN_EXISTING opens it");
    T_EQ(GetLastError(), 0, "OPEN_EXISTING success clears the last error");
    CloseHandle(h);

    SetLastError(T_POISON);
    h = open_file(p, GENERIC_WRITE, 0, CREATE_ALWAYS);
    T_OK(h != INVALID_HANDLE_VALUE, "CREATE_ALWAYS on an existing file succeeds");
    T_EQ(GetLastError(), ERROR_ALREADY_EXISTS, "with ERROR_ALREADY_EXISTS as the last error");
    T_EQ(file_size(h), 0, "and truncates it");
    WriteFile(h, "abc", 3, &n, NULL);
    CloseHandle(h);

    h = open_file(p, GENERIC_READ, 0, CREATE_ALWAYS);
    T_OK(h != INVALID_HANDLE_VALUE && file_size(h) == 0, "CREATE_ALWAYS with only GENERIC_READ also overwrites");
    CloseHandle(h);
    h = open_file(p, GENERIC_WRITE, 0, OPEN_EXISTING);
    WriteFile(h, "abc", 3, &n, NULL);
    CloseHandle(h);

    SetLastError(T_POISON);
    h = open_file(p, GENERIC_READ, 0, TRUNCATE_EXISTING);
    T_ERR(h != INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER, "TRUNCATE_EXISTING without GENERIC_WRITE");
    SetLastError(T_POISON);
    h = open_file(p, GENERIC_WRITE, 0, TRUNCATE_EXISTING);
    T_OK(h != INVALID_HANDLE_VALUE, "TRUNCATE_EXISTING with GENERIC_WRITE");
    T_EQ(GetLastError(), 0, "clears the last error");
    T_EQ(file_size(h), 0, "and empties the file");
    CloseHandle(h);
    T_ERR(open_file(path_of("missing"), GENERIC_WRITE, 0, TRUNCATE_EXISTING) != INVALID_HANDLE_VALUE,
          ERROR_FILE_NOT_FOUND, "TRUNCATE_EXISTING on a missing file");
    T_OK(DeleteFileA(p), "DeleteFile");

    SetLastError(T_POISON);
    h = open_file(p, GENERIC_READ, 0, OPEN_ALWAYS);
    T_OK(h != INVALID_HANDLE_VALUE, "OPEN_ALWAYS creates a missing file");
    T_EQ(GetLastError(), 0, "and clears the last error");
    CloseHandle(h);
    DeleteFileA(p);
    SetLastError(T_POISON);
    h = open_file(p, GENERIC_READ, 0, CREATE_ALWAYS);
    T_OK(h != INVALID_HANDLE_VALUE, "CREATE_ALWAYS creates a missing file");
    T_EQ(GetLastError(), 0, "and clears the last error");
    CloseHandle(h);
    DeleteFileA(p);

    T_ERR(open_file(p, GENERIC_READ, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND,
          "OPEN_EXISTING on a missing file: ERROR_FILE_NOT_FOUND");
    char deep[MAX_PATH + 80];
    snprintf(deep, sizeof deep, "%s/inner", path_of("nodir"));
    T_ERR(open_file(deep, GENERIC_READ, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND,
          "OPEN_EXISTING in a missing directory: ERROR_PATH_NOT_FOUND");
    T_ERR(open_file(deep, GENERIC_WRITE, 0, CREATE_NEW) != INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND,
          "CREATE_NEW in a missing directory: ERROR_PATH_NOT_FOUND");
    T_ERR(open_file(p, GENERIC_READ, 0, 0) != INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER, "disposition 0");
    T_ERR(open_file(p, GENERIC_READ, 0, 6) != INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER, "disposition 6");
    T_ERR(open_file(p, GENERIC_READ, 0x8, CREATE_ALWAYS) != INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER,
          "unknown share-mode bit");
    T_ERR(open_file(p, GENERIC_READ, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND,
          "failed calls created nothing");
}

static void test_paths(void)
{
    char back[MAX_PATH + 64];
    const char *p = path_of("paths");
    HANDLE h, h2;
    DWORD n;

    T_ERR(open_file("", GENERIC_READ, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND,
          "empty name: ERROR_PATH_NOT_FOUND");
    T_ERR(open_file(NULL, GENERIC_READ, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND,
          "NULL name: ERROR_PATH_NOT_FOUND");
    T_ERR(open_file("\\\\.\\winipc-no-such-device", GENERIC_READ, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE,
          ERROR_FILE_NOT_FOUND, "unknown \\\\.\\ device: ERROR_FILE_NOT_FOUND");
    T_ERR(open_file("\\\\.\\pipe\\winipc-file-test-no-such-pipe", GENERIC_READ, 0, OPEN_EXISTING) !=
              INVALID_HANDLE_VALUE,
          ERROR_FILE_NOT_FOUND, "\\\\.\\pipe\\ names reach the pipe namespace: a missing pipe");
    T_ERR(tmpdir[0] != '/' || open_file(tmpdir, GENERIC_READ, FILE_SHARE_READ, OPEN_EXISTING) != INVALID_HANDLE_VALUE,
          ERROR_ACCESS_DENIED, "a directory opened as a file: ERROR_ACCESS_DENIED");

    /* Backslashes separate like slashes. */
    h = open_file(p, GENERIC_WRITE, FILE_SHARE_READ, CREATE_ALWAYS);
    WriteFile(h, "xyz", 3, &n, NULL);
    snprintf(back, sizeof back, "%s", p);
    for (char *c = back; *c; c++)
        if (*c == '/')
            *c = '\\';
    h2 = open_file(back, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING);
    T_OK(h2 != INVALID_HANDLE_VALUE, "the same path written with backslashes opens the file");
    T_EQ(file_size(h2), 3, "and sees its contents");
    CloseHandle(h2);
    CloseHandle(h);

    wchar_t wide[MAX_PATH];
    for (int i = 0; (wide[i] = (wchar_t)(unsigned char)p[i]) != 0; i++)
        ;
    h = CreateFileW(wide, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "CreateFileW opens the same file");
    T_EQ(file_size(h), 3, "CreateFileW handle sees the data");
    CloseHandle(h);
    T_OK(DeleteFileW(wide), "DeleteFileW");
}

static void test_io(void)
{
    const char *p = path_of("io");
    char buf[64];
    DWORD n, high;
    LONG hi;
    LARGE_INTEGER li, pos;
    HANDLE h = open_file(p, GENERIC_READ | GENERIC_WRITE, 0, CREATE_ALWAYS);

    T_EQ(GetFileType(h), FILE_TYPE_DISK, "GetFileType of a file: FILE_TYPE_DISK");
    T_OK(WriteFile(h, "hello world", 11, &n, NULL) && n == 11, "write 11 bytes");
    T_EQ(SetFilePointer(h, 0, NULL, FILE_CURRENT), 11, "the pointer follows the write");
    T_EQ(SetFilePointer(h, 0, NULL, FILE_BEGIN), 0, "rewind");
    n = T_POISON;
    memset(buf, 0, sizeof buf);
    T_OK(ReadFile(h, buf, sizeof buf, &n, NULL), "ReadFile");
    T_EQ(n, 11, "a read of 64 at offset 0 returns the 11 bytes there");
    T_STR(buf, "hello world", "contents");
    n = T_POISON;
    T_OK(ReadFile(h, buf, sizeof buf, &n, NULL), "a synchronous read at end of file succeeds");
    T_EQ(n, 0, "with 0 bytes");
    n = T_POISON;
    T_OK(ReadFile(h, buf, 0, &n, NULL) && n == 0, "a zero-byte read succeeds");
    T_ERR(ReadFile(h, buf, 5, NULL, NULL), ERROR_INVALID_PARAMETER, "ReadFile without count or OVERLAPPED");
    T_ERR(WriteFile(h, buf, 5, NULL, NULL), ERROR_INVALID_PARAMETER, "WriteFile without count or OVERLAPPED");
    T_ERR(ReadFile(h, NULL, 5, &n, NULL), ERROR_NOACCESS, "ReadFile into NULL");

    T_EQ(SetFilePointer(h, -5, NULL, FILE_END), 6, "FILE_END - 5");
    memset(buf, 0, sizeof buf);
    T_OK(ReadFile(h, buf, 5, &n, NULL) && n == 5, "read 5");
    T_STR(buf, "world", "from the end");
    SetLastError(T_POISON);
    T_EQ(SetFilePointer(h, -100, NULL, FILE_CURRENT), INVALID_SET_FILE_POINTER, "seek before the start fails");
    T_EQ(GetLastError(), ERROR_NEGATIVE_SEEK, "with ERROR_NEGATIVE_SEEK");
    T_EQ(SetFilePointer(h, 0, NULL, FILE_CURRENT), 11, "and the pointer did not move");
    T_ERR(SetFilePointer(h, 0, NULL, 3) != INVALID_SET_FILE_POINTER, ERROR_INVALID_PARAMETER, "move method 3");

    hi = 1;
    T_EQ(SetFilePointer(h, 5, &hi, FILE_BEGIN), 5, "a 64-bit position: low half returned");
    T_EQ(hi, 1, "high half written back");
    SetLastError(T_POISON);
    T_EQ(SetFilePointer(h, 0, NULL, FILE_CURRENT), INVALID_SET_FILE_POINTER,
         "without a high part, a position past 4 GiB cannot be reported");
    T_OK(GetLastError() != 0 && GetLastError() != T_POISON, "and fails with an error");
    hi = 0;
    SetLastError(T_POISON);
    T_EQ(SetFilePointer(h, -1, &hi, FILE_BEGIN), 0xFFFFFFFFu, "position 0xFFFFFFFF is a valid result");
    T_EQ(GetLastError(), NO_ERROR, "told apart by GetLastError() == NO_ERROR");
    T_EQ(hi, 0, "high half 0");
    hi = -1;
    SetLastError(T_POISON);
    T_EQ(SetFilePointer(h, -1, &hi, FILE_BEGIN), INVALID_SET_FILE_POINTER, "a negative 64-bit position");
    T_EQ(GetLastError(), ERROR_NEGATIVE_SEEK, "ERROR_NEGATIVE_SEEK");

    li.QuadPart = 3;
    pos.QuadPart = -1;
    T_OK(SetFilePointerEx(h, li, &pos, FILE_BEGIN), "SetFilePointerEx");
    T_EQ(pos.QuadPart, 3, "new position reported");
    li.QuadPart = -4;
    T_ERR(SetFilePointerEx(h, li, &pos, FILE_CURRENT), ERROR_NEGATIVE_SEEK, "SetFilePointerEx before the start");
    li.QuadPart = 2;
    T_OK(SetFilePointerEx(h, li, NULL, FILE_CURRENT), "SetFilePointerEx with a NULL result");
    T_EQ(SetFilePointer(h, 0, NULL, FILE_CURRENT), 5, "moved relative to 3");

    high = T_POISON;
    T_EQ(GetFileSize(h, &high), 11, "GetFileSize");
    T_EQ(high, 0, "high half 0");
    li.QuadPart = -1;
    T_OK(GetFileSizeEx(h, &li) && li.QuadPart == 11, "GetFileSizeEx");
    SetFilePointer(h, 4, NULL, FILE_BEGIN);
    T_OK(SetEndOfFile(h), "SetEndOfFile at 4");
    T_EQ(file_size(h), 4, "truncated to 4");
    SetFilePointer(h, 100, NULL, FILE_BEGIN);
    T_OK(SetEndOfFile(h), "SetEndOfFile at 100");
    T_EQ(file_size(h), 100, "extended to 100");

    /* Sizes beyond 32 bits (sparse). */
    hi = 0;
    SetFilePointer(h, -1, &hi, FILE_BEGIN);
    if (SetEndOfFile(h)) {
        high = T_POISON;
        SetLastError(T_POISON);
        T_EQ(GetFileSize(h, &high), INVALID_FILE_SIZE, "size 0xFFFFFFFF: the low half equals INVALID_FILE_SIZE");
        T_EQ(GetLastError(), NO_ERROR, "and the last error says it is a size");
        hi = 1;
        SetFilePointer(h, 0x10, &hi, FILE_BEGIN);
        T_OK(SetEndOfFile(h), "SetEndOfFile past 4 GiB");
        T_EQ(GetFileSize(h, &high), 0x10, "low half");
        T_EQ(high, 1, "high half");
        T_OK(GetFileSizeEx(h, &li) && li.QuadPart == 0x100000010LL, "GetFileSizeEx past 4 GiB");
    } else {
        T_OK(0, "sparse 4 GiB file (file system refused)");
    }
    SetFilePointer(h, 0, NULL, FILE_BEGIN);
    SetEndOfFile(h);
    T_OK(FlushFileBuffers(h), "FlushFileBuffers");
    CloseHandle(h);

    /* Access rights. */
    h = open_file(p, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING);
    T_ERR(WriteFile(h, "x", 1, &n, NULL), ERROR_ACCESS_DENIED, "WriteFile on a read-only handle");
    T_ERR(SetEndOfFile(h), ERROR_ACCESS_DENIED, "SetEndOfFile on a read-only handle");
    T_ERR(FlushFileBuffers(h), ERROR_ACCESS_DENIED, "FlushFileBuffers on a read-only handle");
    HANDLE w = open_file(p, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING);
    T_ERR(ReadFile(w, buf, 1, &n, NULL), ERROR_ACCESS_DENIED, "ReadFile on a write-only handle");
    T_OK(WriteFile(w, "0123456789", 10, &n, NULL) && n == 10, "writing through the write-only handle");
    T_OK(ReadFile(h, buf, 10, &n, NULL) && n == 10, "two opens, two file pointers: the reader starts at 0");
    CloseHandle(w);
    CloseHandle(h);

    /* Append-only access writes at the end whatever the pointer says. */
    h = open_file(p, FILE_APPEND_DATA | SYNCHRONIZE, FILE_SHARE_READ, OPEN_EXISTING);
    T_OK(h != INVALID_HANDLE_VALUE, "open with FILE_APPEND_DATA only");
    SetFilePointer(h, 0, NULL, FILE_BEGIN);
    T_OK(WriteFile(h, "AB", 2, &n, NULL) && n == 2, "append");
    CloseHandle(h);
    h = open_file(p, GENERIC_READ, FILE_SHARE_READ, OPEN_EXISTING);
    memset(buf, 0, sizeof buf);
    ReadFile(h, buf, sizeof buf, &n, NULL);
    T_STR(buf, "0123456789AB", "FILE_APPEND_DATA wrote at the end");
    CloseHandle(h);

    /* A query-only open (access 0) needs no share mode and can read no data. */
    h = open_file(p, 0, 0, OPEN_EXISTING);
    T_OK(h != INVALID_HANDLE_VALUE, "access 0 opens");
    T_EQ(file_size(h), 12, "and can query the size");
    T_ERR(ReadFile(h, buf, 1, &n, NULL), ERROR_ACCESS_DENIED, "but not read");
    CloseHandle(h);
    DeleteFileA(p);
}

static void test_overlapped(void)
{
    const char *p = path_of("ovl");
    char buf[32];
    DWORD n;
    OVERLAPPED ov;
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE h = open_file(p, GENERIC_READ | GENERIC_WRITE, 0, CREATE_ALWAYS);

    WriteFile(h, "hello world", 11, &n, NULL);
    memset(&ov, 0, sizeof ov);
    ov.Offset = 6;
    ov.hEvent = ev;
    memset(buf, 0, sizeof buf);
    n = T_POISON;
    T_OK(ReadFile(h, buf, 5, &n, &ov), "overlapped read on a synchronous handle completes at once");
    T_EQ(n, 5, "count");
    T_STR(buf, "world", "read at the OVERLAPPED offset");
    T_EQ(ov.Internal, 0, "Internal = STATUS_SUCCESS");
    T_EQ(ov.InternalHigh, 5, "InternalHigh = bytes");
    T_OK(HasOverlappedIoCompleted(&ov), "HasOverlappedIoCompleted");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "the event is set");
    n = T_POISON;
    T_OK(GetOverlappedResult(h, &ov, &n, FALSE) && n == 5, "GetOverlappedResult: 5 bytes");
    T_EQ(SetFilePointer(h, 0, NULL, FILE_CURRENT), 11, "a synchronous handle's pointer moves past the transfer");

    ov.Offset = 1000;
    n = T_POISON;
    SetLastError(T_POISON);
    T_ERR(ReadFile(h, buf, 5, &n, &ov), ERROR_HANDLE_EOF, "overlapped read past the end: ERROR_HANDLE_EOF");
    T_EQ(n, 0, "0 bytes");
    T_EQ(ov.Internal, 0xC0000011u, "Internal = STATUS_END_OF_FILE");
    T_ERR(GetOverlappedResult(h, &ov, &n, TRUE), ERROR_HANDLE_EOF, "GetOverlappedResult reports ERROR_HANDLE_EOF");

    ov.Offset = 2;
    T_OK(WriteFile(h, "LL", 2, &n, &ov) && n == 2, "overlapped write at offset 2");
    ov.Offset = 0;
    memset(buf, 0, sizeof buf);
    T_OK(ReadFile(h, buf, 11, &n, &ov), "read it back");
    T_STR(buf, "heLLo world", "positional write landed");
    CloseHandle(h);

    /* A handle opened with FILE_FLAG_OVERLAPPED has no file pointer. */
    h = CreateFileA(p, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "FILE_FLAG_OVERLAPPED open");
    T_ERR(ReadFile(h, buf, 5, &n, NULL), ERROR_INVALID_PARAMETER, "a read without OVERLAPPED is refused");
    memset(&ov, 0, sizeof ov);
    ov.Offset = 0xFFFFFFFFu;
    ov.OffsetHigh = 0xFFFFFFFFu;
    T_OK(WriteFile(h, "!!", 2, NULL, &ov), "offset 0xFFFFFFFF:0xFFFFFFFF appends (count omitted)");
    n = T_POISON;
    T_OK(GetOverlappedResult(h, &ov, &n, TRUE) && n == 2, "GetOverlappedResult gives the count");
    memset(&ov, 0, sizeof ov);
    memset(buf, 0, sizeof buf);
    T_OK(ReadFile(h, buf, sizeof buf, NULL, &ov), "overlapped read without an event");
    T_STR(buf, "heLLo world!!", "appended at the end");
    T_OK(CancelIo(h), "CancelIo with nothing pending");
    T_ERR(CancelIoEx(h, NULL), ERROR_NOT_FOUND, "CancelIoEx with nothing pending: ERROR_NOT_FOUND");
    T_ERR(CancelIoEx(h, &ov), ERROR_NOT_FOUND, "CancelIoEx of a finished request: ERROR_NOT_FOUND");

    memset(&ov, 0, sizeof ov);
    ov.hEvent = (HANDLE)(ULONG_PTR)0x7ffc;
    T_ERR(ReadFile(h, buf, 1, &n, &ov), ERROR_INVALID_HANDLE, "an invalid event handle fails the request");
    CloseHandle(h);

    memset(&ov, 0, sizeof ov);
    ov.Internal = STATUS_PENDING;
    T_ERR(GetOverlappedResult(ev, &ov, &n, FALSE), ERROR_IO_INCOMPLETE,
          "GetOverlappedResult of a pending request without waiting: ERROR_IO_INCOMPLETE");
    T_ERR(CancelIo((HANDLE)(ULONG_PTR)0x7ff0), ERROR_INVALID_HANDLE, "CancelIo on a bad handle");
    T_ERR(CancelIo(ev), ERROR_INVALID_HANDLE, "CancelIo on an event");
    CloseHandle(ev);
    DeleteFileA(p);
}

static void test_sharing(void)
{
    const char *p = path_of("share");
    HANDLE h1, h2, h3, dup;

    h1 = open_file(p, GENERIC_READ, FILE_SHARE_READ, CREATE_ALWAYS);
    T_OK(h1 != INVALID_HANDLE_VALUE, "reader sharing read");
    h2 = open_file(p, GENERIC_READ, FILE_SHARE_READ, OPEN_EXISTING);
    T_OK(h2 != INVALID_HANDLE_VALUE, "a second reader sharing read");
    T_ERR(open_file(p, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING) != INVALID_HANDLE_VALUE,
          ERROR_SHARING_VIOLATION, "a writer while readers deny write");
    T_ERR(open_file(p, GENERIC_READ, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE, ERROR_SHARING_VIOLATION,
          "a reader denying read while others read");
    T_ERR(open_file(p, GENERIC_READ, FILE_SHARE_READ, CREATE_ALWAYS) != INVALID_HANDLE_VALUE,
          ERROR_SHARING_VIOLATION, "CREATE_ALWAYS is refused before it truncates");
    h3 = open_file(p, 0, 0, OPEN_EXISTING);
    T_OK(h3 != INVALID_HANDLE_VALUE, "an attribute-only open (access 0) is never refused");
    CloseHandle(h3);
    CloseHandle(h1);
    CloseHandle(h2);

    h1 = open_file(p, GENERIC_READ | GENERIC_WRITE, 0, OPEN_EXISTING);
    T_OK(h1 != INVALID_HANDLE_VALUE, "exclusive open once the others closed");
    T_ERR(open_file(p, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, OPEN_EXISTING) !=
              INVALID_HANDLE_VALUE,
          ERROR_SHARING_VIOLATION, "anything while it is held exclusively");
    T_ERR(DeleteFileA(p), ERROR_SHARING_VIOLATION, "DeleteFile of a file open without FILE_SHARE_DELETE");
    T_OK(DuplicateHandle(GetCurrentProcess(), h1, GetCurrentProcess(), &dup, 0, FALSE, DUPLICATE_SAME_ACCESS),
         "DuplicateHandle");
    CloseHandle(h1);
    T_ERR(open_file(p, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING) != INVALID_HANDLE_VALUE,
          ERROR_SHARING_VIOLATION, "the duplicate keeps the share access");
    CloseHandle(dup);
    h1 = open_file(p, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING);
    T_OK(h1 != INVALID_HANDLE_VALUE, "released with the last handle");

    h2 = open_file(p, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING);
    T_OK(h2 != INVALID_HANDLE_VALUE, "a writer next to a reader that shares write");
    CloseHandle(h2);
    CloseHandle(h1);

    h1 = open_file(p, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, OPEN_EXISTING);
    T_OK(DeleteFileA(p), "DeleteFile of a file open with FILE_SHARE_DELETE");
    CloseHandle(h1);
    T_ERR(open_file(p, GENERIC_READ, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND,
          "the file is gone");
}

static void test_delete_on_close(void)
{
    const char *p = path_of("doc");
    DWORD n;
    HANDLE h = CreateFileA(p, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "FILE_FLAG_DELETE_ON_CLOSE");
    WriteFile(h, "temp", 4, &n, NULL);
    T_ERR(open_file(p, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING) != INVALID_HANDLE_VALUE,
          ERROR_SHARING_VIOLATION, "later opens need FILE_SHARE_DELETE");
    HANDLE h2 = open_file(p, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, OPEN_EXISTING);
    T_OK(h2 != INVALID_HANDLE_VALUE, "with FILE_SHARE_DELETE they succeed");
    T_EQ(file_size(h2), 4, "and see the data");
    CloseHandle(h);
    CloseHandle(h2);
    T_ERR(open_file(p, GENERIC_READ, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND,
          "deleted after the last close");
}

static void test_delete_file(void)
{
    const char *p = path_of("del");
    char deep[MAX_PATH + 80];
    HANDLE h;

    T_ERR(DeleteFileA(p), ERROR_FILE_NOT_FOUND, "DeleteFile of a missing file");
    snprintf(deep, sizeof deep, "%s/inner", path_of("nodir"));
    T_ERR(DeleteFileA(deep), ERROR_PATH_NOT_FOUND, "DeleteFile in a missing directory");
    T_ERR(DeleteFileA(tmpdir), ERROR_ACCESS_DENIED, "DeleteFile of a directory");
    T_ERR(DeleteFileA(""), ERROR_PATH_NOT_FOUND, "DeleteFile(\"\")");
    h = CreateFileA(p, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_READONLY, NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "create a read-only file");
    T_OK(WriteFile(h, "ro", 2, &(DWORD){0}, NULL), "its creator may write");
    CloseHandle(h);
    T_ERR(open_file(p, GENERIC_WRITE, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED,
          "a read-only file refuses writers");
    T_ERR(open_file(p, GENERIC_READ, 0, CREATE_ALWAYS) != INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED,
          "and CREATE_ALWAYS");
    h = open_file(p, GENERIC_READ, 0, OPEN_EXISTING);
    T_OK(h != INVALID_HANDLE_VALUE && file_size(h) == 2, "but opens for reading, data intact");
    CloseHandle(h);
    T_ERR(DeleteFileA(p), ERROR_ACCESS_DENIED, "DeleteFile of a read-only file");
    remove(p);
    h = open_file(p, GENERIC_WRITE, 0, CREATE_NEW);
    CloseHandle(h);
    T_OK(DeleteFileA(p), "DeleteFile");
    T_ERR(DeleteFileA(p), ERROR_FILE_NOT_FOUND, "twice");
}

static void test_temp_names(void)
{
    char buf[MAX_PATH], name[MAX_PATH], name2[MAX_PATH], expect[MAX_PATH + 64];
    const char *env = getenv("TMP");
    DWORD len;
    UINT u, u2;

    if (!env || !*env)
        env = getenv("TEMP");
    if (!env || !*env)
        env = getenv("USERPROFILE");
    if (!env || !*env)
        env = "/tmp/";
    snprintf(expect, sizeof expect, "%s", env);
    len = (DWORD)strlen(expect);
    if (expect[len - 1] != '/' && expect[len - 1] != '\\')
        strcat(expect, "/");

    len = GetTempPathA(sizeof buf, buf);
    T_EQ(len, strlen(buf), "GetTempPathA returns the length");
    if (expect[0] == '/')
        T_STR(buf, expect, "TMP, TEMP, USERPROFILE or /tmp/, with a trailing separator");
    else
        T_OK(buf[len - 1] == '\\' || buf[len - 1] == '/', "ends with a separator");
    T_EQ(GetTempPathA(0, NULL), len + 1, "GetTempPathA(0, NULL): the size needed, NUL included");
    char small[2] = {'x', 'x'};
    T_EQ(GetTempPathA(2, small), len + 1, "too small a buffer: the size needed");
    wchar_t wbuf[MAX_PATH];
    T_EQ(GetTempPathW(MAX_PATH, wbuf), len, "GetTempPathW returns the same length");
    T_EQ(wbuf[len - 1], (wchar_t)(unsigned char)buf[len - 1], "and the same path");

    u = GetTempFileNameA(tmpdir, "wipcfile", 0, name);
    T_OK(u != 0, "GetTempFileNameA with uUnique 0");
    snprintf(expect, sizeof expect, "%swip%X.tmp", tmpdir, u);
    T_STR(name, expect, "path + 3 prefix characters + hex + .tmp");
    HANDLE h = open_file(name, GENERIC_READ, 0, OPEN_EXISTING);
    T_OK(h != INVALID_HANDLE_VALUE, "the file was created");
    T_EQ(file_size(h), 0, "empty");
    CloseHandle(h);
    u2 = GetTempFileNameA(tmpdir, "wipcfile", 0, name2);
    T_OK(u2 != 0 && strcmp(name, name2) != 0, "a second call gives another name");
    DeleteFileA(name);
    DeleteFileA(name2);

    u = GetTempFileNameA(tmpdir, "xy", 0x1a2b, name);
    T_EQ(u, 0x1a2b, "a given uUnique is returned");
    snprintf(expect, sizeof expect, "%sxy1A2B.tmp", tmpdir);
    T_STR(name, expect, "and formatted in hex");
    T_ERR(open_file(name, GENERIC_READ, 0, OPEN_EXISTING) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND,
          "no file is created for a given uUnique");

    char longdir[MAX_PATH + 8];
    memset(longdir, 'd', MAX_PATH - 13);
    longdir[MAX_PATH - 13] = 0;
    T_ERR(GetTempFileNameA(longdir, "x", 1, name), ERROR_BUFFER_OVERFLOW,
          "a directory longer than MAX_PATH - 14: ERROR_BUFFER_OVERFLOW");
    snprintf(expect, sizeof expect, "%s/inner", path_of("nodir"));
    T_ERR(GetTempFileNameA(expect, "x", 0, name), ERROR_DIRECTORY, "a missing directory: ERROR_DIRECTORY");
}

static void test_std_handles(void)
{
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    DWORD n, type;
    T_OK(out != NULL && out != INVALID_HANDLE_VALUE, "GetStdHandle(STD_OUTPUT_HANDLE)");
    T_OK(GetStdHandle(STD_OUTPUT_HANDLE) == out, "the same value every time");
    type = GetFileType(out);
    T_OK(type == FILE_TYPE_PIPE || type == FILE_TYPE_CHAR || type == FILE_TYPE_DISK, "stdout has a file type");
    fflush(stdout);
    T_OK(WriteFile(out, "# written by WriteFile on the standard output handle\n", 53, &n, NULL) && n == 53,
         "WriteFile on the standard output handle");
    T_OK(GetStdHandle(STD_INPUT_HANDLE) != INVALID_HANDLE_VALUE, "GetStdHandle(STD_INPUT_HANDLE)");
    HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
    T_OK(err != INVALID_HANDLE_VALUE && err != out, "GetStdHandle(STD_ERROR_HANDLE), its own handle");
    T_ERR(GetStdHandle(5) != INVALID_HANDLE_VALUE, ERROR_INVALID_HANDLE, "GetStdHandle(5)");
    T_ERR(GetStdHandle((DWORD)-13) != INVALID_HANDLE_VALUE, ERROR_INVALID_HANDLE, "GetStdHandle(-13)");
    T_ERR(SetStdHandle(5, out), ERROR_INVALID_HANDLE, "SetStdHandle(5)");

    HANDLE f = open_file(path_of("std"), GENERIC_WRITE, 0, CREATE_ALWAYS);
    T_OK(SetStdHandle(STD_ERROR_HANDLE, f), "SetStdHandle(STD_ERROR_HANDLE, file)");
    T_OK(GetStdHandle(STD_ERROR_HANDLE) == f, "GetStdHandle returns it");
    T_OK(SetStdHandle(STD_ERROR_HANDLE, err), "restore");
    T_OK(GetStdHandle(STD_ERROR_HANDLE) == err, "restored");
    CloseHandle(f);
    DeleteFileA(path_of("std"));
}

static void test_bad_handles(void)
{
    char buf[4];
    DWORD n = T_POISON;
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE h = open_file(path_of("bad"), GENERIC_READ, 0, CREATE_ALWAYS);
    CloseHandle(h);
    DeleteFileA(path_of("bad"));

    T_ERR(ReadFile(ev, buf, 1, &n, NULL), ERROR_INVALID_HANDLE, "ReadFile on an event");
    T_EQ(n, 0, "the count is zeroed on failure");
    T_ERR(WriteFile(ev, buf, 1, &n, NULL), ERROR_INVALID_HANDLE, "WriteFile on an event");
    T_ERR(FlushFileBuffers(ev), ERROR_INVALID_HANDLE, "FlushFileBuffers on an event");
    T_ERR(ReadFile(h, buf, 1, &n, NULL), ERROR_INVALID_HANDLE, "ReadFile on a closed handle");
    T_ERR(ReadFile(NULL, buf, 1, &n, NULL), ERROR_INVALID_HANDLE, "ReadFile(NULL)");
    T_ERR(ReadFile(INVALID_HANDLE_VALUE, buf, 1, &n, NULL), ERROR_INVALID_HANDLE, "ReadFile(INVALID_HANDLE_VALUE)");
    T_ERR(WriteFile((HANDLE)(ULONG_PTR)0x12345678, buf, 1, &n, NULL), ERROR_INVALID_HANDLE, "WriteFile(garbage)");
    SetLastError(T_POISON);
    T_EQ(GetFileType(ev), FILE_TYPE_UNKNOWN, "GetFileType of an event");
    T_EQ(GetLastError(), ERROR_INVALID_HANDLE, "fails with ERROR_INVALID_HANDLE");
    T_ERR(GetFileType(h) != FILE_TYPE_UNKNOWN, ERROR_INVALID_HANDLE, "GetFileType of a closed handle");
    SetLastError(T_POISON);
    T_EQ(GetFileSize(ev, NULL), INVALID_FILE_SIZE, "GetFileSize of an event");
    T_EQ(GetLastError(), ERROR_INVALID_HANDLE, "ERROR_INVALID_HANDLE");
    T_ERR(SetFilePointer(h, 0, NULL, FILE_BEGIN) != INVALID_SET_FILE_POINTER, ERROR_INVALID_HANDLE,
          "SetFilePointer on a closed handle");
    T_ERR(SetEndOfFile(ev), ERROR_INVALID_HANDLE, "SetEndOfFile on an event");
    CloseHandle(ev);
}

/* --- Across processes --------------------------------------------------------- */

static int child_main(int argc, char **argv)
{
    const char *what = argv[2], *p = argv[3];
    HANDLE h;
    if (strcmp(what, "denied") == 0) {
        h = CreateFileA(p, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
        if (h != INVALID_HANDLE_VALUE)
            return 10;
        return GetLastError() == ERROR_SHARING_VIOLATION ? 0 : 11;
    }
    if (strcmp(what, "hold") == 0) {
        /* Open exclusively, say so, and wait until told (or killed). */
        h = CreateFileA(p, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (h == INVALID_HANDLE_VALUE)
            return 20;
        HANDLE ready = OpenEventA(EVENT_ALL_ACCESS, FALSE, t_name("file-ready"));
        HANDLE done = OpenEventA(EVENT_ALL_ACCESS, FALSE, t_name("file-done"));
        if (!ready || !done)
            return 21;
        SetEvent(ready);
        if (WaitForSingleObject(done, 20000) != WAIT_OBJECT_0)
            return 22;
        CloseHandle(h);
        return 0;
    }
    if (strcmp(what, "append") == 0) {
        /* argv[3] is the value of an inherited handle: write at the file
         * pointer the parent left. */
        DWORD n;
        h = (HANDLE)(ULONG_PTR)strtoul(p, NULL, 0);
        if (GetFileType(h) != FILE_TYPE_DISK)
            return 30;
        if (!WriteFile(h, "def", 3, &n, NULL) || n != 3)
            return 31;
        return 0;
    }
    return 99;
}

/* An inherited file handle is the same open: one file pointer. */
static void test_inherit_processes(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    const char *p = path_of("inherit");
    PROCESS_INFORMATION pi;
    char args[64], buf[16];
    DWORD n;
    HANDLE h = CreateFileA(p, GENERIC_READ | GENERIC_WRITE, 0, &sa, CREATE_ALWAYS, 0, NULL);

    T_OK(WriteFile(h, "abc", 3, &n, NULL), "write through an inheritable handle");
    snprintf(args, sizeof args, "child append %#lx", (unsigned long)(ULONG_PTR)h);
    BOOL spawned = t_spawn_ex(args, TRUE, NULL, &pi);
    T_OK(spawned, "spawn a child inheriting it");
    if (spawned)
        T_EQ(t_wait_child(&pi, 10000), 0, "the child wrote through the inherited handle");
    T_EQ(SetFilePointer(h, 0, NULL, FILE_CURRENT), 6, "the child moved our file pointer: one shared open");
    SetFilePointer(h, 0, NULL, FILE_BEGIN);
    memset(buf, 0, sizeof buf);
    T_OK(ReadFile(h, buf, sizeof buf - 1, &n, NULL), "read back");
    T_STR(buf, "abcdef", "the child's bytes follow ours");
    CloseHandle(h);
    DeleteFileA(p);
}

static void test_sharing_processes(void)
{
    const char *p = path_of("xproc");
    char args[MAX_PATH + 32];
    PROCESS_INFORMATION pi;
    HANDLE h = open_file(p, GENERIC_WRITE, 0, CREATE_ALWAYS);

    snprintf(args, sizeof args, "child denied \"%s\"", p);
    BOOL spawned = t_spawn(args, &pi);
    T_OK(spawned, "spawn a child while the file is held exclusively");
    if (spawned)
        T_EQ(t_wait_child(&pi, 10000), 0, "the child's open fails with ERROR_SHARING_VIOLATION");
    CloseHandle(h);
    if (!spawned) {
        DeleteFileA(p);
        return; /* no CreateProcess here: the rest needs children too */
    }

    HANDLE ready = CreateEventA(NULL, TRUE, FALSE, t_name("file-ready"));
    HANDLE done = CreateEventA(NULL, TRUE, FALSE, t_name("file-done"));
    snprintf(args, sizeof args, "child hold \"%s\"", p);
    T_OK(t_spawn(args, &pi), "spawn a child that holds the file exclusively");
    T_EQ(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "the child has the file");
    T_ERR(open_file(p, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING) != INVALID_HANDLE_VALUE,
          ERROR_SHARING_VIOLATION, "the parent is refused while the child holds it");
    SetEvent(done);
    T_EQ(t_wait_child(&pi, 10000), 0, "the child closes and exits");
    h = open_file(p, GENERIC_READ, 0, OPEN_EXISTING);
    T_OK(h != INVALID_HANDLE_VALUE, "after the child's close the parent opens it exclusively");
    CloseHandle(h);

    /* A holder that is killed releases its share access with its fds. */
    ResetEvent(ready);
    ResetEvent(done);
    T_OK(t_spawn(args, &pi), "spawn another holder");
    T_EQ(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "it holds the file");
    T_ERR(open_file(p, GENERIC_READ, FILE_SHARE_READ, OPEN_EXISTING) != INVALID_HANDLE_VALUE,
          ERROR_SHARING_VIOLATION, "refused while it lives");
    T_OK(TerminateProcess(pi.hProcess, 9), "TerminateProcess");
    T_EQ(t_wait_child(&pi, 10000), 9, "it died");
    h = open_file(p, GENERIC_READ, 0, OPEN_EXISTING);
    T_OK(h != INVALID_HANDLE_VALUE, "a killed holder's share access is gone");
    CloseHandle(h);
    CloseHandle(ready);
    CloseHandle(done);
    DeleteFileA(p);
}

int main(int argc, char **argv)
{
    DWORD len = GetTempPathA(sizeof tmpdir, tmpdir);
    if (len == 0 || len >= sizeof tmpdir)
        return 2;
    if (argc >= 4 && strcmp(argv[1], "child") == 0)
        return child_main(argc, argv);
    test_dispositions();
    test_paths();
    test_io();
    test_overlapped();
    test_sharing();
    test_delete_on_close();
    test_delete_file();
    test_temp_names();
    test_std_handles();
    test_bad_handles();
    test_sharing_processes();
    test_inherit_processes();
    return t_done();
}
