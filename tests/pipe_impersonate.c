/* SPDX-License-Identifier: MIT */
/* ImpersonateNamedPipeClient and RevertToSelf between two users (Linux
 * specific: run as root, children switch to uid 65534 themselves):
 *   - a root server impersonating a client of uid 65534 opens files and
 *     named objects as that user (its own private event is refused, a file
 *     it creates belongs to 65534), the other threads of the process stay
 *     root, GetNamedPipeHandleState names the client's user, and
 *     RevertToSelf restores everything;
 *   - a server of uid 65534 cannot take root's identity:
 *     ERROR_PRIVILEGE_NOT_HELD, as a Windows server without
 *     SeImpersonatePrivilege gets no usable token.
 * Skipped when not root. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setresuid */
#endif
#include "test.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534

#define C_OK 0
#define C_USER 10
#define C_OPEN 11
#define C_IO 12
#define C_IMPERSONATED 13
#define C_WRONG_ERROR 14
#define C_ARGS 15

static int become_nobody(void)
{
    if (setgroups(0, NULL) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 || setresuid(NOBODY, NOBODY, NOBODY) != 0)
        return -1;
    return 0;
}

static SECURITY_ATTRIBUTES *open_to_all(void)
{
    static SECURITY_DESCRIPTOR sd;
    static SECURITY_ATTRIBUTES sa = {sizeof sa, &sd, FALSE};
    InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    SetSecurityDescriptorDacl(&sd, TRUE, NULL, FALSE);
    return &sa;
}

/* --- children ------------------------------------------------------------------------ */

/* A client of uid 65534: say hi, wait for the answer. `flags`: its
 * CreateFile's SECURITY_* flags. */
static int child_client(const char *name, DWORD flags)
{
    char buf[4];
    DWORD n;
    HANDLE h;
    if (become_nobody())
        return C_USER;
    while ((h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, flags, NULL)) ==
           INVALID_HANDLE_VALUE) {
        if (GetLastError() != ERROR_PIPE_BUSY || !WaitNamedPipeA(name, 10000))
            return C_OPEN;
    }
    if (!WriteFile(h, "hi", 2, &n, NULL) || !ReadFile(h, buf, sizeof buf, &n, NULL) || n != 2)
        return C_IO;
    CloseHandle(h);
    return C_OK;
}

/* A server of uid 65534 whose client is root. */
static int child_server(const char *name, const char *event)
{
    char buf[4];
    DWORD n;
    if (become_nobody())
        return C_USER;
    HANDLE ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, event);
    HANDLE h = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, open_to_all());
    if (!ready || h == INVALID_HANDLE_VALUE)
        return C_OPEN;
    SetEvent(ready);
    if ((!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED) || !ReadFile(h, buf, 2, &n, NULL))
        return C_IO;
    if (ImpersonateNamedPipeClient(h)) {
        RevertToSelf();
        return C_IMPERSONATED;
    }
    int code = GetLastError() == ERROR_PRIVILEGE_NOT_HELD ? C_OK : C_WRONG_ERROR;
    RevertToSelf();
    if (!WriteFile(h, "ok", 2, &n, NULL))
        return C_IO;
    FlushFileBuffers(h);
    CloseHandle(h);
    return code;
}

/* --- the root side ------------------------------------------------------------------- */

/* Started before the impersonation (a Linux thread starts with its
 * creator's credentials, see docs/pipes.md), it opens the event when told. */
static DWORD WINAPI open_private(LPVOID go)
{
    WaitForSingleObject(go, 10000);
    HANDLE h = OpenEventA(SYNCHRONIZE, FALSE, "Global\\IMP-PRIVATE");
    if (h)
        CloseHandle(h);
    return h != NULL;
}

static void test_root_impersonates(const char *root_dir)
{
    const char *name = t_pipe_name("as-nobody");
    PROCESS_INFORMATION pi;
    char args[300], buf[4], path[8192], user[64], expect[64];
    struct stat st;
    DWORD n;

    HANDLE priv = CreateEventA(NULL, TRUE, FALSE, "Global\\IMP-PRIVATE");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, open_to_all());
    T_OK(priv && s != INVALID_HANDLE_VALUE, "a private event of root's and a pipe open to every user");
    snprintf(args, sizeof args, "child client %s 0", name);
    T_OK(t_spawn(args, &pi), "a client child that becomes uid 65534");
    T_OK(ConnectNamedPipe(s, NULL) || GetLastError() == ERROR_PIPE_CONNECTED, "it connects");
    T_OK(ReadFile(s, buf, 2, &n, NULL) && n == 2, "its message");

    gid_t before[64];
    int nbefore = getgroups(64, before);
    HANDLE go = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE t = CreateThread(NULL, 0, open_private, go, 0, NULL);
    T_OK(ImpersonateNamedPipeClient(s), "ImpersonateNamedPipeClient");
    HANDLE h = OpenEventA(SYNCHRONIZE, FALSE, "Global\\IMP-PRIVATE");
    T_ERR(h != NULL, ERROR_ACCESS_DENIED, "as the client: root's private event is refused");
    snprintf(path, sizeof path, "%s/imp-file-client", root_dir);
    HANDLE f = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    T_OK(f != INVALID_HANDLE_VALUE, "a file created as the client");
    CloseHandle(f);
    T_OK(stat(path, &st) == 0 && st.st_uid == NOBODY && st.st_gid == NOBODY, "belongs to uid/gid 65534");
    SetEvent(go);
    DWORD other = 0;
    WaitForSingleObject(t, 10000);
    GetExitCodeThread(t, &other);
    CloseHandle(t);
    CloseHandle(go);
    T_EQ(other, 1, "another thread of the process is still root");
    struct passwd *pw = getpwuid(NOBODY);
    snprintf(expect, sizeof expect, "%s", pw ? pw->pw_name : "65534");
    memset(user, 0, sizeof user);
    T_OK(GetNamedPipeHandleStateA(s, NULL, NULL, NULL, NULL, user, sizeof user), "GetNamedPipeHandleState");
    T_STR(user, expect, "names the client's user");

    T_OK(RevertToSelf(), "RevertToSelf");
    h = OpenEventA(SYNCHRONIZE, FALSE, "Global\\IMP-PRIVATE");
    T_OK(h != NULL, "root again: the event opens");
    CloseHandle(h);
    snprintf(path, sizeof path, "%s/imp-file-self", root_dir);
    f = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    CloseHandle(f);
    T_OK(stat(path, &st) == 0 && st.st_uid == 0, "files are root's again");
    gid_t after[64];
    int nafter = getgroups(64, after);
    T_OK(nafter == nbefore && memcmp(before, after, sizeof(gid_t) * (size_t)(nbefore > 0 ? nbefore : 0)) == 0,
         "the supplementary groups are back");

    T_OK(WriteFile(s, "ok", 2, &n, NULL), "answer");
    T_EQ(t_wait_child(&pi, 10000), C_OK, "the client child finished");
    CloseHandle(s);
    CloseHandle(priv);
}

/* A client that allows identification only. */
static void test_identification_only(void)
{
    const char *name = t_pipe_name("ident");
    PROCESS_INFORMATION pi;
    char args[300], buf[4];
    DWORD n;
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, open_to_all());
    snprintf(args, sizeof args, "child client %s %lu", name,
             (unsigned long)(SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION));
    T_OK(t_spawn(args, &pi), "a client of uid 65534 with SECURITY_IDENTIFICATION");
    T_OK(ConnectNamedPipe(s, NULL) || GetLastError() == ERROR_PIPE_CONNECTED, "it connects");
    T_OK(ReadFile(s, buf, 2, &n, NULL) && n == 2, "its message");
    T_ERR(ImpersonateNamedPipeClient(s), ERROR_BAD_IMPERSONATION_LEVEL,
          "ImpersonateNamedPipeClient: ERROR_BAD_IMPERSONATION_LEVEL");
    HANDLE h = OpenEventA(SYNCHRONIZE, FALSE, "Global\\IMP-PRIVATE");
    T_OK(h != NULL, "still root");
    if (h)
        CloseHandle(h);
    char user[64] = {0};
    T_OK(GetNamedPipeHandleStateA(s, NULL, NULL, NULL, NULL, user, sizeof user) && user[0],
         "identifying the client still works");
    T_OK(WriteFile(s, "ok", 2, &n, NULL), "answer");
    T_EQ(t_wait_child(&pi, 10000), C_OK, "the client child finished");
    CloseHandle(s);
}

static void test_unprivileged_server(void)
{
    const char *name = t_pipe_name("nobody-server");
    HANDLE ready = CreateEventA(open_to_all(), TRUE, FALSE, "Global\\IMP-READY");
    PROCESS_INFORMATION pi;
    char args[300], buf[4];
    DWORD n;
    snprintf(args, sizeof args, "child server %s Global\\IMP-READY", name);
    T_OK(t_spawn(args, &pi), "a server child that becomes uid 65534");
    HANDLE both[2] = {ready, pi.hProcess};
    T_EQ(WaitForMultipleObjects(2, both, FALSE, 10000), WAIT_OBJECT_0, "its pipe is ready");
    HANDLE c = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    T_OK(c != INVALID_HANDLE_VALUE, "root connects to it");
    T_OK(WriteFile(c, "hi", 2, &n, NULL) && ReadFile(c, buf, sizeof buf, &n, NULL) && n == 2, "talks to it");
    T_EQ(t_wait_child(&pi, 10000), C_OK, "its ImpersonateNamedPipeClient failed with ERROR_PRIVILEGE_NOT_HELD");
    CloseHandle(c);
    CloseHandle(ready);
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "child") == 0 && strcmp(argv[2], "client") == 0)
        return child_client(argv[3], (DWORD)strtoul(argv[4], NULL, 0));
    if (argc >= 5 && strcmp(argv[1], "child") == 0 && strcmp(argv[2], "server") == 0)
        return child_server(argv[3], argv[4]);
    const char *root_dir = getenv("WINIPC_ROOT");
    if (geteuid() != 0 || !root_dir) {
        t_report(1, __FILE__, __LINE__, "impersonation across users # SKIP needs root and WINIPC_ROOT", NULL);
        return t_done();
    }
    /* run-test's directory is private (mktemp -d): make it what the
     * default root is, a sticky world-writable directory. */
    T_EQ(chmod(root_dir, 01777), 0, "chmod 1777 the namespace root");
    HANDLE priv = CreateEventA(NULL, TRUE, FALSE, "Global\\IMP-PRIVATE");
    test_root_impersonates(root_dir);
    test_identification_only();
    test_unprivileged_server();
    CloseHandle(priv);
    return t_done();
}
