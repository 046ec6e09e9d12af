/*
 * aimos-jail: starts one AIMOS model sandbox contained.
 *
 *   aimos-jail [--uid N --gid N] [--userns] --stage DIR --workdir DIR [--ro PATH]... [--tmp-mb N]
 *              [--net none|relay|host] [--seccomp local|upstream|off] -- PROGRAM [ARG]...
 *
 * Namespaces of its own (mount, pid, ipc, uts, and network with --net none or relay: relay brings the namespace's
 * loopback up, so that the sandbox can listen on 127.0.0.1 for its own connections to the node's egress relay, a
 * unix socket in its work dir; nothing else is reachable); a root made of a tmpfs holding
 * read-only binds of the --ro paths, the work dir (writable), a private /tmp (tmpfs), a minimal /dev and a /proc
 * of its own pid namespace; then the uid and gid given (when started as root) or the caller's own inside a user
 * namespace (--userns), no_new_privs and a seccomp filter, and PROGRAM runs as pid 1 of the namespace.
 * This process stays as its parent: it forwards SIGTERM, SIGINT and SIGHUP, exits with PROGRAM's status (128+signal
 * when killed), and when it dies PROGRAM is killed with the whole namespace.
 * Settings come from argv only; the environment is passed to PROGRAM unchanged.
 * Exit codes of its own: 125 bad usage, 126 a containment step failed (the message says which).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_RO 4096

static const char *ro[MAX_RO];
static int nro;
static const char *stage, *workdir, *net = "none", *filter = "local";
static long uid = -1, gid = -1, tmp_mb = 64;
static int userns;
static pid_t child;

static void die(const char *step) {
  fprintf(stderr, "aimos-jail: %s: %s\n", step, strerror(errno));
  _exit(126);
}

static void usage(const char *why) {
  fprintf(stderr, "aimos-jail: %s\n", why);
  _exit(125);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text)) {
    die(path);
  }
  close(fd);
}

/* mkdir -p of PATH (absolute) */
static void mkdirs(const char *path, mode_t mode) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int) sizeof buf) {
    errno = ENAMETOOLONG;
    die(path);
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = 0;
      if (mkdir(buf, mode) < 0 && errno != EEXIST) die(buf);
      *p = '/';
    }
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST) die(buf);
}

static void parent_of(const char *path, char *out, size_t n) {
  snprintf(out, n, "%s", path);
  char *slash = strrchr(out, '/');
  if (slash && slash != out) *slash = 0; else snprintf(out, n, "/");
}

/*
 * Shows SRC at the same path under the stage; read-only unless WRITABLE, and without device files unless DEVICE.
 * Symlinks are copied as symlinks.
 */
static void show(const char *src, int writable, int device) {
  char dst[4096], dir[4096];
  struct stat st;
  if (lstat(src, &st) < 0) {
    return; /* absent: nothing to show */
  }
  snprintf(dst, sizeof dst, "%s%s", stage, src);
  parent_of(dst, dir, sizeof dir);
  mkdirs(dir, 0755);
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t len = readlink(src, target, sizeof target - 1);
    if (len < 0) die(src);
    target[len] = 0;
    if (symlink(target, dst) < 0 && errno != EEXIST) die(dst);
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    mkdirs(dst, 0755);
  } else {
    int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die(dst);
    close(fd);
  }
  if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) die(src);
  struct statvfs vfs;
  unsigned long locked = 0;
  if (statvfs(dst, &vfs) == 0) {
    if (vfs.f_flag & ST_NOSUID) locked |= MS_NOSUID;
    if (vfs.f_flag & ST_NODEV) locked |= MS_NODEV;
    if (vfs.f_flag & ST_NOEXEC) locked |= MS_NOEXEC;
    if (vfs.f_flag & ST_NOATIME) locked |= MS_NOATIME;
    if (vfs.f_flag & ST_RELATIME) locked |= MS_RELATIME;
  }
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | (device ? 0 : MS_NODEV) | locked | (writable ? 0 : MS_RDONLY);
  if (mount(NULL, dst, NULL, flags, NULL) < 0) die(src);
}

static void dev_node(const char *name) {
  char src[256];
  snprintf(src, sizeof src, "/dev/%s", name);
  show(src, 1, 1);
}

static void build_root(void) {
  char path[4096], opts[64];
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("making mounts private");
  if (mount("aimos-sandbox", stage, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755") < 0) die("root tmpfs");
  /* /tmp first: a work dir or a read-only path under /tmp goes on top of it */
  snprintf(path, sizeof path, "%s/tmp", stage);
  mkdirs(path, 0755);
  snprintf(opts, sizeof opts, "size=%ldm,mode=1777", tmp_mb);
  if (mount("aimos-tmp", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) die("/tmp tmpfs");
  for (int i = 0; i < nro; i++) show(ro[i], 0, 0);
  show(workdir, 1, 0);
  snprintf(path, sizeof path, "%s/dev", stage);
  mkdirs(path, 0755);
  if (mount("aimos-dev", path, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755") < 0) die("/dev tmpfs");
  dev_node("null");
  dev_node("zero");
  dev_node("full");
  dev_node("random");
  dev_node("urandom");
  const char *links[][2] = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
                            {"/proc/self/fd/2", "stderr"}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    snprintf(path, sizeof path, "%s/dev/%s", stage, links[i][1]);
    if (symlink(links[i][0], path) < 0) die(path);
  }
  snprintf(path, sizeof path, "%s/proc", stage);
  mkdirs(path, 0555);
  if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("/proc of the pid namespace");
  snprintf(path, sizeof path, "%s/.old-root", stage);
  mkdirs(path, 0700);
  if (syscall(SYS_pivot_root, stage, path) < 0) die("pivot_root");
  if (chdir("/") < 0) die("chdir /");
  if (umount2("/.old-root", MNT_DETACH) < 0) die("detaching the host's root");
  if (rmdir("/.old-root") < 0) die("rmdir /.old-root");
  if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) die("read-only root");
}

#define ALLOW SECCOMP_RET_ALLOW
#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LOAD_ARG0 BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]))
#define DENY(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM))

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "aimos-jail knows the system calls of x86_64 and aarch64 only"
#endif

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

static void install_seccomp(int local) {
  struct sock_filter prog[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    LOAD_NR,
#if defined(__x86_64__)
    /* x32 system calls, another way in to the same kernel entries */
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1), BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM)),
#endif
    DENY(__NR_ptrace), DENY(__NR_process_vm_readv), DENY(__NR_process_vm_writev), DENY(__NR_mount),
    DENY(__NR_umount2), DENY(__NR_pivot_root), DENY(__NR_unshare), DENY(__NR_setns), DENY(__NR_kexec_load),
#ifdef __NR_kexec_file_load
    DENY(__NR_kexec_file_load),
#endif
    DENY(__NR_bpf), DENY(__NR_perf_event_open), DENY(__NR_keyctl), DENY(__NR_add_key), DENY(__NR_request_key),
    DENY(__NR_init_module), DENY(__NR_finit_module), DENY(__NR_delete_module), DENY(__NR_open_by_handle_at),
    DENY(__NR_name_to_handle_at), DENY(__NR_chroot), DENY(__NR_swapon), DENY(__NR_swapoff), DENY(__NR_reboot),
    DENY(__NR_syslog), DENY(__NR_acct), DENY(__NR_settimeofday), DENY(__NR_clock_settime), DENY(__NR_userfaultfd),
    DENY(__NR_io_uring_setup), DENY(__NR_io_uring_enter), DENY(__NR_io_uring_register),
    DENY(__NR_fsopen), DENY(__NR_fsmount), DENY(__NR_move_mount), DENY(__NR_open_tree), DENY(__NR_fspick),
    DENY(__NR_mount_setattr), DENY(__NR_kcmp), DENY(__NR_lookup_dcookie),
    /* clone3 hides its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1), BPF_STMT(BPF_RET | BPF_K, ERRNO(ENOSYS)),
    /* clone: no new namespaces */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3), LOAD_ARG0,
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1), BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM)),
    LOAD_NR,
    /* local runtimes: sockets of the AF_UNIX family only */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3), LOAD_ARG0,
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, local ? ERRNO(EAFNOSUPPORT) : ALLOW),
    BPF_STMT(BPF_RET | BPF_K, ALLOW),
  };
  struct sock_fprog fprog = {.len = sizeof prog / sizeof prog[0], .filter = prog};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0) die("seccomp filter");
}

/* the loopback of the sandbox's own network namespace, up (it starts down) */
static void loopback_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket for the loopback");
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) die("loopback flags");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) die("loopback up");
  close(fd);
}

static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--")) { i++; break; }
    if (!strcmp(a, "--userns")) { userns = 1; continue; }
    if (!v) usage("missing value after an option");
    if (!strcmp(a, "--uid")) uid = atol(v);
    else if (!strcmp(a, "--gid")) gid = atol(v);
    else if (!strcmp(a, "--stage")) stage = v;
    else if (!strcmp(a, "--workdir")) workdir = v;
    else if (!strcmp(a, "--tmp-mb")) tmp_mb = atol(v);
    else if (!strcmp(a, "--net")) net = v;
    else if (!strcmp(a, "--seccomp")) filter = v;
    else if (!strcmp(a, "--ro")) { if (nro == MAX_RO) usage("too many --ro paths"); ro[nro++] = v; }
    else usage("unknown option");
    i++;
  }
  if (i >= argc) usage("no program after --");
  if (!stage || !workdir || stage[0] != '/' || workdir[0] != '/') usage("--stage and --workdir must be absolute");
  if (strcmp(net, "none") && strcmp(net, "relay") && strcmp(net, "host")) usage("--net is none, relay or host");
  if (strcmp(filter, "local") && strcmp(filter, "upstream") && strcmp(filter, "off")) {
    usage("--seccomp is local, upstream or off");
  }
  if (tmp_mb < 1) usage("--tmp-mb must be positive");
  if (geteuid() != 0 && !userns) usage("not root: --userns is needed");
  if (geteuid() == 0 && uid >= 0 && gid >= 0 && chown(workdir, uid, gid) < 0) die("chown of the work dir");

  if (userns) {
    uid_t outer_uid = geteuid();
    gid_t outer_gid = getegid();
    char map[64];
    if (unshare(CLONE_NEWUSER) < 0) die("user namespace");
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%u %u 1\n", outer_uid, outer_uid);
    write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "%u %u 1\n", outer_gid, outer_gid);
    write_file("/proc/self/gid_map", map);
  }
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
  if (strcmp(net, "host")) flags |= CLONE_NEWNET;
  if (unshare(flags) < 0) die("mount, pid, ipc, uts or network namespace");
  /* the parent holds the write end for its whole life: the child sees it hang up once the parent is gone */
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) < 0) die("pipe");
  child = fork();
  if (child < 0) die("fork");
  if (child > 0) {
    struct sigaction sa = {0};
    sa.sa_handler = forward;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* the sandbox's pipes belong to the program alone: its exit closes them */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    int status;
    while (waitpid(child, &status, 0) < 0) {
      if (errno != EINTR) die("waitpid");
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
  }
  close(alive[1]);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("parent-death signal");
  build_root();
  if (sethostname("sandbox", 7) < 0) die("hostname");
  if (!strcmp(net, "relay")) loopback_up();
  if (chdir(workdir) < 0) die("chdir to the work dir");
  if (!userns && uid >= 0) {
    if (setgroups(0, NULL) < 0) die("setgroups");
    if (setresgid(gid, gid, gid) < 0) die("setresgid");
    if (setresuid(uid, uid, uid) < 0) die("setresuid");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
  /* a change of credentials clears the parent-death signal: set it again, then make sure the parent still lives */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("parent-death signal");
  struct pollfd hangup = {.fd = alive[0], .events = POLLIN};
  if (poll(&hangup, 1, 0) != 0) _exit(126);
  if (strcmp(filter, "off")) install_seccomp(!strcmp(filter, "local"));
  execv(argv[i], argv + i);
  die(argv[i]);
  return 126;
}
