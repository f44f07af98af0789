/*
 * "ntimed slave": the data-center role.  It follows upstream servers
 * exactly as "ntimed client" does (same engine, same config keys, same
 * drift file) and serves NTP to many clients from the same process.
 *
 * The serving daemon (server threads fed from the engine's system
 * variables, control socket, metrics, systemd, signals) is cmd/serve.c,
 * shared with "ntimed master"; what is the slave's own is that it needs
 * upstream servers (or a local stratum) to follow.
 */
#include <stdio.h>

#include "cmd.h"
#include "serve.h"

static int
slave_check(const struct nt_serve *s, const struct nt_conf *c, char *err,
    size_t len)
{
	if (c->n_servers + c->n_pools > 0 || c->serve.local_stratum != 0)
		return (0);
	snprintf(err, len, "no servers and no local stratum: give servers on "
	    "the command line or in %s, or --local-stratum N",
	    s->conf_path != NULL ? s->conf_path : NT_CONF_DEFAULT_PATH);
	return (-1);
}

static int
slave_start(struct nt_serve *s)
{
	(void)s;
	return (0);
}

static const struct nt_serve_role slave_role = {
	.name = "slave",
	.synopsis = "[OPTIONS] [SERVER[:PORT]...]",
	.what = "Synchronize to upstream NTP servers and serve NTP to clients.",
	.notes = "Servers on the command line replace those in the file; "
	    "with a local\nstratum, none are needed.  SIGUSR1 logs the "
	    "server's counters, SIGHUP\nre-reads the file; 'ntimed query "
	    "server' shows the counters too.\n",
	.check = slave_check,
	.start = slave_start,
};

int
cmd_slave(int argc, char **argv)
{
	return (nt_serve_main(&slave_role, NULL, argc, argv));
}
