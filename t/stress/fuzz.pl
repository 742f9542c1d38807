#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# scripts/stress step "fuzz": every libFuzzer target (fuzz/fuzz_*.c, less
# the shared fuzz_targets.c and the corpus runner fuzz_run_inputs.c; built
# with ASan and UBSan by fuzz/build-libfuzzer) fuzzed for SECONDS each
# (--quick 10, full 120), starting from its seed corpus. The targets are
# split over the machine's cores (one build-libfuzzer per core, each
# running its share one after the other). Fails on any crash, leak,
# sanitizer report or timeout; prints each target's executions and
# coverage. Crash inputs stay in fuzz/artifacts/<target>/.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TwStress;
use POSIX ();
use Time::HiRes qw(time);

my $top = top_dir();
my $seconds = $ENV{TW_STRESS_FUZZ_SECONDS} || (quick() ? 10 : 120);
my @targets = sort map { m{fuzz/fuzz_(\w+)\.c$} ? $1 : () } glob "$top/fuzz/fuzz_*.c";
@targets = grep { $_ ne 'targets' && $_ ne 'run_inputs' } @targets;
check(scalar @targets, 'fuzz targets found: ' . join(' ', @targets));

my $cores = () = (slurp('/proc/cpuinfo') // '') =~ /^processor\s/mg;
$cores = 1 if $cores < 1;
$cores = @targets if $cores > @targets;
my @groups = map { [] } 1 .. $cores;
push @{ $groups[$_ % $cores] }, $targets[$_] for 0 .. $#targets;

my $dir = run_dir() . '/fuzz';
mkdir $dir;
my $t0 = time;
my %pid;
for my $i (0 .. $#groups) {
    my @g = @{ $groups[$i] };
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$dir/group$i.log" or POSIX::_exit(99);
        open STDERR, '>&', \*STDOUT;
        $ENV{TMPDIR} = $dir;
        exec "$top/fuzz/build-libfuzzer", '--run', $seconds, @g or POSIX::_exit(127);
    }
    $pid{$pid} = $i;
}
my %rc;
my $deadline = time + @targets * ($seconds + 60) + 120;
while (%pid && time < $deadline) {
    my $p = waitpid(-1, POSIX::WNOHANG());
    if ($p > 0) {
        $rc{ delete $pid{$p} } = $? >> 8;
        next;
    }
    select undef, undef, undef, 0.5;
}
if (%pid) {
    kill 'TERM', keys %pid;
    waitpid($_, 0) for keys %pid;
    $rc{$_} = 'timeout' for values %pid;
}
my $out = join '', map { slurp("$dir/group$_.log") // '' } 0 .. $#groups;
figure(fuzz_seconds_each => $seconds, wall_seconds => sprintf('%.0f', time - $t0), parallel => $cores);
for my $t (@targets) {
    my ($line) = $out =~ /^  \Q$t\E: (.*)$/m;
    if (defined $line && $line =~ /^ok, executions (\d+) \(([\d.]+)\/s\), cov: (\d+) ft: (\d+) corp: (\S+)/) {
        figure(target => $t, executions => $1, per_s => $2, cov => $3, ft => $4, corpus => $5);
        check($1 > 0, "fuzz target $t: ${seconds}s, $1 executions, no crash");
    }
    else {
        my ($tail) = $out =~ /(  \Q$t\E: FAILED.*?)(?=^  \w+: |\z)/ms;
        check(0, "fuzz target $t: ${seconds}s, no crash", $tail // $line // "no result line; see below",
              $tail ? () : substr($out, -2000));
    }
}
check(!grep({ $_ ne '0' } values %rc), 'fuzz/build-libfuzzer exited 0 for every group',
      map { "group $_: exit $rc{$_}" } grep { $rc{$_} ne '0' } sort keys %rc);
exit done();
