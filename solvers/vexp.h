/* exp over an array, vectorised where the C library offers it.
 *
 * theory/joma.c's right-hand sides and verify/joma_text.c's softmaxes spend
 * much of their time in exp (bench/joma.sh: 55 % of the EXP/linear solve at
 * M = 1000 in glibc's scalar exp, ~3.6 ns a call; a third of a text-model
 * step at V = 500).  On x86-64 glibc with AVX2 this goes through libmvec's
 * 4-lane exp (_ZGVdN4v_exp, glibc's vector ABI; ~0.8 ns a value, within
 * glibc's documented 4 ulp and measured within 2 ulp of the scalar exp),
 * elsewhere the scalar exp.  The tail of n mod 4 values goes through the
 * same 4-lane call (padded), so a value depends only on its argument, never
 * on its index or on n.  libmvec is reached through -lm (Debian's libm.so is
 * a linker script that adds it as needed). */
#ifndef AC_VEXP_H
#define AC_VEXP_H

/* y_i = exp(x_i), i < n; y may alias x (y == x), not overlap it otherwise. */
void ac_exp_array(const double *x, double *y, int n);

#endif
