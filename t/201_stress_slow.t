# The slow-client check of scripts/stress (t/stress/slow.pl) inside the
# suite's Test::Harness run: with 2 children x 2 threads, six clients
# trickling their bodies each get 408 from mod_reqtimeout (the module's
# "body read timed out"), a normal webhook sent meanwhile succeeds once
# they have timed out, and the server answers promptly afterwards. The
# step starts its own httpd in a directory under t/logs.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

my $top = dirname(dirname(abs_path(__FILE__)));
my $logs = "$top/t/logs";
mkdir $logs unless -d $logs;
my $run = tempdir('stress-slow.XXXXXX', DIR => $logs, CLEANUP => 1);
chmod 0755, $run;
local $ENV{TW_STRESS_RUN} = $run;
local $ENV{TW_STRESS_TOP} = $top;
local $ENV{TW_STRESS_TAP} = 1;
local $ENV{TW_STRESS_QUICK} = 1;
my $rc = system($^X, "$top/t/stress/slow.pl");
exit($rc == 0 ? 0 : 1);
