# SPDX-License-Identifier: Apache-2.0
# The slow-client check of scripts/stress (t/stress/slow.pl) inside the
# suite's Test::Harness run: with 2 children x 2 threads, six clients
# trickling their bodies each get 408 from mod_reqtimeout (the module's
# "body read timed out"), a normal webhook sent meanwhile succeeds once
# they have timed out, and the server answers promptly afterwards. The
# step starts its own httpd in a directory under t/logs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TwTest;

run_stress_step('slow');
