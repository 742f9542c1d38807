# SPDX-License-Identifier: Apache-2.0
# Runs the core's unit tests (t/unit/tw_unit, built by "make check" or
# scripts/test-integration) inside the suite's one Test::Harness run: its
# TAP passes straight through. A missing binary is a failure, not a skip.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $top = dirname(dirname(abs_path(__FILE__)));
my $bin = "$top/t/unit/tw_unit";
unless (-x $bin) {
    print "1..1\nnot ok 1 - $bin is not built (make t/unit/tw_unit)\n";
    exit 1;
}
chdir $top or die "chdir $top: $!";
exec $bin or do {
    print "1..1\nnot ok 1 - exec $bin: $!\n";
    exit 1;
};
