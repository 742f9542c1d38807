# SPDX-License-Identifier: Apache-2.0
# The hostile-request barrage of scripts/stress (t/stress/barrage.pl), one
# round, inside the suite's Test::Harness run: malformed request lines,
# conflicting framing, bad chunks, cut-off and aborted bodies, huge and
# odd header values, spoofed variable names, junk signatures. Every answer
# exactly as expected (a clean 4xx), never 2xx/5xx, the downstreams never
# run, no crash, no spool file or descriptor left. The step starts its own
# httpd and php-fpm in a directory under t/logs; nothing here uses the
# suite's server.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TwTest;

run_stress_step('barrage', TW_STRESS_BARRAGE_ROUNDS => 1);
