/*
 * What the long-running roles (client, slave, master) share: loading the
 * config with command-line servers on top, logging, the permission check,
 * starting the upstream client engine with the drift file, and saving it.
 */
#ifndef NTIMED_DAEMON_H
#define NTIMED_DAEMON_H

#include <stdbool.h>
#include <uv.h>

#include "conf.h"
#include "uvclient.h"

#define NT_DRIFT_SAVE_INTERVAL 3600.0	/* s */

/*
 * Load path (or the default file when path is NULL and it exists), then
 * replace its sources with the nargs command-line servers.  need_sources:
 * fail when there are none.  Errors are printed as "ntimed ROLE: ...".
 * Returns 0, or EXIT_USAGE with c freed.
 */
int nt_daemon_load_config(const char *role, const char *path, int nargs,
    char **args, bool need_sources, struct nt_conf *c);

/* True when this process may steer the clock (CAP_SYS_TIME). */
bool nt_daemon_can_steer(void);

/* Logging from the config; level >= 0 overrides it and forces stderr. */
void nt_daemon_logging(const struct nt_conf *c, int level, const char *ident);

/*
 * The upstream engine on loop: drift file read (when configured), params
 * from c, every server and pool added.  measure_only: never steer.
 */
struct nt_uvclient *nt_daemon_start_client(uv_loop_t *loop,
    const struct nt_conf *c, struct nt_clock *clk, bool measure_only,
    enum nt_family_filter fam);

/* The same, calling on_update(ctx, u) after every clock update. */
struct nt_uvclient *nt_daemon_start_client_cb(uv_loop_t *loop,
    const struct nt_conf *c, struct nt_clock *clk, bool measure_only,
    enum nt_family_filter fam,
    void (*on_update)(void *ctx, const struct nt_update *u), void *ctx);

/* Write the drift file (atomically) if there is something worth saving. */
void nt_daemon_save_drift(const struct nt_conf *c, struct nt_uvclient *uc);

#endif
