#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# report.pl OUTDIR - turns what bench/run measured (raw.tsv, large.tsv,
# cpu.tsv, machine.txt, callgrind-module-*.txt) into results.md on stdout,
# plus chart-SIZE.dat files for chart.gp. Medians over rounds; ratios are
# medians of per-round ratios (rows are interleaved within a round, so a
# per-round ratio cancels the machine's drift).
use strict;
use warnings;

my $out = shift or die "usage: $0 OUTDIR\n";

sub read_tsv {
    my ($file) = @_;
    open(my $fh, '<', $file) or return ();
    chomp(my $head = <$fh> // '');
    my @cols = split /\t/, $head;
    my @rows;
    while (my $l = <$fh>) {
        chomp $l;
        next if $l eq '';
        my %h;
        @h{@cols} = split /\t/, $l, -1;
        push @rows, \%h;
    }
    return @rows;
}
sub median {
    my @v = sort { $a <=> $b } grep { defined && $_ ne '' } @_;
    return undef unless @v;
    my $n = @v;
    return $n % 2 ? $v[$n / 2] : ($v[$n / 2 - 1] + $v[$n / 2]) / 2;
}
sub num { my ($v, $d) = @_; return defined $v ? sprintf("%.${d}f", $v) : '—'; }
sub group3 {   # 12345 -> 12,345
    my ($v) = @_;
    return '—' unless defined $v;
    my $s = sprintf('%.0f', $v);
    1 while $s =~ s/^(-?\d+)(\d{3})/$1,$2/;
    return $s;
}
sub ms { my ($us) = @_; return defined $us ? sprintf('%.2f', $us / 1000) : '—'; }

my %m;
if (open(my $fh, '<', "$out/machine.txt")) {
    while (<$fh>) { chomp; $m{$1} = $2 if /^([^=]+)=(.*)$/; }
}

my @sizes = qw(2k 64k 1m);
my %label = ('2k' => '2 KB', '64k' => '64 KB', '1m' => '1 MB');
my @rows = qw(plain plain-vars module module-nopage bare php-verify static-403 cgi module-cgi webhook);
my @raw = read_tsv("$out/raw.tsv");
my (%by, %rounds);   # $by{size}{row}{kind}{round} = record
for my $r (@raw) {
    $by{$r->{size}}{$r->{row}}{$r->{kind}}{$r->{round}} = $r;
    $rounds{$r->{round}} = 1;
}
my $nrounds = scalar keys %rounds;

sub med_field {
    my ($s, $row, $k, $f) = @_;
    my $c = $by{$s}{$row}{$k} or return undef;
    return median(map { $_->{$f} } values %$c);
}
sub ratio {   # median over rounds of a/b
    my ($s, $ra, $ka, $rb, $kb) = @_;
    my $a = $by{$s}{$ra}{$ka} or return undef;
    my $b = $by{$s}{$rb}{$kb} or return undef;
    my @q;
    for my $round (keys %$a) {
        next unless $b->{$round} && $b->{$round}{rps} && $b->{$round}{rps} > 0;
        push @q, $a->{$round}{rps} / $b->{$round}{rps};
    }
    return median(@q);
}

my $size_note = join(', ', map { "$label{$_} = " . ($m{"size_$_"} // '?') . ' bytes' } @sizes);
print <<EOF;
# mod_twwebhook benchmark results

- Date: $m{date}; command: `$m{command}`
- Settings: $m{settings}; rows interleaved and rotated every round. Throughput
  and latency are medians over the rounds; ratios are medians of the per-round
  ratios.
- Machine: $m{nproc} CPUs, $m{cpu} ($m{virt}), $m{mem}, $m{kernel}, $m{os}.
  wrk runs on the same CPUs as the servers. Load average: $m{load}.
- Software: $m{httpd}, $m{php} (php-fpm, static pool of 8), $m{openssl},
  $m{wrk}, $m{webhook}, $m{valgrind}; module build $m{module}.
- Payload: a Teamwork Spaces page.updated delivery ($size_note).

## Throughput and latency

Valid deliveries carry the right signature (answered 200); forged ones carry
a well-formed signature made with another secret (rejected: 401 by the module
and php-verify, 403 by static-403, 500 by webhook 2.8.0). Latency in ms.

| payload | row | valid deliveries/s | p50 | p99 | forged rejected/s | p50 | p99 |
|---|---|---:|---:|---:|---:|---:|---:|
EOF

for my $s (@sizes) {
    open(my $dat, '>', "$out/chart-$s.dat") or die "$out/chart-$s.dat: $!\n";
    print $dat "# row valid forged\n";
    for my $row (@rows) {
        next unless $by{$s}{$row};
        my @cells;
        my @chart;
        for my $k (qw(valid forged)) {
            if ($by{$s}{$row}{$k}) {
                my $rps = med_field($s, $row, $k, 'rps');
                push @cells, group3($rps), ms(med_field($s, $row, $k, 'p50_us')),
                    ms(med_field($s, $row, $k, 'p99_us'));
                push @chart, sprintf('%.0f', $rps);
            } else {
                push @cells, '—', '—', '—';
                push @chart, '?';
            }
        }
        print "| $label{$s} | $row | ", join(' | ', @cells), " |\n";
        print $dat "$row @chart\n";
    }
    close $dat;
}

my @ratios = (
    ['module / plain, valid',          'module', 'valid',  'plain',      'valid'],
    ['module / plain-vars, valid',     'module', 'valid',  'plain-vars', 'valid'],
    ['plain-vars / plain, valid',      'plain-vars', 'valid', 'plain',   'valid'],
    ['module / bare, valid',           'module', 'valid',  'bare',       'valid'],
    ['bare / plain, valid',            'bare',   'valid',  'plain',      'valid'],
    ['module / php-verify, valid',     'module', 'valid',  'php-verify', 'valid'],
    ['module-cgi / webhook, valid',    'module-cgi', 'valid', 'webhook', 'valid'],
    ['module-cgi / cgi, valid',        'module-cgi', 'valid', 'cgi',     'valid'],
    ['cgi / webhook, valid',           'cgi',        'valid', 'webhook', 'valid'],
    ['module / php-verify, forged',    'module', 'forged', 'php-verify', 'forged'],
    ['module / static-403, forged',    'module', 'forged', 'static-403', 'forged'],
    ['module / static-403, malformed', 'module', 'malformed', 'static-403', 'malformed'],
    ['module / static-403, malformed, each distinct', 'module', 'malformed-distinct',
     'static-403', 'malformed-distinct'],
    ['module-nopage / static-403, malformed, each distinct', 'module-nopage', 'malformed-distinct',
     'static-403', 'malformed-distinct'],
    ['module / php-verify, malformed', 'module', 'malformed', 'php-verify', 'malformed'],
    ['static-403 / php-verify, malformed', 'static-403', 'malformed', 'php-verify', 'malformed'],
    ['module / webhook, forged',       'module', 'forged', 'webhook',    'forged'],
    ['module-cgi / webhook, forged',   'module-cgi', 'forged', 'webhook', 'forged'],
);
print "\n## Ratios (throughput, median of per-round ratios)\n\n";
print '| ratio | ', join(' | ', map { $label{$_} } @sizes), " |\n";
print '|---|', join('', map { '---:|' } @sizes), "\n";
my %R;
for my $q (@ratios) {
    my ($name, @spec) = @$q;
    my @v;
    for my $s (@sizes) {
        my $v = ratio($s, @spec);
        $R{$name}{$s} = $v;
        push @v, num($v, 2);
    }
    print "| $name | ", join(' | ', @v), " |\n";
}

# ---- paired A/B ----
# Per comparison (size, kind, rows a and b, as bench/run's PAIRED lists
# them): the median of the per-pair ratios a / b, the middle half of them
# and their range. Keyed like %R: "a / b, kind" and size.
my %P;
{
    my %kind_label = ('malformed-distinct' => 'malformed, each distinct');
    my (%pr, @compare);   # size, kind, a, b -> pair -> row -> rps; in the run's order
    for my $l (read_tsv("$out/paired.tsv")) {
        my $key = join("\t", @$l{qw(size kind a b)});
        push @compare, [@$l{qw(size kind a b)}] unless $pr{$key};
        $pr{$key}{$l->{pair}}{$l->{row}} = $l->{rps};
    }
    my @lines;
    for my $c (@compare) {
        my ($s, $k, $row, $base) = @$c;
        my $name = "$row / $base, " . ($kind_label{$k} // $k);
        my $pairs = $pr{join("\t", @$c)};
        my @q = sort { $a <=> $b }
                map { $pairs->{$_}{$row} / $pairs->{$_}{$base} }
                grep { $pairs->{$_}{$row} && $pairs->{$_}{$base} } keys %$pairs;
        next unless @q;
        $P{$name}{$s} = median(@q);
        push @lines, sprintf('| %s, %s | **%s** | %s to %s | %s to %s | %d |', $name, $label{$s},
            num($P{$name}{$s}, 2), num($q[int($#q / 4)], 2), num($q[int(3 * $#q / 4 + 0.5)], 2),
            num($q[0], 2), num($q[-1], 2), scalar @q);
    }
    if (@lines) {
        print "\n## Paired A/B (back-to-back 2 s slices, ABBA order)\n\n",
              "| ratio | median of the pairs | middle half | range | pairs |\n",
              "|---|---:|---:|---:|---:|\n", map { "$_\n" } @lines;
    }
}
# The paired median where the run has one, else the rounds' ratio; and how
# to say which it is beside the figure.
sub best {
    my ($name, $s) = @_;
    return defined $P{$name}{$s}
        ? ($P{$name}{$s}, sprintf('paired %s; rounds %s', num($P{$name}{$s}, 2), num($R{$name}{$s}, 2)))
        : ($R{$name}{$s}, sprintf('rounds %s', num($R{$name}{$s}, 2)));
}

# ---- large body ----
my @large = read_tsv("$out/large.tsv");
my (%lt, %lg, %lr);
for my $r (@large) {
    push @{$lt{$r->{row}}}, $r->{seconds};
    push @{$lg{$r->{row}}}, $r->{rss_growth_kb};
    $lr{$r->{round}}{$r->{row}} = $r->{seconds};
}
my @tr = map { $lr{$_}{'large-mod'} / $lr{$_}{'large-cgi'} }
         grep { $lr{$_}{'large-mod'} && $lr{$_}{'large-cgi'} } keys %lr;
my $tratio = median(@tr);
my $bytes = $m{large_bytes} // 0;
my $mib = $bytes / 1048576;
my $rate = $m{hmac_rate} || 0;
my $limit = $rate ? $bytes / $rate : undef;
my $srate = $m{spool_rate} || 0;
my $spool = $srate ? $bytes / $srate : undef;   # written and read back
my $tmod = median(@{$lt{'large-mod'} // []});
my $tcgi = median(@{$lt{'large-cgi'} // []});
my ($gmax) = sort { $b <=> $a } @{$lg{'large-mod'} // [0]};
my ($gcgi) = sort { $b <=> $a } @{$lg{'large-cgi'} // [0]};
my $nl = scalar @large / 2;
printf <<EOF, $mib, $nl;

## Large body: %d MiB POSTed by curl to a CGI that hashes stdin (%d round(s))

The CGI's answer (SHA-256 of what it read) is checked against the file sent.
RSS growth: the httpd child's VmHWM after the request minus its VmRSS before
(peak reset through /proc/PID/clear_refs), fresh single-child httpd each time,
largest growth over the rounds.

| row | median wall time | httpd child peak RSS growth |
|---|---:|---:|
EOF
printf "| CGI without the module | %s s | %s kB |\n", num($tcgi, 3), group3($gcgi);
printf "| module in front of the CGI | %s s | %s kB |\n", num($tmod, 3), group3($gmax);
printf "| HMAC-SHA256 alone (openssl speed, 16 KiB blocks: %s MB/s) | %s s | — |\n",
    ($rate ? sprintf('%.0f', $rate / 1e6) : '?'), num($limit, 3);
printf "| the body written to the spool directory and read back alone (dd, 64 KiB pieces) | %s s | — |\n",
    num($spool, 3);
printf "\nModule / no-module wall time: %s (median of per-round ratios); the module's\n"
     . "extra time %s s against %s s for the HMAC alone, %s s with the spool's write and read back.\n",
    num($tratio, 2), (defined $tmod && defined $tcgi ? num($tmod - $tcgi, 3) : '—'), num($limit, 3),
    (defined $limit && defined $spool ? num($limit + $spool, 3) : '—');

# ---- CPU ----
my @cpu = read_tsv("$out/cpu.tsv");
my %ir = map { ("$_->{row}:$_->{kind}" => $_->{per_request}) } @cpu;
my $ncg = @cpu ? $cpu[0]{requests} : 0;
print <<EOF;

## CPU cost per request (instructions, callgrind)

httpd -X (one process) under callgrind (perf stat has no instructions
counter on this machine). Every run starts httpd, sends the same warm-up
(10 requests of each row); a baseline run stops there, each row's run adds
$ncg sequential keep-alive requests of that row with the 2 KB payload (each
to its own query string, so every refusal takes a row of its own on the
deliveries page: the flood that varies), and
instructions/request = (row run - baseline) / $ncg: start-up, warm-up and
shut-down cancel out, so the figure is repeatable to a few instructions.
Counts the httpd process only: php-fpm's work is not included (for
php-verify the HMAC runs in php-fpm). Caveat: valgrind's virtual CPU has no
SHA extensions, so libcrypto takes its generic SHA-256 code here (about
1,700 instructions per 64-byte block); natively this CPU uses SHA-NI, so the
HMAC share is smaller than counted.

| row | delivery | instructions/request (httpd) |
|---|---|---:|
EOF
for my $c (@cpu) {
    my $what = $c->{row} =~ /-1m$/ ? "$c->{kind}, 1 MB ($c->{requests} requests)" : $c->{kind};
    print "| $c->{row} | $what | ", group3($c->{per_request}), " |\n";
}
my $dv = (defined $ir{'module:valid'} && defined $ir{'plain:valid'}) ? $ir{'module:valid'} - $ir{'plain:valid'} : undef;
my $df = (defined $ir{'module:forged'} && defined $ir{'static-403:forged'}) ? $ir{'module:forged'} - $ir{'static-403:forged'} : undef;
printf "\nModule's cost on a valid 2 KB delivery: %s instructions/request over plain (%s%%).\n",
    group3($dv), (defined $dv && $ir{'plain:valid'} ? sprintf('%+.1f', 100 * $dv / $ir{'plain:valid'}) : '—');
printf "Forged 2 KB delivery: module rejection costs %s instructions/request more than static-403.\n", group3($df);
my $dl = (defined $ir{'module-1m:valid'} && defined $ir{'plain-1m:valid'}) ? $ir{'module-1m:valid'} - $ir{'plain-1m:valid'} : undef;
printf "Valid 1 MB delivery (spooled to disk): module costs %s instructions/request over plain.\n", group3($dl)
    if defined $dl;

sub diff_table {   # diff_table FILE FILTER MAX -> markdown rows
    my ($f, $filter, $max, $named_only) = @_;
    open(my $fh, '<', $f) or return ();
    <$fh>;
    my @l;
    while (my $l = <$fh>) {
        chomp $l;
        my ($d, $x, $y, $what) = split /\t/, $l, 4;
        next unless defined $what && $what =~ $filter;
        next if $what =~ /^<counts for/ || ($named_only && $what =~ /^\?\?\?:/);
        $what =~ s{^/\S*?/((?:libtwcore|glue|core)/\S+|mod_twwebhook\.c:)}{$1};
        next if abs($d) < 50;
        push @l, sprintf('| %s | %s | %s | `%s` |', group3($d), group3($x), group3($y), $what);
        last if @l >= $max;
    }
    return @l;
}
my @pairs = (['module-valid', 'plain-valid', 'valid 2 KB delivery: module minus plain'],
             ['module-forged', 'static-403-forged', 'forged 2 KB delivery: module minus static-403'],
             ['module-malformed', 'static-403-malformed',
              'malformed signature, 2 KB: module minus static-403'],
             ['module-1m-valid', 'plain-1m-valid', 'valid 1 MB delivery: module minus plain']);
for my $p (@pairs) {
    my ($a, $b, $what) = @$p;
    my @self = diff_table("$out/callgrind-$a-vs-$b.self.tsv", qr/./, 12, 0);
    my @incl = diff_table("$out/callgrind-$a-vs-$b.inclusive.tsv", qr/twwebhook|\btw_|\/core\//, 8, 1);
    next unless @self || @incl;
    print "\nWhere the difference goes ($what; instructions per request, from\n"
        . "callgrind-$a-vs-$b.*.tsv):\n\n";
    print "| delta | $a | $b | function (self cost) |\n|---:|---:|---:|---|\n", join("\n", @self), "\n" if @self;
    print "\n| delta | $a | $b | module function (inclusive) |\n|---:|---:|---:|---|\n", join("\n", @incl), "\n" if @incl;
}

# ---- targets ----
print "\n## Targets (2 KB payload unless stated; reported, not asserted)\n\n```\n";
sub target {
    my ($ok, $text) = @_;
    printf "%s %s\n", (!defined $ok ? 'MISS (not measured)' : $ok ? 'PASS' : 'MISS'), $text;
}
sub at_least { my ($v, $t) = @_; return defined $v ? $v >= $t : undef; }
# The ratio a verifier would reach that added nothing but the HMAC: every
# CPU busy serving plain at its measured rate, plus the body's HMAC at this
# machine's openssl speed per delivery. A target above it cannot be met
# here by any verifier that reads the body before the app does.
sub hmac_ceiling {
    my ($size, $row, $kind, $spooled) = @_;
    my $rps = med_field($size, $row // 'plain', $kind // 'valid', 'rps');
    my $bytes = $m{"size_$size"};
    return undef unless $rate && $rps && $bytes && $m{nproc};
    return undef if $spooled && !$srate;
    my $cpu = $m{nproc} / $rps;   # CPU seconds per delivery of the row
    return $cpu / ($cpu + $bytes / $rate + ($spooled ? $spooled / $srate : 0));
}
# The bytes of a body of that size that go to the spool file (over
# TwWebhookSpoolMemoryLimit, the bench's setting or the module's default).
sub spooled_bytes {
    my $over = ($m{"size_$_[0]"} // 0) - ($m{spool_memory} || 65536);
    return $over > 0 ? $over : 0;
}
# The measured floor beside the HMAC-only ceiling: bare is the least a
# module does to verify before the app (bench/mod_bare_verify.c), so
# bare / plain is what verifying before the app costs on this machine at
# all, and module / bare what mod_twwebhook adds to it.
sub floor {
    my ($s) = @_;
    my ($bare, $bare_how) = best('bare / plain, valid', $s);
    my ($over, $over_how) = best('module / bare, valid', $s);
    printf "     the floor, a module that only verifies: bare / plain %s (%s); module / bare %s (%s)\n",
           num($bare, 2), $bare_how, num($over, 2), $over_how;
}
my $r;
# Issue 22's table, row by row: the goal, what this run measured, and the
# ceiling on this machine: what a verifier that added nothing but its
# unavoidable work would reach (the HMAC at openssl speed; for a refusal
# on the headers nothing at all, as httpd's own 403 also reads and drops
# the body; against PHP, what httpd's own 403 reaches).
print "issue 22 (goal; measured; ceiling on this machine):\n";
my $how;
($r, $how) = best('module / static-403, malformed', '2k');
target(at_least($r, 0.95), sprintf('malformed signature: module >= 0.95 x static-403 (%s; ceiling 1.00: no HMAC, refused on the headers)',
                                   $how));
($r, $how) = best('module / static-403, malformed, each distinct', '2k');
target(at_least($r, 0.95), sprintf('the same, each request its own delivery id: >= 0.95 (%s; ceiling 1.00: each refusal a row of its own)',
                                   $how));
# The same module on a server that keeps no deliveries page: the share of
# the page's row, which a distinct refusal writes and a repeated one counts.
my ($nopage, $nopage_how) = best('module-nopage / static-403, malformed, each distinct', '2k');
printf "     without the deliveries page's row (TwWebhookDeliveriesLog 0): %s (%s)\n",
       num($nopage, 2), $nopage_how;
$r = $R{'module / php-verify, malformed'}{'2k'};
target(at_least($r, 3), sprintf('malformed signature: module >= 3 x php-verify    (%s; ceiling %s: static-403 / php-verify)',
                                num($r, 2), num($R{'static-403 / php-verify, malformed'}{'2k'}, 2)));
$r = $R{'module / static-403, forged'}{'2k'};
target(at_least($r, 1.0), sprintf('forged: module >= 1.0 x static-403               (%s; HMAC-only ceiling %s)',
                                  num($r, 2), num(hmac_ceiling('2k', 'static-403', 'forged'), 2)));
($r, $how) = best('module / plain, valid', '2k');
target(at_least($r, 0.97), sprintf('valid: module >= 0.97 x plain                     (%s; HMAC-only ceiling %s)',
                                   $how, num(hmac_ceiling('2k'), 2)));
# The app is handed the delivery's facts (TW_WEBHOOK_*): plain-vars is
# plain with the same variables set by mod_env, so module / plain-vars is
# the module's own share, and plain-vars / plain the variables'.
my ($own, $own_how) = best('module / plain-vars, valid', '2k');
printf "     of which the module's own share: module / plain-vars %s (%s); the variables: plain-vars / plain %s (rounds)\n",
       num($own, 2), $own_how, num($R{'plain-vars / plain, valid'}{'2k'}, 2);
floor('2k');
$r = $R{'module / plain, valid'}{'1m'};
target(at_least($r, 0.85), sprintf('valid 1 MB: module >= 0.85 x plain                (%s; HMAC-only ceiling %s; with the spool file %s)',
                                   num($r, 2), num(hmac_ceiling('1m'), 2),
                                   spooled_bytes('1m') ? num(hmac_ceiling('1m', undef, undef, spooled_bytes('1m')), 2) : 'not used'));
floor('1m');
# verifying before the CGI reads a byte: at best the CGI's time plus the
# HMAC's, and for a body over TwWebhookSpoolMemoryLimit its spool file's
target(defined $tratio ? $tratio <= 1.25 : undef,
    sprintf('%d MiB to a CGI: time <= 1.25 x the no-module CGI  (%s; ceiling CGI + HMAC alone %s; with the spool file %s)', $mib,
            num($tratio, 2), $tcgi && defined $limit ? num(($tcgi + $limit) / $tcgi, 2) : '—',
            $tcgi && defined $limit && defined $spool ? num(($tcgi + $limit + $spool) / $tcgi, 2) : '—'));
print "\nearlier goals:\n";
($r, $how) = best('module / plain, valid', '64k');
target(at_least($r, 0.90), sprintf('valid 64 KB: module >= 0.90 x plain               (%s; HMAC-only ceiling %s)',
                                   $how, num(hmac_ceiling('64k'), 2)));
floor('64k');
$r = $R{'module / php-verify, forged'}{'2k'};
target(at_least($r, 3), sprintf('forged: module >= 3 x php-verify                  (%s)', num($r, 2)));
$r = $R{'module-cgi / webhook, valid'}{'2k'};
target(at_least($r, 1), sprintf('valid: module + CGI >= webhook daemon             (%s)', num($r, 2)));
$r = $R{'module-cgi / webhook, forged'}{'2k'};
target(at_least($r, 3), sprintf('forged: module + CGI >= 3 x webhook daemon        (%s)', num($r, 2)));
target(defined $gmax && @large ? $gmax < 2048 : undef,
    sprintf('%d MiB body: httpd child RSS growth < 2 MB          (%s kB)', $mib, group3($gmax)));
print "```\n";
