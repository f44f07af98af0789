/*
 * The drift file: the clock's frequency correction saved across restarts,
 * so a restarted daemon starts at the right rate instead of relearning it
 * for an hour.  One line, "FREQ_PPM SKEW_PPM\n", the same layout and sign
 * as chrony's driftfile, so an existing chrony.drift can be reused.
 *
 * Sign: chrony stores how fast the uncorrected clock runs (positive = the
 * clock gains); ntimed's clock interface speaks in corrections (positive =
 * make the clock faster).  The two are opposite, so the file holds -freq_ppm
 * and these functions negate on the way in and out: callers only ever see
 * ntimed's correction.  The skew (uncertainty of the frequency, ppm) is the
 * same in both and never negative.
 *
 * Writes are atomic (temporary file, fsync, rename, fsync of the directory):
 * after a crash or power cut the file holds the old or the new value, never
 * a torn one.
 */
#ifndef NTIMED_DRIFTFILE_H
#define NTIMED_DRIFTFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Larger frequencies are refused on read and on write. */
#define NT_DRIFT_MAX_PPM 100000.0
/* Longest path accepted: PATH_MAX less room for ".tmp.PID". */
#define NT_DRIFT_PATH_MAX (4096 - 32)

/*
 * Read the drift file.  Returns 0 and sets *freq_ppm (correction) and
 * *skew_ppm; 1 when the file does not exist (normal on first start, err
 * says "PATH: no such file"); -1 with a one-line reason naming the file.
 */
int nt_drift_read(const char *path, double *freq_ppm, double *skew_ppm,
    char *err, size_t errlen);

/* Replace the drift file atomically.  0, or -1 with a one-line reason. */
int nt_drift_write(const char *path, double freq_ppm, double skew_ppm,
    char *err, size_t errlen);

/*
 * Any small state file (the drift file, the NTS keys): read it whole into
 * buf (NUL-terminated; 1 if it does not exist, -1 with err naming path
 * and form, what it should look like), or replace it atomically -- a
 * temporary file of mode, fsync, rename, fsync of the directory.
 */
int nt_statefile_read(const char *path, char *buf, size_t len,
    const char *form, char *err, size_t errlen);
int nt_statefile_write(const char *path, const char *data, size_t len,
    mode_t mode, char *err, size_t errlen);

#endif
