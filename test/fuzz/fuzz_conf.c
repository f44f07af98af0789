/*
 * Fuzz target: the YAML configuration loader (libyaml plus our schema
 * walker), which reads files a root daemon trusts.  Any input must give
 * either a complete config or exactly one line "NAME:..." naming the
 * problem, without leaking (libFuzzer's leak check covers the failed
 * loads that free half-built lists).  A config that loads must print
 * (as --check-config does) to YAML that loads back and prints the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

#define NAME "fuzz.yaml"

static char *
print_conf(const struct nt_conf *c, size_t *len)
{
	char *text = NULL;
	FILE *f;

	f = open_memstream(&text, len);
	FZ_CHECK(f != NULL);
	nt_conf_print(f, c);
	FZ_CHECK(fclose(f) == 0);
	return (text);
}

static void
check_reload(const struct nt_conf *c)
{
	char err[NT_CONF_ERRLEN], *text, *again;
	struct nt_conf c2;
	size_t len, len2;

	text = print_conf(c, &len);
	nt_conf_init(&c2);
	if (nt_conf_load_buf(&c2, "printed", text, len, err, sizeof err)) {
		fprintf(stderr, "%s\n--- printed config:\n%s", err, text);
		FZ_CHECK(!"the printed config loads back");
	}
	again = print_conf(&c2, &len2);
	if (len != len2 || memcmp(text, again, len) != 0) {
		fprintf(stderr, "--- printed:\n%s--- reprinted:\n%s", text,
		    again);
		FZ_CHECK(!"the printed config reprints the same");
	}
	free(again);
	free(text);
	nt_conf_free(&c2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NT_CONF_ERRLEN];
	struct nt_conf c;

	nt_conf_init(&c);
	err[0] = '\0';
	if (nt_conf_load_buf(&c, NAME, (const char *)data, size, err,
	    sizeof err) == 0) {
		FZ_CHECK(c.n_servers <= 256 && c.n_pools <= 256);
		FZ_CHECK((c.servers == NULL) == (c.n_servers == 0));
		for (size_t i = 0; i < c.n_servers; i++)
			FZ_CHECK(c.servers[i].minpoll <= c.servers[i].maxpoll &&
			    c.servers[i].address[0] != '\0');
		check_reload(&c);
	} else {
		fz_check_message(err, sizeof err, NAME ":");
		/* All or nothing: a failed load leaves the defaults. */
		FZ_CHECK(c.servers == NULL && c.driftfile == NULL);
	}
	nt_conf_free(&c);
	return (0);
}
