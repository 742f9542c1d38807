/* SPDX-License-Identifier: Apache-2.0 -- moved to tw/lease.h (kept for the glue's includes). */
#include "tw/lease.h"
