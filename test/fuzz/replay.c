/*
 * main() for the fuzz targets when the compiler has no libFuzzer (gcc):
 * run every file named on the command line, and every file in every
 * directory named, through LLVMFuzzerTestOneInput() once.  That keeps the
 * seed corpora and every crash ever fixed as regression tests in any
 * build; finding new inputs needs clang.  Options ("-runs=0") are
 * libFuzzer's and ignored here, so ctest uses one command line for both.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (4 * 1024 * 1024)

__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return (0);
}

static int
run_file(const char *path)
{
	uint8_t *buf, *exact;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return (-1);
	}
	buf = malloc(REPLAY_MAX_INPUT);
	if (buf == NULL) {
		fclose(f);
		fprintf(stderr, "%s: out of memory\n", path);
		return (-1);
	}
	n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	/* An exact fit, so that reading past the input is caught. */
	if ((exact = realloc(buf, n > 0 ? n : 1)) == NULL) {
		free(buf);
		fprintf(stderr, "%s: out of memory\n", path);
		return (-1);
	}
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return (0);
}

static int
run_dir(const char *dir, int *count)
{
	char path[4096];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (run_file(path) != 0)
			rc = -1;
		(*count)++;
	}
	closedir(d);
	return (rc);
}

int
main(int argc, char **argv)
{
	struct stat sb;
	int count = 0, rc = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			rc |= run_dir(argv[i], &count);
		else {
			rc |= run_file(argv[i]);
			count++;
		}
	}
	printf("%s: %d inputs replayed\n", argv[0], count);
	return (rc != 0 || count == 0);
}
