# SPDX-License-Identifier: Apache-2.0
# Replays the fuzz targets' seed corpus (fuzz/run-corpus driving
# fuzz/fuzz_run_inputs) inside the suite's one Test::Harness run: its TAP passes
# straight through. A missing script or binary is a failure, not a skip.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $top = dirname(dirname(abs_path(__FILE__)));
my $script = "$top/fuzz/run-corpus";
for my $need ($script, "$top/fuzz/fuzz_run_inputs") {
    next if -x $need;
    print "1..1\nnot ok 1 - $need is missing (make fuzz/fuzz_run_inputs)\n";
    exit 1;
}
chdir $top or die "chdir $top: $!";
$ENV{top_srcdir} = $top;
$ENV{top_builddir} = $top;
exec '/bin/sh', $script or do {
    print "1..1\nnot ok 1 - exec $script: $!\n";
    exit 1;
};
