/*
 * The floor of a FUSE listing in libfuse 2 itself, without Node: one flat directory of
 * FLOOR_COUNT files named and sized as scripts/bench-ls.ts's package (f0000000.bin, size
 * i % 4096), answered from arithmetic in libfuse's own threads. scripts/bench-ls.ts compiles
 * it (gcc, pkg-config fuse: the packages setup.sh installs) and mounts it with the daemon's
 * mount options, in libfuse's multi-threaded loop (the one a libfuse 2 binding such as
 * @cocalc/fuse-native, the mount's binding before fuse-napi, runs) and single-threaded (-s),
 * to show what a cold listing costs with one lookup per name (libfuse 2 has no READDIRPLUS),
 * even without the hand-off to JavaScript.
 *
 *   FLOOR_COUNT=100000 libfuse-floor MOUNTPOINT -f [-s] -oro,use_ino,...
 */
#define FUSE_USE_VERSION 26
#include <errno.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long count;

static int floor_getattr(const char *path, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_uid = getuid();
  st->st_gid = getgid();
  if (strcmp(path, "/") == 0 || strcmp(path, "/flat") == 0) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    st->st_ino = path[1] ? 2 : 1;
    return 0;
  }
  char *end;
  if (strncmp(path, "/flat/f", 7) != 0) return -ENOENT;
  long i = strtol(path + 7, &end, 10);
  if (end != path + 14 || strcmp(end, ".bin") != 0 || i < 0 || i >= count) return -ENOENT;
  st->st_mode = S_IFREG | 0444;
  st->st_nlink = 1;
  st->st_size = i % 4096;
  st->st_ino = i + 16;
  return 0;
}

static int floor_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi) {
  (void)off;
  (void)fi;
  fill(buf, ".", NULL, 0);
  fill(buf, "..", NULL, 0);
  if (strcmp(path, "/") == 0) return fill(buf, "flat", NULL, 0), 0;
  if (strcmp(path, "/flat") != 0) return -ENOENT;
  char name[32];
  for (long i = 0; i < count; i++) {
    snprintf(name, sizeof name, "f%07ld.bin", i);
    fill(buf, name, NULL, 0);
  }
  return 0;
}

/* As the daemon: ls's security.* and system.* questions are answered "not supported". */
static int floor_getxattr(const char *path, const char *name, char *value, size_t size) {
  (void)path;
  (void)name;
  (void)value;
  (void)size;
  return -EOPNOTSUPP;
}

static struct fuse_operations ops = {
    .getattr = floor_getattr,
    .readdir = floor_readdir,
    .getxattr = floor_getxattr,
};

int main(int argc, char **argv) {
  const char *n = getenv("FLOOR_COUNT");
  count = n ? atol(n) : 0;
  return fuse_main(argc, argv, &ops, NULL);
}
