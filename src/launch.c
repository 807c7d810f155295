/* SPDX-License-Identifier: MIT */
/* Starting Linux processes (see launch.h): the one file that forks, execs
 * and searches for programs.
 *
 * Programs are found as Windows finds them: lpApplicationName is used as
 * given (relative to the current directory, no search); otherwise the
 * command line's first token, which is searched for when it has no
 * directory part: the directory of the running executable, the current
 * directory, then PATH (Windows' system directories have no counterpart).
 * Unquoted, a first token followed by more words is tried longer and
 * longer ("c:\program files\app" tries "c:\program", then the whole),
 * as Windows does. A porting aid: when "name.exe" is not found, "name" is
 * tried, since Linux programs carry no extension.
 *
 * The child starts by posix_spawn (a vfork-style clone: cheap even for a
 * large parent; glibc reports exec failures synchronously) or, when it
 * must stop before exec (CREATE_SUSPENDED) or change its nice value, by
 * fork + exec with a close-on-exec pipe carrying an exec failure back. */
#include "launch.h"

#include "cmdline.h"
#include "error.h"
#include "inherit.h"
#include "process.h"
#include "unicode.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

extern char **environ;

/* glibc 2.29 added posix_spawn_file_actions_addchdir_np and made
 * adddup2(fd, fd) clear FD_CLOEXEC in the child (what passing an inherited
 * fd needs). Elsewhere every spawn takes the fork path. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
#define WI_HAVE_SPAWN_FD_ACTIONS 1
#else
#define WI_HAVE_SPAWN_FD_ACTIONS 0
#endif

/* --- Finding the program ------------------------------------------------------- */

/* Does the directory part of `path` exist? Decides ERROR_FILE_NOT_FOUND
 * (only the file is missing) against ERROR_PATH_NOT_FOUND. */
static bool parent_dir_exists(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return true;
    if (slash == path)
        return true; /* "/" */
    char *dir = strndup(path, (size_t)(slash - path));
    struct stat st;
    bool ok = dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    return ok;
}

/* Examine one candidate. Windows: a directory → ERROR_ACCESS_DENIED. */
static DWORD probe_file(const char *path, struct stat *st)
{
    if (stat(path, st) == 0)
        return S_ISDIR(st->st_mode) ? ERROR_ACCESS_DENIED : ERROR_SUCCESS;
    if (errno == ENOENT)
        return parent_dir_exists(path) ? ERROR_FILE_NOT_FOUND : ERROR_PATH_NOT_FOUND;
    if (errno == ENOTDIR)
        return ERROR_PATH_NOT_FOUND;
    return wi_error_from_errno(errno);
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (!s)
        return NULL;
    memcpy(s, dir, a);
    if (!a || dir[a - 1] != '/')
        s[a++] = '/';
    memcpy(s + a, name, b + 1);
    return s;
}

static char *current_dir(void)
{
    return getcwd(NULL, 0);
}

static char *absolute(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char *cwd = current_dir();
    if (!cwd)
        return NULL;
    char *s = join_path(cwd, path);
    free(cwd);
    return s;
}

/* The directory of the running executable, the first place Windows looks. */
static char *exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = 0;
    char *slash = strrchr(buf, '/');
    if (!slash)
        return NULL;
    *slash = 0;
    return strdup(slash == buf ? "/" : buf);
}

/* Find `name`. A name with a directory part (or any name when !search) is
 * taken relative to the current directory; a bare name is searched like
 * Windows does: the executable's directory, the current directory, then
 * each PATH entry (the Windows system directories have no counterpart).
 * On success *out is an absolute path. */
static DWORD find_once(const char *name, bool search, char **out, struct stat *st)
{
    if (!*name)
        return ERROR_FILE_NOT_FOUND;
    if (!search || strchr(name, '/')) {
        char *path = absolute(name);
        if (!path)
            return ERROR_NOT_ENOUGH_MEMORY;
        DWORD err = probe_file(path, st);
        if (err)
            free(path);
        else
            *out = path;
        return err;
    }
    char *dirs[2] = {exe_dir(), current_dir()};
    char *path_env = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    DWORD err = ERROR_FILE_NOT_FOUND;
    for (int i = 0; i < 2 && err; i++) {
        if (!dirs[i])
            continue;
        char *path = join_path(dirs[i], name);
        if (path && probe_file(path, st) == ERROR_SUCCESS) {
            *out = path;
            err = ERROR_SUCCESS;
        } else {
            free(path);
        }
    }
    for (char *save = NULL, *d = path_env ? strtok_r(path_env, ":", &save) : NULL; d && err;
         d = strtok_r(NULL, ":", &save)) {
        char *path = join_path(d, name), *abs;
        if (path && probe_file(path, st) == ERROR_SUCCESS && (abs = absolute(path)) != NULL) {
            *out = abs;
            err = ERROR_SUCCESS;
        }
        free(path);
    }
    free(dirs[0]);
    free(dirs[1]);
    free(path_env);
    return err;
}

/* find_once, plus the porting aid for names written for Windows: when
 * "name.exe" does not exist, "name" is tried (Linux programs have no
 * extension). The first attempt's error is the one reported. */
static DWORD find_program(const char *name, bool search, char **out, struct stat *st)
{
    DWORD err = find_once(name, search, out, st);
    size_t n = strlen(name);
    if (err && err != ERROR_NOT_ENOUGH_MEMORY && n > 4 && strcasecmp(name + n - 4, ".exe") == 0) {
        char *bare = strndup(name, n - 4);
        if (!bare)
            return ERROR_NOT_ENOUGH_MEMORY;
        if (find_once(bare, search, out, st) == ERROR_SUCCESS)
            err = ERROR_SUCCESS;
        free(bare);
    }
    return err;
}

/* lpApplicationName == NULL: the program is the command line's first token.
 * Unquoted, Windows tries each prefix ending at white space in turn
 * ("c:\program files\sub dir\prog" tries "c:\program", then
 * "c:\program files\sub", ...), and so do we. */
static DWORD find_from_command_line(const char *cmdline, char **out, struct stat *st)
{
    bool quoted;
    char *first = wi_cmdline_program(cmdline, &quoted);
    if (!first)
        return ERROR_NOT_ENOUGH_MEMORY;
    DWORD err = find_program(first, true, out, st);
    if (err && err != ERROR_NOT_ENOUGH_MEMORY && !quoted) {
        size_t first_len = strlen(first);
        for (const char *p = cmdline + first_len; *p; p++) {
            if (*p != ' ' && *p != '\t')
                continue;
            /* skip to the end of the next word */
            const char *e = p;
            while (*e == ' ' || *e == '\t')
                e++;
            if (!*e)
                break;
            while (*e && *e != ' ' && *e != '\t')
                e++;
            char *longer = strndup(cmdline, (size_t)(e - cmdline));
            if (!longer)
                break;
            DWORD e2 = find_program(longer, true, out, st);
            free(longer);
            if (!e2) {
                err = ERROR_SUCCESS;
                break;
            }
            p = e - 1;
        }
    }
    free(first);
    return err;
}

/* What the kernel would say to exec, checked in the parent. */
static DWORD check_executable(const char *path, bool check_format)
{
    if (access(path, X_OK) != 0)
        return errno == EACCES ? ERROR_ACCESS_DENIED : wi_error_from_errno(errno);
    if (!check_format)
        return ERROR_SUCCESS;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ERROR_SUCCESS; /* execute-only: exec will tell */
    unsigned char m[4] = {0};
    ssize_t n = pread(fd, m, sizeof m, 0);
    close(fd);
    if (n == 4 && memcmp(m, "\177ELF", 4) == 0)
        return ERROR_SUCCESS;
    if (n >= 2 && m[0] == '#' && m[1] == '!')
        return ERROR_SUCCESS;
    return ERROR_BAD_EXE_FORMAT;
}

/* --- The child's environment --------------------------------------------------- */

struct strvec {
    char **v;
    size_t n, cap;
};

static DWORD strvec_add(struct strvec *s, char *str)
{
    if (!str)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            free(str);
            return ERROR_NOT_ENOUGH_MEMORY;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
    return ERROR_SUCCESS;
}

static void strvec_free(struct strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* A stale start-block variable (ours, when we were started by winipc and
 * the constructor could not remove it) never reaches a child. */
static bool is_start_var(const char *e)
{
    size_t n = strlen(WI_START_ENV);
    return strncmp(e, WI_START_ENV, n) == 0 && e[n] == '=';
}

DWORD wi_launch_env(const void *block, bool wide, const char *extra, char ***envp)
{
    struct strvec vec = {0}, *env = &vec;
    DWORD err = ERROR_SUCCESS;
    if (!block) {
        wi_env_lock();
        for (char **e = environ; e && *e && !err; e++)
            if (!is_start_var(*e))
                err = strvec_add(env, strdup(*e));
        wi_env_unlock();
    } else if (wide) {
        for (const wchar_t *w = block; *w && !err; w += wcslen(w) + 1) {
            char *s = wi_utf8_from_wide(w);
            if (s && is_start_var(s))
                free(s);
            else
                err = strvec_add(env, s);
        }
    } else {
        for (const char *a = block; *a && !err; a += strlen(a) + 1)
            if (!is_start_var(a))
                err = strvec_add(env, strdup(a));
    }
    if (!err)
        err = strvec_add(env, strdup(extra));
    if (err) {
        strvec_free(env);
        return err;
    }
    *envp = vec.v;
    return ERROR_SUCCESS;
}

void wi_launch_env_free(char **envp)
{
    for (char **e = envp; e && *e; e++)
        free(*e);
    free(envp);
}

/* --- Spawning ------------------------------------------------------------------ */

static DWORD spawn_posix(const struct wi_launch_plan *sp, pid_t *pid)
{
#if WI_HAVE_SPAWN_FD_ACTIONS
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    int r = 0;

    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    for (int i = 0; i < 3 && !r; i++)
        if (sp->std_fds[i] >= 0)
            r = posix_spawn_file_actions_adddup2(&fa, sp->std_fds[i], i);
    /* dup2(fd, fd) clears FD_CLOEXEC in the child only. */
    for (unsigned i = 0; i < sp->npass && !r; i++)
        r = posix_spawn_file_actions_adddup2(&fa, sp->pass_fds[i], sp->pass_fds[i]);
    if (!r && sp->cwd)
        r = posix_spawn_file_actions_addchdir_np(&fa, sp->cwd);
    /* A new process starts with no signal blocked, whatever the calling
     * thread has blocked. */
    sigemptyset(&none);
    short flags = POSIX_SPAWN_SETSIGMASK;
    if (!r)
        r = posix_spawnattr_setsigmask(&attr, &none);
    if (!r && sp->new_group) {
        flags |= POSIX_SPAWN_SETPGROUP;
        r = posix_spawnattr_setpgroup(&attr, 0);
    }
    if (!r)
        r = posix_spawnattr_setflags(&attr, flags);
    if (!r)
        r = posix_spawn(pid, sp->exe, &fa, &attr, sp->argv, sp->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return r ? wi_error_from_errno(r) : ERROR_SUCCESS;
#else
    (void)sp;
    (void)pid;
    return ERROR_NOT_SUPPORTED;
#endif
}

static void child_fail(int errfd, int err, bool report)
{
    if (report) {
        ssize_t w = write(errfd, &err, sizeof err);
        (void)w;
    }
    _exit(127);
}

/* Between fork and exec: async-signal-safe calls only. */
static void child_after_fork(const struct wi_launch_plan *sp, int errfd)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int i = 0; i < 3; i++)
        if (sp->std_fds[i] >= 0 && dup2(sp->std_fds[i], i) < 0)
            child_fail(errfd, errno, true);
    for (unsigned i = 0; i < sp->npass; i++)
        if (fcntl(sp->pass_fds[i], F_SETFD, 0) != 0)
            child_fail(errfd, errno, true);
    if (sp->new_group && setpgid(0, 0) != 0)
        child_fail(errfd, errno, true);
    /* Raising priority needs CAP_SYS_NICE or RLIMIT_NICE; without them the
     * child keeps our priority, as Windows quietly gives HIGH instead of
     * REALTIME to a caller without the privilege (docs/processes.md). */
    if (sp->nice != WI_NO_NICE)
        setpriority(PRIO_PROCESS, 0, sp->nice);
    if (sp->cwd && chdir(sp->cwd) != 0)
        child_fail(errfd, errno, true);
    if (sp->suspended)
        raise(SIGSTOP); /* CREATE_SUSPENDED: wait here for ResumeThread's SIGCONT */
    execve(sp->exe, sp->argv, sp->envp);
    /* After a stop nobody reads errfd any more (the parent returned). */
    child_fail(errfd, errno, !sp->suspended);
}

static DWORD read_child_error(int fd)
{
    int e;
    ssize_t n;
    do
        n = read(fd, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof e ? wi_error_from_errno(e) : ERROR_SUCCESS;
}

void wi_launch_reap(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static DWORD spawn_fork(const struct wi_launch_plan *sp, pid_t *out)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return wi_error_from_errno(errno);
    pid_t pid = fork();
    if (pid < 0) {
        DWORD err = wi_error_from_errno(errno);
        close(pipefd[0]);
        close(pipefd[1]);
        return err;
    }
    if (pid == 0) {
        close(pipefd[0]);
        child_after_fork(sp, pipefd[1]);
    }
    close(pipefd[1]);
    DWORD err = ERROR_SUCCESS;
    if (sp->suspended) {
        /* Return only once the child has stopped (so ResumeThread's SIGCONT
         * cannot come too early), or has failed before stopping. */
        siginfo_t si;
        int r;
        do {
            memset(&si, 0, sizeof si);
            r = waitid(P_PID, (id_t)pid, &si, WSTOPPED | WEXITED | WNOWAIT);
        } while (r < 0 && errno == EINTR);
        if (r == 0 && si.si_code != CLD_STOPPED) {
            err = read_child_error(pipefd[0]);
            if (!err)
                err = ERROR_GEN_FAILURE; /* killed before it stopped */
        }
    } else {
        /* EOF: exec succeeded (the pipe was close-on-exec). */
        err = read_child_error(pipefd[0]);
    }
    close(pipefd[0]);
    if (err) {
        wi_launch_reap(pid);
        return err;
    }
    *out = pid;
    return ERROR_SUCCESS;
}

DWORD wi_launch(const struct wi_launch_plan *sp, pid_t *pid)
{
    /* posix_spawn cannot stop the child before exec or change its nice
     * value; fork does what it cannot. */
    if (sp->suspended || sp->nice != WI_NO_NICE || !WI_HAVE_SPAWN_FD_ACTIONS)
        return spawn_fork(sp, pid);
    return spawn_posix(sp, pid);
}

DWORD wi_launch_find(const char *app, const char *cmdline, bool check_format, char **exe, struct stat *st)
{
    DWORD err = app ? find_program(app, false, exe, st) : find_from_command_line(cmdline, exe, st);
    if (err)
        return err;
    err = check_executable(*exe, check_format);
    if (err) {
        free(*exe);
        *exe = NULL;
    }
    return err;
}
