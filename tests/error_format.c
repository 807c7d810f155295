/* SPDX-License-Identifier: MIT */
/* Last error, FormatMessageA/W and the heap family (Heap*, Local*, Global*).
 * Expected strings are Windows' own output. */
#include "test.h"

#include <stdint.h>
#include <wchar.h>

#define SYS_IGNORE (FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS)

static DWORD fmt_va(DWORD flags, const char *src, char *out, DWORD size, ...)
{
    va_list ap;
    DWORD r;
    va_start(ap, size);
    r = FormatMessageA(flags, src, 0, 0, out, size, &ap);
    va_end(ap);
    return r;
}

static DWORD fmt_vaW(DWORD flags, const WCHAR *src, WCHAR *out, DWORD size, ...)
{
    va_list ap;
    DWORD r;
    va_start(ap, size);
    r = FormatMessageW(flags, src, 0, 0, out, size, &ap);
    va_end(ap);
    return r;
}

/* FormatMessageA(FROM_SYSTEM | IGNORE_INSERTS) of `code` equals `text`. */
static void check_system(DWORD code, const char *text)
{
    char buf[256], name[64];
    DWORD r;
    memset(buf, 'x', sizeof buf);
    r = FormatMessageA(SYS_IGNORE, NULL, code, 0, buf, sizeof buf, NULL);
    snprintf(name, sizeof name, "system message %lu", (unsigned long)code);
    T_STR(buf, text, name);
    snprintf(name, sizeof name, "system message %lu length", (unsigned long)code);
    T_EQ(r, strlen(text), name);
}

static void test_last_error(void)
{
    SetLastError(12345);
    T_EQ(GetLastError(), 12345, "SetLastError/GetLastError round trip");
    SetLastError(ERROR_PIPE_BUSY);
    T_EQ(GetLastError(), 231, "last error keeps ERROR_PIPE_BUSY");
    SetLastError(0);
    T_EQ(GetLastError(), 0, "last error cleared");
}

static void test_system_messages(void)
{
    check_system(ERROR_SUCCESS, "The operation completed successfully.\r\n");
    check_system(ERROR_FILE_NOT_FOUND, "The system cannot find the file specified.\r\n");
    check_system(ERROR_ACCESS_DENIED, "Access is denied.\r\n");
    check_system(ERROR_INVALID_HANDLE, "The handle is invalid.\r\n");
    check_system(ERROR_INVALID_PARAMETER, "The parameter is incorrect.\r\n");
    check_system(ERROR_BROKEN_PIPE, "The pipe has been ended.\r\n");
    check_system(ERROR_INSUFFICIENT_BUFFER, "The data area passed to a system call is too small.\r\n");
    check_system(ERROR_ALREADY_EXISTS, "Cannot create a file when that file already exists.\r\n");
    check_system(ERROR_PIPE_BUSY, "All pipe instances are busy.\r\n");
    check_system(ERROR_NO_DATA, "The pipe is being closed.\r\n");
    check_system(ERROR_PIPE_NOT_CONNECTED, "No process is on the other end of the pipe.\r\n");
    check_system(ERROR_MORE_DATA, "More data is available.\r\n");
    check_system(ERROR_NOT_OWNER, "Attempt to release mutex not owned by caller.\r\n");
    check_system(ERROR_TOO_MANY_POSTS, "Too many posts were made to a semaphore.\r\n");
    check_system(ERROR_PIPE_CONNECTED, "There is a process on other end of the pipe.\r\n");
    check_system(ERROR_PIPE_LISTENING, "Waiting for a process to open the other end of the pipe.\r\n");
    check_system(ERROR_OPERATION_ABORTED,
                 "The I/O operation has been aborted because of either a thread exit or an application request.\r\n");
    check_system(ERROR_IO_INCOMPLETE, "Overlapped I/O event is not in a signaled state.\r\n");
    check_system(ERROR_IO_PENDING, "Overlapped I/O operation is in progress.\r\n");
    check_system(ERROR_SEM_TIMEOUT, "The semaphore timeout period has expired.\r\n");
    check_system(ERROR_MAPPED_ALIGNMENT,
                 "The base address or the file offset specified does not have the proper alignment.\r\n");
    check_system(ERROR_TIMEOUT, "This operation returned because the timeout period expired.\r\n");
    /* Inserts are kept literally under IGNORE_INSERTS; inner lines keep CRLF. */
    check_system(ERROR_BAD_EXE_FORMAT, "%1 is not a valid Win32 application.\r\n");
    check_system(ERROR_WRONG_DISK,
                 "The wrong diskette is in the drive.\r\nInsert %2 (Volume Serial Number: %3) into drive %1.\r\n");
    check_system(ERROR_MR_MID_NOT_FOUND,
                 "The system cannot find message text for message number 0x%1 in the message file for %2.\r\n");
    /* An HRESULT of FACILITY_WIN32 gives the Win32 text. */
    check_system((DWORD)HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED), "Access is denied.\r\n");
}

static void test_system_flags(void)
{
    char buf[256], *p;
    DWORD r, len;
    DWORD_PTR args[2];

    /* Language ids: neutral and English are there, German is not. */
    memset(buf, 'x', sizeof buf);
    r = FormatMessageA(SYS_IGNORE, NULL, ERROR_ACCESS_DENIED, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), buf,
                       sizeof buf, NULL);
    T_EQ(r, 19, "LANG_NEUTRAL/SUBLANG_DEFAULT accepted");
    r = FormatMessageA(SYS_IGNORE, NULL, ERROR_ACCESS_DENIED, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US), buf,
                       sizeof buf, NULL);
    T_EQ(r, 19, "LANG_ENGLISH/SUBLANG_ENGLISH_US accepted");
    SetLastError(T_POISON);
    r = FormatMessageA(SYS_IGNORE, NULL, ERROR_ACCESS_DENIED, MAKELANGID(0x07, 0x01), buf, sizeof buf, NULL);
    T_ERR(r, ERROR_RESOURCE_LANG_NOT_FOUND, "German message not available");

    /* Unknown ids. */
    SetLastError(T_POISON);
    r = FormatMessageA(SYS_IGNORE, NULL, 0x0012ABCD, 0, buf, sizeof buf, NULL);
    T_ERR(r, ERROR_MR_MID_NOT_FOUND, "unknown message id");
    SetLastError(T_POISON);
    r = FormatMessageA(SYS_IGNORE, NULL, 42, 0, buf, sizeof buf, NULL);
    T_ERR(r, ERROR_MR_MID_NOT_FOUND, "unassigned message id 42");

    /* Too small a buffer: the A version fails and leaves it alone. */
    len = (DWORD)strlen("The system cannot find the file specified.\r\n");
    memset(buf, 'x', sizeof buf);
    SetLastError(T_POISON);
    r = FormatMessageA(SYS_IGNORE, NULL, ERROR_FILE_NOT_FOUND, 0, buf, len, NULL);
    T_ERR(r, ERROR_INSUFFICIENT_BUFFER, "buffer one short of the NUL");
    T_EQ(buf[0], 'x', "A buffer untouched on ERROR_INSUFFICIENT_BUFFER");
    r = FormatMessageA(SYS_IGNORE, NULL, ERROR_FILE_NOT_FOUND, 0, buf, len + 1, NULL);
    T_EQ(r, len, "buffer exactly large enough");
    SetLastError(T_POISON);
    r = FormatMessageA(SYS_IGNORE, NULL, ERROR_FILE_NOT_FOUND, 0, buf, 0, NULL);
    T_ERR(r, ERROR_INSUFFICIENT_BUFFER, "zero-size buffer");

    /* ALLOCATE_BUFFER: lpBuffer is a char **; free with LocalFree. */
    p = (char *)(uintptr_t)T_POISON;
    r = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | SYS_IGNORE, NULL, ERROR_ACCESS_DENIED, 0, (LPSTR)&p, 0, NULL);
    T_EQ(r, 19, "ALLOCATE_BUFFER length");
    T_OK(p && p != (char *)(uintptr_t)T_POISON, "ALLOCATE_BUFFER stores a pointer");
    if (p && p != (char *)(uintptr_t)T_POISON) {
        T_STR(p, "Access is denied.\r\n", "ALLOCATE_BUFFER text");
        T_OK(LocalSize(p) >= 20, "allocated block holds the text and its NUL");
        T_OK(LocalFree(p) == NULL, "LocalFree of the message buffer returns NULL");
    }
    p = NULL;
    r = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | SYS_IGNORE, NULL, ERROR_ACCESS_DENIED, 0, (LPSTR)&p, 300,
                       NULL);
    T_EQ(r, 19, "ALLOCATE_BUFFER with a minimum size");
    T_OK(p && LocalSize(p) >= 300, "nSize is the minimum allocation");
    LocalFree(p);
    p = (char *)(uintptr_t)T_POISON;
    SetLastError(T_POISON);
    r = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | SYS_IGNORE, NULL, 0x0012ABCD, 0, (LPSTR)&p, 0, NULL);
    T_ERR(r, ERROR_MR_MID_NOT_FOUND, "ALLOCATE_BUFFER with an unknown id");
    T_OK(p == NULL, "ALLOCATE_BUFFER failure leaves a NULL pointer");

    /* Inserts in a system message. */
    SetLastError(T_POISON);
    r = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM, NULL, ERROR_BAD_EXE_FORMAT, 0, buf, sizeof buf, NULL);
    T_ERR(r, ERROR_INVALID_PARAMETER, "insert without arguments fails");
    args[0] = (DWORD_PTR) "app.exe";
    r = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_ARGUMENT_ARRAY, NULL, ERROR_BAD_EXE_FORMAT, 0, buf,
                       sizeof buf, (va_list *)args);
    T_STR(buf, "app.exe is not a valid Win32 application.\r\n", "system message with an argument array");

    /* MAX_WIDTH_MASK: line breaks become spaces, also the final one. */
    r = FormatMessageA(SYS_IGNORE | FORMAT_MESSAGE_MAX_WIDTH_MASK, NULL, ERROR_FILE_NOT_FOUND, 0, buf, sizeof buf,
                       NULL);
    T_STR(buf, "The system cannot find the file specified. ", "MAX_WIDTH_MASK turns the final CRLF into a space");
    T_EQ(r, 43, "MAX_WIDTH_MASK length");
    FormatMessageA(SYS_IGNORE | FORMAT_MESSAGE_MAX_WIDTH_MASK, NULL, ERROR_WRONG_DISK, 0, buf, sizeof buf, NULL);
    T_STR(buf, "The wrong diskette is in the drive. Insert %2 (Volume Serial Number: %3) into drive %1. ",
          "MAX_WIDTH_MASK joins the lines");

    /* Source flags. */
    SetLastError(T_POISON);
    r = FormatMessageA(0, "test", 0, 0, buf, sizeof buf, NULL);
    T_ERR(r, ERROR_INVALID_PARAMETER, "no source flag");
    SetLastError(T_POISON);
    r = FormatMessageA(FORMAT_MESSAGE_FROM_HMODULE, NULL, ERROR_ACCESS_DENIED, 0, buf, sizeof buf, NULL);
    T_OK(!r && (GetLastError() == ERROR_RESOURCE_TYPE_NOT_FOUND || GetLastError() == ERROR_RESOURCE_DATA_NOT_FOUND),
         "FROM_HMODULE: this image has no message table");
    r = FormatMessageA(FORMAT_MESSAGE_FROM_HMODULE | SYS_IGNORE, NULL, ERROR_ACCESS_DENIED, 0, buf, sizeof buf, NULL);
    T_STR(buf, "Access is denied.\r\n", "FROM_HMODULE | FROM_SYSTEM falls back to the system table");
    r = FormatMessageA(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_FROM_SYSTEM, "test", ERROR_ACCESS_DENIED, 0, buf,
                       sizeof buf, NULL);
    T_STR(buf, "test", "FROM_STRING wins over FROM_SYSTEM");
}

static void test_from_string(void)
{
    char buf[256];
    DWORD r;
    DWORD_PTR args[4];

    /* %1!d! and %2 (default !s!) through an argument array. */
    memset(buf, 'x', sizeof buf);
    args[0] = 42;
    args[1] = (DWORD_PTR) "pipes";
    r = FormatMessageA(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_ARGUMENT_ARRAY, "%1!d! open %2", 0, 0, buf,
                       sizeof buf, (va_list *)args);
    T_STR(buf, "42 open pipes", "argument array inserts");
    T_EQ(r, 13, "argument array length");

    /* The same through a va_list, inserts reordered and repeated. */
    r = fmt_va(FORMAT_MESSAGE_FROM_STRING, "%2 %1!d! %2!s!", buf, sizeof buf, -7, "x");
    T_STR(buf, "x -7 x", "va_list inserts, reordered and repeated");
    T_EQ(r, 6, "va_list length");

    fmt_va(FORMAT_MESSAGE_FROM_STRING, "[%1!5d!|%1!-5d!|%2!x!|%3!08X!]", buf, sizeof buf, 7, 255, 0xBEEF);
    T_STR(buf, "[    7|7    |ff|0000BEEF]", "width, left justification and hex");
    fmt_va(FORMAT_MESSAGE_FROM_STRING, "%1!I64u! %2!c!", buf, sizeof buf, (ULONGLONG)18446744073709551615ULL, 'z');
    T_STR(buf, "18446744073709551615 z", "64-bit and character inserts");
    fmt_va(FORMAT_MESSAGE_FROM_STRING, "%1!*s!|%3!.2s!", buf, sizeof buf, 4, "t", "abc");
    T_STR(buf, "   t|ab", "'*' width and string precision");
    fmt_va(FORMAT_MESSAGE_FROM_STRING, "<%1>", buf, sizeof buf, (char *)NULL);
    T_STR(buf, "<(null)>", "NULL string insert");
    fmt_va(FORMAT_MESSAGE_FROM_STRING, "%1!S!", buf, sizeof buf, L"wide");
    T_STR(buf, "wide", "%S takes a wide string in the A version");

    /* Escapes. */
    fmt_va(FORMAT_MESSAGE_FROM_STRING, "a%nb", buf, sizeof buf);
    T_STR(buf, "a\r\nb", "%n is a hard line break");
    r = fmt_va(FORMAT_MESSAGE_FROM_STRING, "stop%0here", buf, sizeof buf);
    T_STR(buf, "stop", "%0 ends the message");
    T_EQ(r, 4, "%0 length");
    fmt_va(FORMAT_MESSAGE_FROM_STRING, "100%% %t|%r|% |%.|%!", buf, sizeof buf);
    T_STR(buf, "100% \t|\r| |.|!", "%%, %t, %r, %space, %. and %!");
    fmt_va(FORMAT_MESSAGE_FROM_STRING, "hi\n", buf, sizeof buf);
    T_STR(buf, "hi\r\n", "a bare LF becomes CRLF");
    fmt_va(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_MAX_WIDTH_MASK, "hi\r\nthere%n", buf, sizeof buf);
    T_STR(buf, "hi there\r\n", "MAX_WIDTH_MASK keeps only %n breaks");
    fmt_va(FORMAT_MESSAGE_FROM_STRING | 11, "short long line", buf, sizeof buf);
    T_STR(buf, "short long\r\nline", "width 11 wraps at a space");
    fmt_va(FORMAT_MESSAGE_FROM_STRING | 8, "shortlongline", buf, sizeof buf);
    T_STR(buf, "shortlon\r\ngline", "a word longer than the width is split");
    r = FormatMessageA(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_IGNORE_INSERTS, "a%1b%%c%2!d!", 0, 0, buf,
                       sizeof buf, NULL);
    T_STR(buf, "a%1b%%c%2!d!", "IGNORE_INSERTS copies inserts and %%");

    /* Errors. */
    memset(buf, 'x', sizeof buf);
    SetLastError(T_POISON);
    r = FormatMessageA(FORMAT_MESSAGE_FROM_STRING, "", 0, 0, buf, sizeof buf, NULL);
    T_ERR(r, ERROR_NO_WORK_DONE, "empty result");
    SetLastError(T_POISON);
    r = FormatMessageA(FORMAT_MESSAGE_FROM_STRING, "50%", 0, 0, buf, sizeof buf, NULL);
    T_ERR(r, ERROR_INVALID_PARAMETER, "lone '%' at the end");
    SetLastError(T_POISON);
    r = FormatMessageA(FORMAT_MESSAGE_FROM_STRING, "%1", 0, 0, buf, sizeof buf, NULL);
    T_ERR(r, ERROR_INVALID_PARAMETER, "insert with no arguments");
    SetLastError(T_POISON);
    r = fmt_va(FORMAT_MESSAGE_FROM_STRING, "%1", buf, 3, "long");
    T_ERR(r, ERROR_INSUFFICIENT_BUFFER, "formatted text larger than the buffer");
}

static void test_wide(void)
{
    WCHAR buf[256], *p;
    DWORD r;
    DWORD_PTR args[2];

    wmemset(buf, L'x', 256);
    r = FormatMessageW(SYS_IGNORE, NULL, ERROR_FILE_NOT_FOUND, 0, buf, 256, NULL);
    T_OK(!wcscmp(buf, L"The system cannot find the file specified.\r\n"), "W system message");
    T_EQ(r, 44, "W system message length");
    r = FormatMessageW(SYS_IGNORE, NULL, ERROR_PIPE_LISTENING, 0, buf, 256, NULL);
    T_OK(!wcscmp(buf, L"Waiting for a process to open the other end of the pipe.\r\n"), "W ERROR_PIPE_LISTENING");

    p = (WCHAR *)(uintptr_t)T_POISON;
    r = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | SYS_IGNORE, NULL, ERROR_NO_DATA, 0, (LPWSTR)&p, 0, NULL);
    T_EQ(r, 27, "W ALLOCATE_BUFFER length");
    T_OK(p && p != (WCHAR *)(uintptr_t)T_POISON && !wcscmp(p, L"The pipe is being closed.\r\n"),
         "W ALLOCATE_BUFFER text");
    if (p && p != (WCHAR *)(uintptr_t)T_POISON)
        T_OK(LocalFree(p) == NULL, "W buffer freed with LocalFree");

    args[0] = (DWORD_PTR)L"abc";
    args[1] = 5;
    r = FormatMessageW(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_ARGUMENT_ARRAY, L"%1 has %2!d!", 0, 0, buf, 256,
                       (va_list *)args);
    T_OK(!wcscmp(buf, L"abc has 5"), "W argument array inserts");
    T_EQ(r, 9, "W argument array length");
    fmt_vaW(FORMAT_MESSAGE_FROM_STRING, L"%1!S!-%2!s!%n%%", buf, 256, "narrow", L"wide");
    T_OK(!wcscmp(buf, L"narrow-wide\r\n%"), "W %S takes a narrow string, escapes");
    fmt_vaW(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_MAX_WIDTH_MASK, L"x\ny", buf, 256);
    T_OK(!wcscmp(buf, L"x y"), "W MAX_WIDTH_MASK");

    /* W stores the truncated text and still fails. */
    wmemset(buf, L'x', 8);
    SetLastError(T_POISON);
    r = FormatMessageW(FORMAT_MESSAGE_FROM_STRING, L"test", 0, 0, buf, 4, NULL);
    T_ERR(r, ERROR_INSUFFICIENT_BUFFER, "W buffer too small");
    T_OK(!wmemcmp(buf, L"tes\0x", 5), "W stores what fits");
    SetLastError(T_POISON);
    r = FormatMessageW(SYS_IGNORE, NULL, ERROR_ACCESS_DENIED, 0, NULL, 256, NULL);
    T_ERR(r, ERROR_INVALID_PARAMETER, "W NULL buffer");
    SetLastError(T_POISON);
    r = FormatMessageW(SYS_IGNORE, NULL, 0x0012ABCD, 0, buf, 256, NULL);
    T_ERR(r, ERROR_MR_MID_NOT_FOUND, "W unknown message id");
}

static void fill(void *p, int c, size_t n)
{
    memset(p, c, n);
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void test_heap(void)
{
    HANDLE ph = GetProcessHeap(), h;
    unsigned char *p, *q;
    int zero_ok = 1, aligned = 1, count;
    void *blocks[256];

    T_OK(ph != NULL, "GetProcessHeap");

    /* HEAP_ZERO_MEMORY: dirty a block, free it, and ask again for zeroes
     * (the allocator tends to hand the same memory back). */
    for (int i = 0; i < 8; i++) {
        p = HeapAlloc(ph, 0, 200);
        if (!p) {
            zero_ok = 0;
            break;
        }
        fill(p, 0xAA, 200);
        HeapFree(ph, 0, p);
        p = HeapAlloc(ph, HEAP_ZERO_MEMORY, 200);
        if (!p || !all_zero(p, 200))
            zero_ok = 0;
        if (((uintptr_t)p & 15) != 0)
            aligned = 0;
        HeapFree(ph, 0, p);
    }
    T_OK(zero_ok, "HEAP_ZERO_MEMORY zeroes reused memory");
    T_OK(aligned, "heap blocks are 16-byte aligned");

    p = HeapAlloc(ph, 0, 13);
    T_OK(p != NULL, "HeapAlloc 13 bytes");
    T_EQ(HeapSize(ph, 0, p), 13, "HeapSize is the requested size");
    fill(p, 0x5A, 13);
    q = HeapReAlloc(ph, HEAP_ZERO_MEMORY, p, 5000);
    T_OK(q != NULL, "HeapReAlloc grows");
    T_EQ(HeapSize(ph, 0, q), 5000, "HeapSize after growing");
    T_OK(q && q[0] == 0x5A && q[12] == 0x5A, "growing keeps the contents");
    T_OK(q && all_zero(q + 13, 5000 - 13), "HEAP_ZERO_MEMORY zeroes the new bytes");
    p = HeapReAlloc(ph, HEAP_REALLOC_IN_PLACE_ONLY, q, 100);
    T_OK(p == q, "shrinking in place keeps the address");
    T_EQ(HeapSize(ph, 0, p), 100, "HeapSize after shrinking");
    SetLastError(T_POISON);
    q = HeapReAlloc(ph, HEAP_REALLOC_IN_PLACE_ONLY, p, 64 << 20);
    T_ERR(q != NULL, ERROR_NOT_ENOUGH_MEMORY, "in-place-only growth that cannot stay fails");
    T_EQ(HeapSize(ph, 0, p), 100, "the block is unchanged after the failed growth");
    T_OK(HeapFree(ph, 0, p), "HeapFree");
    T_OK(HeapFree(ph, 0, NULL), "HeapFree(NULL) succeeds");

    /* A growable private heap, destroyed with blocks still allocated. */
    h = HeapCreate(0, 0, 0);
    T_OK(h != NULL, "HeapCreate growable");
    p = HeapAlloc(h, 0, 1 << 20);
    T_OK(p != NULL, "1 MiB from a growable heap");
    T_OK(HeapAlloc(h, 0, 100) != NULL, "second block");
    T_OK(HeapDestroy(h), "HeapDestroy frees the heap and its blocks");

    /* A fixed heap enforces its maximum. */
    h = HeapCreate(0, 0, 64 * 1024);
    T_OK(h != NULL, "HeapCreate fixed 64 KiB");
    SetLastError(T_POISON);
    T_OK(HeapAlloc(h, 0, 1 << 20) == NULL, "a block larger than a fixed heap fails");
    for (count = 0; count < 256; count++)
        if (!(blocks[count] = HeapAlloc(h, 0, 1024)))
            break;
    T_OK(count > 16 && count < 64, "a fixed heap runs out near its maximum");
    if (count > 0) {
        T_EQ(HeapSize(h, 0, blocks[0]), 1024, "HeapSize in a private heap");
        T_OK(HeapFree(h, 0, blocks[0]), "HeapFree in a private heap");
        T_OK((blocks[0] = HeapAlloc(h, 0, 1024)) != NULL, "freed space is reusable");
    }
    T_OK(HeapDestroy(h), "HeapDestroy fixed heap");

    /* LocalAlloc / LocalReAlloc / LocalFree. */
    zero_ok = 1;
    for (int i = 0; i < 8; i++) {
        p = LocalAlloc(LMEM_FIXED, 64);
        fill(p, 0xCC, 64);
        LocalFree(p);
        p = LocalAlloc(LPTR, 64);
        if (!p || !all_zero(p, 64))
            zero_ok = 0;
        LocalFree(p);
    }
    T_OK(zero_ok, "LocalAlloc(LPTR) zeroes");
    p = LocalAlloc(LMEM_FIXED, 10);
    T_OK(p != NULL, "LocalAlloc fixed");
    T_EQ(LocalSize(p), 10, "LocalSize");
    T_EQ(HeapSize(ph, 0, p), 10, "a LocalAlloc block belongs to the process heap");
    fill(p, 0x11, 10);
    SetLastError(T_POISON);
    q = LocalReAlloc(p, 1 << 20, 0);
    T_ERR(q != NULL, ERROR_NOT_ENOUGH_MEMORY, "a fixed block does not move without LMEM_MOVEABLE");
    q = LocalReAlloc(p, 100000, LMEM_MOVEABLE | LMEM_ZEROINIT);
    T_OK(q != NULL, "LocalReAlloc with LMEM_MOVEABLE");
    T_EQ(LocalSize(q), 100000, "LocalSize after LocalReAlloc");
    T_OK(q && q[9] == 0x11 && all_zero(q + 10, 100000 - 10), "LocalReAlloc keeps data and zeroes the rest");
    T_OK(LocalFree(q) == NULL, "LocalFree returns NULL on success");
    T_OK(LocalFree(NULL) == NULL, "LocalFree(NULL) returns NULL");
    SetLastError(T_POISON);
    T_ERR(LocalAlloc(0x8000, 10) != NULL, ERROR_INVALID_PARAMETER, "LocalAlloc rejects unknown flags");

    /* GlobalAlloc family. */
    p = GlobalAlloc(GPTR, 32);
    T_OK(p && all_zero(p, 32), "GlobalAlloc(GPTR) zeroes");
    T_EQ(GlobalSize(p), 32, "GlobalSize");
    q = GlobalReAlloc(p, 64, GMEM_MOVEABLE);
    T_OK(q != NULL, "GlobalReAlloc");
    T_EQ(GlobalSize(q), 64, "GlobalSize after GlobalReAlloc");
    T_OK(GlobalFree(q) == NULL, "GlobalFree returns NULL on success");
}

int main(void)
{
    test_last_error();
    test_system_messages();
    test_system_flags();
    test_from_string();
    test_wide();
    test_heap();
    return t_done();
}
