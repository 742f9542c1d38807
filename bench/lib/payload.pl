#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# payload.pl TEMPLATE SIZE - prints a copy of the Teamwork page.updated
# TEMPLATE whose "content" field is padded with article-like HTML so that the
# output is exactly SIZE bytes of valid JSON (the 64 KB and 1 MB variants).
use strict;
use warnings;

my ($template, $size) = @ARGV;
die "usage: $0 TEMPLATE SIZE\n" unless defined $size && $size =~ /^\d+$/;
open(my $fh, '<:raw', $template) or die "$template: $!\n";
my $json = do { local $/; <$fh> };
close $fh;

$json =~ /"content":"((?:[^"\\]|\\.)*)"/ or die "$template: no \"content\" field\n";
my ($before, $old, $after) = ($`, $1, $');
my $fixed = length($before) + length('"content":""') + length($after);
my $room = $size - $fixed;
die "$template: SIZE $size is below the template's own size\n" if $room < length($old);

# Plain ASCII without quotes or backslashes, so any prefix is a valid string.
my $para = '<p>Step %d: confirm the reconciliation job finished, compare the '
         . 'ledger totals with the payment provider export, and note any '
         . 'difference in the release ticket before the next pool is rolled.</p>';
my $content = $old;
for (my $i = 1; length($content) < $room; $i++) {
    $content .= sprintf($para, $i);
}
$content = substr($content, 0, $room);
binmode STDOUT;
print $before, '"content":"', $content, '"', $after;
