/*
 * What the long-running roles (client, slave, master) share: loading the
 * config with command-line servers on top, logging, the permission check,
 * starting the upstream client engine with the drift file, saving it,
 * and the end of the privileged start-up (user switch and sandbox).
 */
#ifndef NTIMED_DAEMON_H
#define NTIMED_DAEMON_H

#include <stdbool.h>
#include <uv.h>

#include "conf.h"
#include "status.h"
#include "uvclient.h"

#define NT_DRIFT_SAVE_INTERVAL 3600.0	/* s */

/*
 * Load path (or the default file when path is NULL and it exists), then
 * replace its sources with the nargs command-line servers.  need_sources:
 * fail when there are none.  Errors are printed as "ntimed ROLE: ...".
 * Returns 0, or with c freed EXIT_USAGE, or EXIT_SYSTEM when the file
 * could not be read (no permission, an I/O error).
 */
int nt_daemon_load_config(const char *role, const char *path, int nargs,
    char **args, bool need_sources, struct nt_conf *c);

/* "1 server, 2 pools": what the configuration asks for, for the log. */
const char *nt_daemon_sources_text(const struct nt_conf *c, char *buf,
    size_t len);

/* True when this process may steer the clock (CAP_SYS_TIME). */
bool nt_daemon_can_steer(void);

/*
 * Logging from the config, to the journal with levels when standard error
 * is the journal; level >= 0 (-v, -d) overrides it and forces stderr, as
 * foreground (-F) does at the configured level.
 */
void nt_daemon_logging(struct nt_conf *c, int level, bool foreground,
    const char *ident);

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

/* --socket PATH: 0, or EXIT_USAGE after saying why (empty, too long). */
int nt_daemon_socket_arg(const char *role, const char *arg);
/* --check-config: show --socket PATH (if given) as the daemon will use it. */
void nt_daemon_show_socket(struct nt_conf *c, const char *arg);

/*
 * The start of a daemon, before its loop and before any thread exists:
 * no_new_privs (inherited by every thread; we never execve), and with
 * "sandbox:" on, libuv kept off io_uring (its newer versions would use
 * it; the allow-list does not have it); and the "user:" to become is
 * looked up, so that a bad one stops the daemon before it starts
 * anything (one_shot: client --once, which does not warn that the default
 * user is missing).  Returns 0, or EXIT_SYSTEM / EXIT_USAGE after
 * "ntimed ROLE: ..." on standard error.
 */
int nt_daemon_prepare(const struct nt_conf *c, const char *role,
    bool one_shot);

/* --check-config: whether "user:" exists, as nt_daemon_prepare() would. */
int nt_daemon_check_user(const struct nt_conf *c, const char *role);

/*
 * The end of the privileged start-up, right before the loop runs: become
 * the config's "user:" (with only CAP_SYS_TIME, none when dry_run) and
 * install the "sandbox:" filter for role ("client", "slave", "master").
 * Returns 0, or EXIT_SYSTEM / EXIT_USAGE after "ntimed ROLE: ..." on
 * standard error.
 */
int nt_daemon_confine(const struct nt_conf *c, const char *role,
    const char *control_path, bool dry_run);

/* The same with the engine's params given (a restart, see below). */
struct nt_uvclient *nt_daemon_client_with(uv_loop_t *loop,
    const struct nt_engine_params *p, const struct nt_conf *c,
    struct nt_clock *clk, enum nt_family_filter fam,
    void (*on_update)(void *ctx, const struct nt_update *u), void *ctx);

/*
 * Params for an engine that replaces old (when the sources changed): the
 * frequency old learnt, of c's step_limit what the updates_before made by
 * earlier engines left (max_change.start counts them too), and the
 * offsets beyond max_change old ignored (its ignore counts them too).
 */
void nt_daemon_restart_params(struct nt_engine_params *p,
    const struct nt_conf *c, struct nt_clock *clk,
    const struct nt_engine *old, int updates_before);

/*
 * After a restart: the sources of uc's engine that are the same servers
 * as sources of old (on clock clk) take over their measurements.
 * Returns how many did now; servers whose names are still being looked
 * up take over theirs when found.  Call right after the new engine was
 * made.
 */
int nt_daemon_adopt_sources(struct nt_uvclient *uc,
    const struct nt_engine *old, struct nt_clock *clk);

/*
 * The i-th server or pool of c that has no source in uc (its name did
 * not resolve, or -4/-6 ruled it out; see nt_uvclient_unresolved()),
 * for "ntimed query sources" and --once.  False after the last.
 */
bool nt_daemon_unresolved(const struct nt_conf *c, struct nt_uvclient *uc,
    size_t i, struct nt_status_unresolved *u);

/*
 * A reload: whether nc and old differ only in what a reload applies
 * (sources, their limits, the drift file, the log level); and the parts
 * that run as they were started (server threads and sockets, control,
 * metrics, refclocks, user, sandbox, log destination) swapped back into
 * nc from old, so that the configuration in force says what runs.
 */
bool nt_daemon_rest_equal(const struct nt_conf *nc, const struct nt_conf *old);
void nt_daemon_keep_running(struct nt_conf *nc, struct nt_conf *old);

/*
 * True when a and b have the same sources (and step_limit): a reload then
 * keeps the engine, and applies the other limits in place.
 */
bool nt_daemon_sources_equal(const struct nt_conf *a, const struct nt_conf *b);

/*
 * The statistics logs reopened (SIGHUP, reload): after logrotate moved
 * them, new files.  Nothing when none is on.
 */
void nt_daemon_reopen_logs(void);

/* Write the drift file (atomically) if there is something worth saving. */
void nt_daemon_save_drift(const struct nt_conf *c, struct nt_uvclient *uc);

/*
 * A name lookup can block a thread of libuv's pool for as long as the
 * resolver retries (10 s and more with DNS down), and cannot be
 * cancelled.  A daemon stopping with one in flight (uc) stops its loop
 * rather than waiting for it; then, instead of the usual clean-up
 * (libuv's joins its pool's threads, and the lookup's end would post to
 * a loop that is gone), nt_daemon_leave() exits with rc, after checking
 * that what was written to standard output got there.
 */
bool nt_daemon_lookup_pending(struct nt_uvclient *uc);
void nt_daemon_leave(int rc) __attribute__((noreturn));

#endif
