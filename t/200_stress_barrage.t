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
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

my $top = dirname(dirname(abs_path(__FILE__)));
my $logs = "$top/t/logs";
mkdir $logs unless -d $logs;
my $run = tempdir('stress-barrage.XXXXXX', DIR => $logs, CLEANUP => 1);
chmod 0755, $run;
local $ENV{TW_STRESS_RUN} = $run;
local $ENV{TW_STRESS_TOP} = $top;
local $ENV{TW_STRESS_TAP} = 1;
local $ENV{TW_STRESS_QUICK} = 1;
local $ENV{TW_STRESS_BARRAGE_ROUNDS} = 1;
my $rc = system($^X, "$top/t/stress/barrage.pl");
exit($rc == 0 ? 0 : 1);
