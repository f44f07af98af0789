/*
 * Arithmetic of the kernel clock backend (the backend itself is declared in
 * clock.h), exposed so it can be tested without touching the real clock:
 * how an absolute frequency correction is split between the kernel's tick
 * length and its fine frequency term, and how the two add back up.
 */
#ifndef NTIMED_CLOCK_KERNEL_H
#define NTIMED_CLOCK_KERNEL_H

/* The kernel's fine frequency term: +-500 ppm in 2^-16 ppm units. */
#define NT_KERNEL_MAX_FREQ_PPM	500.0
#define NT_KERNEL_FREQ_SCALE	65536.0

/* Tick lengths (microseconds) the kernel accepts at hz ticks per second. */
void nt_clock_kernel_tick_limits(long hz, long *tick_min, long *tick_max);
/* ppm -> tick (us) and freq (2^-16 ppm), both within the kernel's limits. */
void nt_clock_kernel_split(double ppm, long hz, long *tick, long *freq);
/* tick and freq -> ppm. */
double nt_clock_kernel_combine(long tick, long freq, long hz);

#endif
