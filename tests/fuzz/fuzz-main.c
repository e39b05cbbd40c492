/*
 * Replay driver for fuzz targets: runs LLVMFuzzerTestOneInput() on every file of the given
 * corpus directories (or files). Linked into each target for the default test run, so the
 * corpus and every crash ever found stay regression tests; libFuzzer builds (-Dfuzzing=true,
 * clang) link libFuzzer's own main instead.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
run_file (const char *path)
{
	FILE *f = fopen (path, "rb");
	unsigned char *buf;
	long len;

	if (f == NULL) {
		perror (path);
		return 1;
	}
	fseek (f, 0, SEEK_END);
	len = ftell (f);
	fseek (f, 0, SEEK_SET);
	buf = malloc (len > 0 ? (size_t)len : 1);
	if (buf == NULL || (len > 0 && fread (buf, 1, (size_t)len, f) != (size_t)len)) {
		fprintf (stderr, "%s: read failed\n", path);
		fclose (f);
		free (buf);
		return 1;
	}
	fclose (f);
	LLVMFuzzerTestOneInput (buf, (size_t)len);
	free (buf);
	return 0;
}

int
main (int argc, char **argv)
{
	int n = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat (argv[i], &st) != 0) {
			perror (argv[i]);
			return 1;
		}
		if (S_ISDIR (st.st_mode)) {
			DIR *d = opendir (argv[i]);
			struct dirent *e;
			while (d != NULL && (e = readdir (d)) != NULL) {
				char path[4096];
				if (e->d_name[0] == '.')
					continue;
				snprintf (path, sizeof path, "%s/%s", argv[i], e->d_name);
				if (run_file (path) != 0)
					return 1;
				n++;
			}
			if (d != NULL)
				closedir (d);
		} else {
			if (run_file (argv[i]) != 0)
				return 1;
			n++;
		}
	}
	printf ("replayed %d inputs\n", n);
	return n > 0 ? 0 : 1;
}
