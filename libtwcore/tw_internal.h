/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_internal.h - what the core's own files share and nobody else uses.
 * Not part of the core's interface (include/twwebhook.h and include/tw/).
 */
#ifndef TW_INTERNAL_H
#define TW_INTERNAL_H

/* The value of one hex digit (either case), or -1 for anything else. */
int tw_hex_digit_value(unsigned char c);

#endif /* TW_INTERNAL_H */
