#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# cgdiff.pl A.txt B.txt N - function-level difference of two callgrind_annotate
# outputs (same options), per request: prints a TSV of the 60 functions whose
# cost differs most, "delta  a  b  function [object]", delta = (A - B) / N.
# bench/run uses it to show where the module's instructions go.
use strict;
use warnings;

my ($fa, $fb, $n) = @ARGV;
die "usage: $0 A.txt B.txt N\n" unless defined $n && $n > 0;

sub load {
    my ($f) = @_;
    my (%ir, %obj);
    open(my $fh, '<', $f) or die "$f: $!\n";
    my $in = 0;
    while (my $l = <$fh>) {
        $in = 1 if $l =~ /^Ir\s+file:function/;
        next unless $in;
        next unless $l =~ /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)\s*$/;
        my ($v, $what) = ($1, $2);
        $v =~ tr/,//d;
        my $o = '';
        $o = $1 if $what =~ s/\s+\[([^\]]+)\]$//;
        $ir{$what} += $v;
        $obj{$what} = $o if $o ne '';
    }
    return (\%ir, \%obj);
}
my ($ia, $oa) = load($fa);
my ($ib, $ob) = load($fb);
my %all = (%$ia, %$ib);
my @rows;
for my $f (keys %all) {
    my ($x, $y) = ($ia->{$f} // 0, $ib->{$f} // 0);
    my $o = $oa->{$f} // $ob->{$f} // '';
    $o =~ s{.*/}{};
    push @rows, [($x - $y) / $n, $x / $n, $y / $n, $f . ($o ne '' ? " [$o]" : '')];
}
@rows = sort { abs($b->[0]) <=> abs($a->[0]) } @rows;
print "delta\ta\tb\tfunction\n";
for my $r (@rows[0 .. ($#rows < 59 ? $#rows : 59)]) {
    printf "%.0f\t%.0f\t%.0f\t%s\n", @$r;
}
