# SPDX-License-Identifier: Apache-2.0
# twwebhook-sign (docs/reference.md "twwebhook-sign", tools/twwebhook-sign.c): the
# signature it prints equals HMAC-SHA256 hex (Digest::SHA) for a few bodies
# and secrets, given inline, in a file (one trailing LF or CRLF stripped) or
# on standard input; and the curl command it prints with --curl, run by sh,
# gets 200 from a protected location of the test server, with the event and
# delivery it names, and when refused exits non-zero and shows why. curl
# (Debian package "curl") is required.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use File::Path qw(remove_tree make_path);
use JSON::PP ();
use Test::More;
use TwTest;
use TwApxs ();
use TwFleet;

my $bin = TwFleet::top_dir() . '/twwebhook-sign';
unless (ok(-x $bin, "twwebhook-sign is built ($bin)")) {
    done_testing();
    exit 1;
}
my $curl = TwApxs::find_program('curl');
ok($curl, 'curl is installed (Debian: apt-get install curl)');

my $dir = tw_vars()->{t_logs} . '/sign';
remove_tree($dir);
make_path($dir);

sub write_file {
    my ($name, $content) = @_;
    my $path = "$dir/$name";
    open my $fh, '>:raw', $path or die "write $path: $!";
    print {$fh} $content;
    close $fh;
    chmod 0600, $path;
    return $path;
}

sub sh_quote { my ($s) = @_; $s =~ s/'/'\\''/g; return "'$s'" }

# run(@argv, {stdin => ...}) -> (exit status, stdout, stderr)
sub run {
    my $opt = ref $_[-1] eq 'HASH' ? pop : {};
    my $cmd = join ' ', map { sh_quote($_) } @_;
    my $in = write_file('stdin', $opt->{stdin} // '');
    my $out = qx($cmd <"$in" 2>"$dir/stderr");
    my $rc = $? >> 8;
    return ($rc, $out, TwTest::slurp("$dir/stderr") // '');
}

my @secrets = ($SECRET{a}, q{with spaces, 'quotes' and "dq"}, 'k', 'Z' x 4096);
my @bodies = ('', '{}', qq({"event":"page.updated","page":{"id":1}}\n),
              "binary \x00\x01\xff\xfe end", join('', map { chr($_ % 256) } 0 .. 200_000));

my $bi = 0;
for my $body (@bodies) {
    my $bfile = write_file('body' . ++$bi, $body);
    my $bname = length $body > 40 ? length($body) . '-byte body' : 'body ' . JSON::PP->new->allow_nonref->ascii->encode($body);
    for my $secret (@secrets) {
        my $want = sign($body, $secret);   # Digest::SHA, recorded for t/999_error_log.t
        my $sname = length $secret > 40 ? length($secret) . '-byte secret' : "secret \"$secret\"";
        my ($rc, $out, $err) = run($bin, '-s', $secret, $bfile);
        is("$rc $out", "0 $want\n", "-s, $bname, $sname: hmac_sha256_hex") or diag($err);
        my $sfile = write_file('secret', "$secret\n");
        ($rc, $out, $err) = run($bin, '-f', $sfile, $bfile);
        is("$rc $out", "0 $want\n", "-f (LF), $bname, $sname") or diag($err);
    }
}
{
    my $body = $bodies[2];
    my $want = sign($body, $SECRET{a});
    my $crlf = write_file('crlf.secret', "$SECRET{a}\r\n");
    my ($rc, $out, $err) = run($bin, '-f', $crlf, write_file('b', $body));
    is("$rc $out", "0 $want\n", '-f with a CRLF line end: stripped like the module does') or diag($err);
    my $bare = write_file('bare.secret', $SECRET{a});
    ($rc, $out, $err) = run($bin, '-f', $bare, "$dir/b");
    is("$rc $out", "0 $want\n", '-f without a line end') or diag($err);
    # one trailing "\n" or "\r\n" is the file's end; any other line break
    # is refused, by the tool as by the module (one rule, in the core)
    for my $case ([ 'two newlines', "$SECRET{a}\n\n" ], [ 'a lone CR', "$SECRET{a}\r" ],
                  [ 'a CR inside', "ab\rcd\n" ]) {
        my ($what, $content) = @$case;
        ($rc, $out, $err) = run($bin, '-f', write_file('odd.secret', $content), "$dir/b");
        is($rc, 1, "-f with $what: refused, exit 1") or diag($out, $err);
        like($err, qr/line break/, "-f with $what: says why") or diag($err);
    }
    ($rc, $out, $err) = run($bin, '-s', $SECRET{a}, '-', { stdin => $body });
    is("$rc $out", "0 $want\n", 'body "-": standard input') or diag($err);
    ($rc, $out, $err) = run($bin, '-s', $SECRET{a}, { stdin => $body });
    is("$rc $out", "0 $want\n", 'no body file: standard input') or diag($err);
    ($rc, $out, $err) = run($bin, '-f', write_file('empty.secret', "\n"), "$dir/b");
    is($rc, 1, 'an empty secret file: exit 1') or diag($out, $err);
    ($rc, $out, $err) = run($bin, "$dir/b");
    is($rc, 2, 'no secret: usage error, exit 2') or diag($out, $err);
}

# --- --curl: the printed command, run by sh, is accepted ------------------------------
if ($curl) {   # without it the test has failed above
    my $hostport = Apache::TestRequest::hostport();
    my $secret_file = write_file('curl.secret', "$SECRET{a}\n");
    my $body = qq({"event":"page.updated","page":{"id":4711,"title":"It's \\"quoted\\""}}\n);
    my $body_file = write_file(q{my body's.json}, $body);   # a name that needs quoting
    my $sig = sign($body, $SECRET{a});
    for my $ds (downstreams()) {
        my $url = "http://$hostport/prot/report.$ds";
        my ($rc, $cmd, $err) = run($bin, '--curl', $url, '-f', $secret_file, '-e', 'page.updated',
                                   $body_file);
        is($rc, 0, "$ds: --curl URL -f secretfile -e page.updated body.json: exit 0") or diag($err);
        chomp $cmd;
        like($cmd, qr/^curl /, "$ds: prints a curl command") or diag($cmd);
        like($cmd, qr/'Signature: \Q$sig\E'/, "$ds: ... with the right Signature header");
        my ($delivery) = $cmd =~ /'Delivery: ([0-9a-f-]+)'/;
        like($delivery // '', qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
             "$ds: ... and a random UUID v4 as Delivery");
        my $out = qx(sh -c ${\ sh_quote($cmd) } 2>&1);
        is($? >> 8, 0, "$ds: sh runs it: curl exits 0") or diag($out);
        my $j = eval { JSON::PP->new->decode($out) };
        ok($j, "$ds: ... and gets the downstream's JSON report (200)") or diag($out);
        $j ||= {};
        is($j->{downstream}, $ds, "$ds: ... from the $ds downstream");
        is($j->{TW_WEBHOOK_VERIFIED}, '1', "$ds: ... verified");
        is($j->{TW_WEBHOOK_EVENT}, 'page.updated', "$ds: ... event page.updated");
        is($j->{TW_WEBHOOK_DELIVERY}, $delivery, "$ds: ... the delivery it printed");
        is($j->{body_sha256}, sha256_hex($body), "$ds: ... the body byte for byte");
        my $code = qx(sh -c ${\ sh_quote("$cmd -o /dev/null -w '%{http_code}'") } 2>&1);
        is($code, '200', "$ds: the same command's HTTP status: 200");

        ($rc, $cmd, $err) = run($bin, '--curl', $url, '-f', $secret_file, '-d', 'my-delivery-42',
                                $body_file);
        chomp $cmd;
        $out = qx(sh -c ${\ sh_quote($cmd) } 2>&1);
        $j = eval { JSON::PP->new->decode($out) } || {};
        is($j->{TW_WEBHOOK_DELIVERY}, 'my-delivery-42', "$ds: -d my-delivery-42 is the Delivery")
            or diag($cmd, $out);
        ok(!defined $j->{TW_WEBHOOK_EVENT}, "$ds: without -e there is no Event header");

        # signed with another secret: the module refuses what it prints
        my $other = write_file('other.secret', "$SECRET{unknown}\n");
        sign($body, $SECRET{unknown});
        ($rc, $cmd, $err) = run($bin, '--curl', $url, '-f', $other, '-e', 'page.updated', $body_file);
        chomp $cmd;
        $code = qx(sh -c ${\ sh_quote("$cmd -o /dev/null -w '%{http_code}'") } 2>/dev/null);
        is($code, '401', "$ds: the command made with an unconfigured secret gets 401");
        # ... and whoever runs it (a script, a pipe into sh) is told: curl
        # exits non-zero (22) and shows the refusal, not a silent 0
        my $errfile = "$dir/curl.stderr";
        $out = qx(sh -c ${\ sh_quote($cmd) } 2>${\ sh_quote($errfile) });
        my $exit = $? >> 8;
        my $stderr = do { local $/; open my $fh, '<', $errfile; <$fh> // '' };
        is($exit, 22, "$ds: sh runs the refused command: curl exits 22, not 0") or diag($cmd);
        is($out, "webhook rejected with 401: signature mismatch\n",
           "$ds: ... and prints the module's one-line refusal");
        like($stderr, qr/returned error: 401/, "$ds: ... and says the status on stderr")
            or diag($stderr);
    }
}

done_testing();
