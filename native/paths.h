#ifndef GPIPE_PATHS_H
#define GPIPE_PATHS_H
#include <stddef.h>

/*
 * execvp's search for `file` on `dirs` (a PATH value) as seen from `cwd`: 0 with the program's
 * path in `found`, or an errno. A program found before is looked for again only when it has gone
 * (one that appears earlier on the PATH in the meantime is not noticed).
 */
int find_program(const char *file, const char *dirs, const char *cwd, char *found, size_t size);

/* mkdir -p: 0 or an errno. */
int make_directory(char *path);

#endif
