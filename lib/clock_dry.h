/*
 * Extras of the dry-run clock backend (the backend itself is declared in
 * clock.h).  The dry-run clock keeps the discipline's corrections in
 * software, so what it would have told the kernel has to be readable from
 * somewhere: status displays and tests look here.
 */
#ifndef NTIMED_CLOCK_DRY_H
#define NTIMED_CLOCK_DRY_H

#include "clock.h"

/* The status last given to set_status (unsynced, 16 s errors before). */
const struct nt_clock_status *nt_clock_dry_status(void);
/* Seconds the virtual clock is ahead of the kernel clock at kernel_time. */
double nt_clock_dry_correction(nt_time kernel_time);
/* Forget every correction and status: back to the kernel clock (tests). */
void nt_clock_dry_reset(void);

#endif
