/*
 * What a cold listing costs with READDIRPLUS: libfuse 3's low-level API in C, without Node.
 * The same flat directory of FLOOR_COUNT files as scripts/libfuse-floor.c (f0000000.bin, size
 * i % 4096), answered from arithmetic, but readdirplus hands the kernel each name's
 * attributes with the listing, so `ls -l` looks nothing up one name at a time. libfuse 2
 * (the only API of @cocalc/fuse-native, the design card's binding) has no READDIRPLUS; this
 * floor says what moving to libfuse 3 could gain before anyone writes a binding for it.
 * scripts/bench-ls.ts compiles it (gcc, pkg-config fuse3: Debian's libfuse3-dev, which the
 * tests do not need) and mounts it read-only with the same timeouts as the daemon.
 *
 *   FLOOR_COUNT=100000 libfuse3-floor MOUNTPOINT -f [-s] -oro,fsname=...
 */
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <limits.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT_INO 1
#define FLAT_INO 2
#define FIRST_FILE_INO 16
/* The daemon's entry and attribute timeouts (a version never changes). */
#define TIMEOUT 3600.0

static long count;

static int fill_attr(fuse_ino_t ino, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = ino;
  st->st_uid = getuid();
  st->st_gid = getgid();
  if (ino == ROOT_INO || ino == FLAT_INO) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    return 0;
  }
  long i = (long)ino - FIRST_FILE_INO;
  if (i < 0 || i >= count) return -1;
  st->st_mode = S_IFREG | 0444;
  st->st_nlink = 1;
  st->st_size = i % 4096;
  return 0;
}

static void entry_of(fuse_ino_t ino, struct fuse_entry_param *e) {
  memset(e, 0, sizeof *e);
  e->ino = ino;
  e->attr_timeout = TIMEOUT;
  e->entry_timeout = TIMEOUT;
  fill_attr(ino, &e->attr);
}

static void floor_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fuse_entry_param e;
  if (parent == ROOT_INO && strcmp(name, "flat") == 0) {
    entry_of(FLAT_INO, &e);
    fuse_reply_entry(req, &e);
    return;
  }
  char *end;
  long i = parent == FLAT_INO && strncmp(name, "f", 1) == 0 ? strtol(name + 1, &end, 10) : -1;
  if (i < 0 || i >= count || end != name + 8 || strcmp(end, ".bin") != 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  entry_of(FIRST_FILE_INO + i, &e);
  fuse_reply_entry(req, &e);
}

static void floor_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  struct stat st;
  if (fill_attr(ino, &st) != 0) fuse_reply_err(req, ENOENT);
  else fuse_reply_attr(req, &st, TIMEOUT);
}

/* Entry `n` of a directory: ".", "..", then its children. */
static int dir_entry(fuse_ino_t dir, long n, char *name, size_t size, fuse_ino_t *ino) {
  if (n == 0 || n == 1) {
    snprintf(name, size, n == 0 ? "." : "..");
    *ino = n == 0 ? dir : ROOT_INO;
    return 1;
  }
  if (dir == ROOT_INO) {
    if (n != 2) return 0;
    snprintf(name, size, "flat");
    *ino = FLAT_INO;
    return 1;
  }
  if (n - 2 >= count) return 0;
  snprintf(name, size, "f%07ld.bin", n - 2);
  *ino = FIRST_FILE_INO + (n - 2);
  return 1;
}

static void list(fuse_req_t req, fuse_ino_t dir, size_t size, off_t off, int plus) {
  if (dir != ROOT_INO && dir != FLAT_INO) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  char *buf = malloc(size);
  size_t used = 0;
  char name[32];
  fuse_ino_t ino;
  for (long n = off; dir_entry(dir, n, name, sizeof name, &ino); n++) {
    size_t len;
    struct fuse_entry_param e;
    entry_of(ino, &e);
    if (plus) {
      /* Each name given with attributes counts as a lookup (the kernel forgets it later). */
      len = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, n + 1);
    } else {
      len = fuse_add_direntry(req, buf + used, size - used, name, &e.attr, n + 1);
    }
    if (len > size - used) break;
    used += len;
  }
  fuse_reply_buf(req, buf, used);
  free(buf);
}

static void floor_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  list(req, ino, size, off, 0);
}

static void floor_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                              struct fuse_file_info *fi) {
  (void)fi;
  list(req, ino, size, off, 1);
}

/* As the daemon: ls's security.* and system.* questions are answered "not supported". */
static void floor_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
  (void)ino;
  (void)name;
  (void)size;
  fuse_reply_err(req, EOPNOTSUPP);
}

/* Nothing is kept per name, so there is nothing to free. */
static void floor_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  (void)ino;
  (void)nlookup;
  fuse_reply_none(req);
}

static const struct fuse_lowlevel_ops ops = {
    .lookup = floor_lookup,
    .forget = floor_forget,
    .getattr = floor_getattr,
    .readdir = floor_readdir,
    .readdirplus = floor_readdirplus,
    .getxattr = floor_getxattr,
};

int main(int argc, char **argv) {
  const char *n = getenv("FLOOR_COUNT");
  count = n ? atol(n) : 0;
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  struct fuse_cmdline_opts opts;
  if (fuse_parse_cmdline(&args, &opts) != 0 || opts.mountpoint == NULL) return 2;
  struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (se == NULL) return 1;
  int ret = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, opts.mountpoint) == 0) {
      fuse_daemonize(opts.foreground);
      if (opts.singlethread) {
        ret = fuse_session_loop(se);
      } else {
        /* libfuse's default of 10 idle threads unless -o max_idle_threads= was given. */
        unsigned idle = opts.max_idle_threads == UINT_MAX ? 10 : opts.max_idle_threads;
        struct fuse_loop_config config = {.clone_fd = opts.clone_fd, .max_idle_threads = idle};
        ret = fuse_session_loop_mt(se, &config);
      }
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  free(opts.mountpoint);
  fuse_opt_free_args(&args);
  return ret ? 1 : 0;
}
