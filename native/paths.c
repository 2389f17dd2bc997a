/* Filesystem work before a spawn: finding the program on the PATH, making directories. */
#define _GNU_SOURCE
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int make_directory(char *path) {
  if (mkdir(path, 0777) == 0) return 0;
  if (errno == EEXIST) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode) ? 0 : EEXIST;
  }
  if (errno != ENOENT) return errno;
  char *slash = strrchr(path, '/');
  if (!slash || slash == path) return ENOENT;
  *slash = '\0';
  int error = make_directory(path);
  *slash = '/';
  if (error) return error;
  return mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : errno;
}

static int is_executable_file(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 && S_ISREG(info.st_mode) && access(path, X_OK) == 0;
}

/* The last programs found on the PATH: one stat to confirm instead of one per PATH entry. */
#define CACHED_PROGRAMS 16
static struct {
  char *key; /* cwd NUL PATH NUL program */
  size_t key_length;
  char *path;
} found_programs[CACHED_PROGRAMS];
static unsigned next_found;

static int resolve_on_path(const char *file, const char *dirs, const char *cwd, char *found, size_t size);

int find_program(const char *file, const char *dirs, const char *cwd, char *found, size_t size) {
  if (file[0] == '\0') return ENOENT;
  if (strchr(file, '/')) {
    if (strlen(file) >= size) return ENAMETOOLONG;
    strcpy(found, file);
    return 0;
  }
  size_t cwd_length = strlen(cwd), dirs_length = strlen(dirs), file_length = strlen(file);
  size_t key_length = cwd_length + dirs_length + file_length + 2;
  for (unsigned i = 0; i < CACHED_PROGRAMS; i++) {
    const char *key = found_programs[i].key;
    if (!key || found_programs[i].key_length != key_length || strcmp(key + cwd_length + dirs_length + 2, file) != 0 ||
        memcmp(key, cwd, cwd_length) != 0 || memcmp(key + cwd_length + 1, dirs, dirs_length) != 0) {
      continue;
    }
    if (strlen(found_programs[i].path) < size && is_executable_file(found_programs[i].path)) {
      strcpy(found, found_programs[i].path);
      return 0;
    }
    break;
  }
  int error = resolve_on_path(file, dirs, cwd, found, size);
  if (error == 0) {
    unsigned slot = next_found++ % CACHED_PROGRAMS;
    free(found_programs[slot].key);
    free(found_programs[slot].path);
    char *key = malloc(key_length + 1);
    char *path = strdup(found);
    if (!key || !path) _exit(70);
    memcpy(key, cwd, cwd_length + 1);
    memcpy(key + cwd_length + 1, dirs, dirs_length + 1);
    memcpy(key + cwd_length + dirs_length + 2, file, file_length + 1);
    found_programs[slot].key = key;
    found_programs[slot].key_length = key_length;
    found_programs[slot].path = path;
  }
  return error;
}

static int resolve_on_path(const char *file, const char *dirs, const char *cwd, char *found, size_t size) {
  int denied = 0;
  for (const char *dir = dirs;; dir++) {
    const char *colon = strchrnul(dir, ':');
    size_t dir_length = (size_t)(colon - dir);
    int written; /* an empty entry is the current directory: the child's, like any relative one */
    if (dir_length == 0) written = snprintf(found, size, "%s/%s", cwd, file);
    else if (dir[0] != '/') written = snprintf(found, size, "%s/%.*s/%s", cwd, (int)dir_length, dir, file);
    else written = snprintf(found, size, "%.*s/%s", (int)dir_length, dir, file);
    struct stat info;
    if (written > 0 && (size_t)written < size && stat(found, &info) == 0 && S_ISREG(info.st_mode)) {
      if (access(found, X_OK) == 0) return 0;
      denied = 1;
    }
    if (*colon == '\0') break;
    dir = colon;
  }
  return denied ? EACCES : ENOENT;
}
