# SPDX-License-Identifier: Apache-2.0
# Configuration errors: `httpd -t` on small generated configurations. Every
# bad one must fail with the configuration file and the line of the bad
# directive in the message, name the directive, and never show a secret;
# the good ones must pass. Also checks conf/twwebhook.load and
# conf/twwebhook.conf (the shipped example) parse.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(remove_tree make_path);
use Test::More;
use TwTest;

my $top = dirname(abs_path($FindBin::Bin));
my $vars = tw_vars();
my $httpd = $vars->{httpd};
my $libexec = $vars->{src_dir};
my $so = "$top/.libs/mod_twwebhook.so";
my $dir = "$vars->{t_logs}/configtest";
remove_tree($dir);
make_path("$dir/spool", "$dir/a-directory");

sub write_file {
    my ($path, $content, $mode) = @_;
    open my $fh, '>:raw', $path or die "write $path: $!";
    print {$fh} $content;
    close $fh;
    chmod $mode // 0600, $path;
    return $path;
}

my $tok = 'cfgT0ken-3f5a7c9e1b2d-inline';
my $lf = write_file("$dir/lf.secret", "cfgF1le-8d6b4f2a0c9e-lf\n");
my $crlf = write_file("$dir/crlf.secret", "cfgF1le-1a3c5e7b9d2f-crlf\r\n");
my $empty = write_file("$dir/empty.secret", '');
my $nl_only = write_file("$dir/newline-only.secret", "\n");
my $crlf_only = write_file("$dir/crlf-only.secret", "\r\n");
my $unreadable = write_file("$dir/unreadable.secret", "cfgF1le-7e9a2c4b6d8f-hidden\n", 0000);
my $long_secret = 'cfgL0ng-' . ('5c7e9a1b3d' x 410);   # 4108 bytes
my $long = write_file("$dir/long.secret", "$long_secret\n");
my $max_secret = substr($long_secret, 0, 4096);
my $max = write_file("$dir/max.secret", $max_secret);
write_file("$dir/relative.secret", "cfgR3lative-0b2d4f6a8c1e\n");
my @secrets = ($tok, 'cfgF1le-8d6b4f2a0c9e-lf', 'cfgF1le-1a3c5e7b9d2f-crlf',
               'cfgF1le-7e9a2c4b6d8f-hidden', 'cfgR3lative-0b2d4f6a8c1e',
               substr($long_secret, 0, 40));

my @preamble = (
    qq(ServerRoot "$dir"),
    'ServerName localhost',
    qq(ErrorLog "$dir/error_log"),
    qq(PidFile "$dir/httpd.pid"),
    qq(DefaultRuntimeDir "$dir"),
    qq(LoadModule mpm_event_module "$libexec/mod_mpm_event.so"),
    qq(LoadModule twwebhook_module "$so"),
);

my $n = 0;
# configtest(\@lines, $load_module) -> (exit status, output, file)
sub configtest {
    my ($lines, $pre) = @_;
    my $file = sprintf '%s/case%02d.conf', $dir, ++$n;
    write_file($file, join('', map { "$_\n" } @{ $pre // \@preamble }, @$lines), 0644);
    my $out = qx("$httpd" -t -f "$file" 2>&1);
    return ($? >> 8, $out, $file);
}

# bad: [name, directive named in the message, lines, index of the bad line]
my @bad = (
    ['empty secret file', 'TwWebhookSecret',
     ["<Location /h>", "TwWebhookSecret file:$empty", '</Location>'], 1],
    ['secret file holding only a newline', 'TwWebhookSecret',
     ["TwWebhookSecret file:$nl_only"], 0],
    ['secret file holding only CRLF', 'TwWebhookSecret',
     ["TwWebhookSecret file:$crlf_only"], 0],
    ['missing secret file', 'TwWebhookSecret',
     ["TwWebhookSecret $tok", "TwWebhookSecret file:$dir/no-such.secret"], 1],
    ['unreadable secret file (mode 000)', 'TwWebhookSecret',
     ["<Location /h>", "TwWebhookSecret file:$unreadable", '</Location>'], 1],
    ['secret file is a directory', 'TwWebhookSecret',
     ["TwWebhookSecret file:$dir/a-directory"], 0],
    ['file: without a path', 'TwWebhookSecret', ['TwWebhookSecret file:'], 0],
    ['empty inline secret', 'TwWebhookSecret', ['TwWebhookSecret ""'], 0],
    ['TwWebhookSecret without argument', 'TwWebhookSecret', ['TwWebhookSecret'], 0],
    ['TwWebhookSecret with two arguments', 'TwWebhookSecret', ["TwWebhookSecret $tok $tok"], 0],
    (map { ["TwWebhookMaxBodySize $_->[0]", 'TwWebhookMaxBodySize',
            ["<Location /h>", "TwWebhookSecret $tok", "TwWebhookMaxBodySize $_->[1]",
             '</Location>'], 2] }
         ['10k', '10k'], ['-1', '-1'], ['0', '0'], ['abc', 'abc'], ['1.5', '1.5'],
         ['0x100', '0x100'], ['"" (empty)', '""'], ['"4096 " (trailing space)', '"4096 "'],
         ['99999999999999999999999 (overflow)', '99999999999999999999999']),
    (map { ["TwWebhookSpoolMemoryLimit $_->[0]", 'TwWebhookSpoolMemoryLimit',
            ["<Location /h>", "TwWebhookSecret $tok", "TwWebhookSpoolMemoryLimit $_->[1]",
             '</Location>'], 2] }
         ['-1', '-1'], ['64k', '64k'], ['abc', 'abc'], ['1.5', '1.5'], ['"" (empty)', '""'],
         ['+1024', '+1024'], ['67108865 (over the 64 MiB ceiling)', '67108865'],
         ['99999999999999999999999 (overflow)', '99999999999999999999999']),
    ['TwWebhookSpoolMemoryLimit without argument', 'TwWebhookSpoolMemoryLimit',
     ['TwWebhookSpoolMemoryLimit'], 0],
    ['TwWebhook Maybe', 'TwWebhook', ['TwWebhook Maybe'], 0],
    ['TwWebhook yes', 'TwWebhook', ["<Location /h>", 'TwWebhook yes', '</Location>'], 1],
    ['TwWebhookSpoolDir in <Location>', 'TwWebhookSpoolDir',
     ["<Location /h>", "TwWebhookSpoolDir $dir/spool", '</Location>'], 1],
    ['TwWebhookSpoolDir in <Directory>', 'TwWebhookSpoolDir',
     ["<Directory $dir>", "TwWebhookSpoolDir $dir/spool", '</Directory>'], 1],
    # documented in the README
    ['secret file longer than 4096 bytes', 'TwWebhookSecret',
     ["TwWebhookSecret file:$long"], 0],
    ['TwWebhookSpoolDir that does not exist', 'TwWebhookSpoolDir',
     ["TwWebhookSpoolDir $dir/no-such-dir"], 0],
    (map { ["TwWebhookExportJSON to $_", 'TwWebhookExportJSON',
            ["<Location /h>", "TwWebhookSecret $tok", "TwWebhookExportJSON /a $_",
             '</Location>'], 2] }
         qw(HTTP_X_ID REDIRECT_ID TW_WEBHOOK_VERIFIED PHP_VALUE PHP_ADMIN_VALUE
            lower_case 1ST_DIGIT WITH-DASH)),
    ['TwWebhookReplayWindow 0', 'TwWebhookReplayWindow', ['TwWebhookReplayWindow 0'], 0],
    ['TwWebhookReplayWindow 2592001', 'TwWebhookReplayWindow',
     ['TwWebhookReplayWindow 2592001'], 0],
    ['TwWebhookReplayCache with an unknown provider', 'TwWebhookReplayCache',
     ['TwWebhookReplayCache nosuchprovider'], 0],
    ['TwWebhookReplayCache in <Location>', 'TwWebhookReplayCache',
     ["<Location /h>", "TwWebhookReplayCache shmcb", '</Location>'], 1],
    ['TwWebhookReplayCacheFailure maybe', 'TwWebhookReplayCacheFailure',
     ['TwWebhookReplayCacheFailure maybe'], 0],
    (map { ["TwWebhookReplayLease $_", 'TwWebhookReplayLease', ["TwWebhookReplayLease $_"], 0] }
         qw(2 3601 30s x)),
    (map { ["TwWebhookReplayCacheTimeout $_", 'TwWebhookReplayCacheTimeout',
            ["TwWebhookReplayCacheTimeout $_"], 0] } qw(5ms 61 x)),
    (map { ["TwWebhookInboxTimeout $_", 'TwWebhookInboxTimeout',
            ["TwWebhookInboxTimeout $_"], 0] } qw(5ms 61 x 0 -1 2m ''), '2 s'),
    ['TwWebhookInboxTimeout in <Location>', 'TwWebhookInboxTimeout',
     ['<Location /h>', "TwWebhookSecret $tok", 'TwWebhookInbox redis:127.0.0.1:6379',
      'TwWebhookInboxTimeout 1', '</Location>'], 3],
    ['TwWebhookInboxTimeout in <VirtualHost>', 'TwWebhookInboxTimeout',
     ['<VirtualHost 127.0.0.1:8081>', 'TwWebhookInboxTimeout 1', '</VirtualHost>'], 1],
    ['TwWebhookRequireJSON maybe', 'TwWebhookRequireJSON', ['TwWebhookRequireJSON maybe'], 0],
    ['TwWebhookQueue maybe', 'TwWebhookQueue',
     ["<Location /h>", "TwWebhookSecret $tok", 'TwWebhookQueue maybe', '</Location>'], 2],
    (map { ["TwWebhookQueueRetry $_", 'TwWebhookQueueRetry',
            ["<Location /h>", "TwWebhookSecret $tok", "TwWebhookQueueRetry $_", '</Location>'], 2] }
         '', 'attempts=x', 'attempts=-1', 'attempts=1001', 'tries=3', 'attempts', 'base=5ms',
         'base=2h', 'base=1.5s', 'cap=2d', 'max-age=31d', 'max-age=10x', 'base=10s cap=5s',
         'attempts=0 max-age=0'),
    (map { ["TwWebhookQueueConcurrency $_", 'TwWebhookQueueConcurrency',
            ["<Location /h>", "TwWebhookSecret $tok", "TwWebhookQueueConcurrency $_",
             '</Location>'], 2] } qw(0 257 x -1 4k)),
    (map { ["TwWebhookInbox $_", 'TwWebhookInbox',
            ["<Location /h>", "TwWebhookSecret $tok", "TwWebhookInbox $_", '</Location>'], 2] }
         qw(redis:127.0.0.1:0 redis:127.0.0.1:70000 redis::6379
            redis:127.0.0.1:6379/x redis:127.0.0.1:6379x)),
);

for my $case (@bad) {
    my ($name, $directive, $lines, $bad) = @$case;
    my ($rc, $out, $file) = configtest($lines);
    my $line = @preamble + $bad + 1;
    subtest "configtest fails: $name" => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/line \Q$line\E of \Q$file\E/, "message names $file line $line")
            or diag($out);
        like($out, qr/\Q$directive\E/, "message names $directive");
        unlike($out, qr/Syntax OK/, 'no "Syntax OK"');
        unlike($out, qr/\Q$_\E/, 'no secret in the message') for @secrets;
    };
}

# What the message says, for the cases an operator most needs it for.
for my $case (['TwWebhookSecret ""', qr/TwWebhookSecret: empty token/, ['TwWebhookSecret ""']],
              ['a secret file ending in a lone CR', qr/secret has a line break inside/,
               ['TwWebhookSecret file:' . write_file("$dir/cr.secret", "cfgCR-9a8b7c6d\r")]],
              ['a secret file of two lines', qr/secret has a line break inside/,
               ['TwWebhookSecret file:' . write_file("$dir/two.secret", "cfgTw0-1\ncfgTw0-2\n")]]) {
    my ($name, $re, $lines) = @$case;
    my ($rc, $out) = configtest($lines);
    subtest "configtest fails: $name, and says why" => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, $re, "the message says $re") or diag($out);
        unlike($out, qr/cfgCR|cfgTw0/, 'no secret in the message');
    };
}

# "TwWebhook On" where no secret can ever apply would answer 500 to every
# request: check_config refuses it, naming the file and line of the On.
for my $case (['at server level', ['TwWebhook On'], 0],
              ['in a <Location>, no secret anywhere', ['<Location /h>', 'TwWebhook On', '</Location>'], 1],
              ['in a <Location>, a secret only in a sibling <Location>',
               ['<Location /a>', "TwWebhookSecret $tok", '</Location>',
                '<Location /b>', 'TwWebhook On', '</Location>'], 4],
              ['in a <VirtualHost>, a secret only in another one',
               ['<VirtualHost 127.0.0.1:8081>', "TwWebhookSecret $tok", '</VirtualHost>',
                '<VirtualHost 127.0.0.1:8082>', '<Location /b>', 'TwWebhook On', '</Location>',
                '</VirtualHost>'], 5]) {
    my ($name, $lines, $bad) = @$case;
    my ($rc, $out, $file) = configtest($lines);
    my $line = @preamble + $bad + 1;
    subtest "configtest fails: TwWebhook On without a secret $name" => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/\Q$file:$line\E: TwWebhook On, but no TwWebhookSecret applies/,
             "the message names $file:$line") or diag($out);
        unlike($out, qr/Syntax OK/, 'no "Syntax OK"');
    };
}
for my $case (['below a <Location> with a secret',
               ['<Location /a>', "TwWebhookSecret $tok", '</Location>',
                '<Location /a/b>', 'TwWebhook On', '</Location>']],
              ['in a <Location>, a secret in a <Directory>',
               ["<Directory $dir>", "TwWebhookSecret $tok", '</Directory>',
                '<Location /b>', 'TwWebhook On', '</Location>']],
              ['in a <Location>, a secret at server level',
               ["TwWebhookSecret $tok", '<Location /b>', 'TwWebhook Off', '</Location>',
                '<Location /b/c>', 'TwWebhook On', '</Location>']],
              ['in a <LocationMatch>, a secret in a <Location>',
               ['<Location /a>', "TwWebhookSecret $tok", '</Location>',
                '<LocationMatch "^/x">', 'TwWebhook On', '</LocationMatch>']]) {
    my ($name, $lines) = @$case;
    my ($rc, $out) = configtest($lines);
    subtest "configtest passes: TwWebhook On $name" => sub {
        is($rc, 0, 'httpd -t exits 0') or diag($out);
        like($out, qr/Syntax OK/, 'Syntax OK');
    };
}

# Any TwWebhook* directive (but TwWebhook Off) in a section where no
# TwWebhookSecret can apply would look protected and is not: its requests
# reach the app unverified. check_config refuses it, naming the section
# and the file and line of the section's first such directive.
make_path("$dir/inbox");
chmod 0700, "$dir/inbox";
for my $case (['an operator\'s <Location> with a profile and a held inbox (issue 19)',
               ['<Location /h>', 'TwWebhookProfile github', "TwWebhookInbox $dir/inbox",
                'TwWebhookInboxHold On', '</Location>'], 1, 'TwWebhookProfile', '<Location /h>'],
              ['a <LocationMatch>', ['<LocationMatch "^/x">', 'TwWebhookEvents page.*',
                                     '</LocationMatch>'], 1, 'TwWebhookEvents', '<LocationMatch "^/x">'],
              ['a <Directory>', ["<Directory $dir/a-directory>", 'TwWebhookMaxBodySize 10',
                                 '</Directory>'], 1, 'TwWebhookMaxBodySize',
               "<Directory $dir/a-directory>"],
              ['a <DirectoryMatch>', ['<DirectoryMatch "/hooks/">', 'TwWebhookRequireJSON On',
                                      '</DirectoryMatch>'], 1, 'TwWebhookRequireJSON',
               '<DirectoryMatch "/hooks/">'],
              ['a <Files>', ['<Files hook.php>', 'TwWebhookExportJSON /id TW_ID', '</Files>'],
               1, 'TwWebhookExportJSON', '<Files hook.php>'],
              ['a <FilesMatch>', ['<FilesMatch "^hook">', 'TwWebhookSignatureHeader X-Sig',
                                  '</FilesMatch>'], 1, 'TwWebhookSignatureHeader',
               '<FilesMatch "^hook">'],
              ['a <Files> inside a <Directory> without a secret',
               ["<Directory $dir/a-directory>", '<Files hook.php>', 'TwWebhookSpoolMemoryLimit 0',
                '</Files>', '</Directory>'], 2, 'TwWebhookSpoolMemoryLimit', '<Files hook.php>'],
              ['a <Location>, the directive inside <IfModule>',
               ['<Location /h>', '<IfModule twwebhook_module>', 'TwWebhookInbox inbox',
                '</IfModule>', '</Location>'], 2, 'TwWebhookInbox', '<Location /h>'],
              ['a <Location>, a secret only in a sibling <Location>',
               ['<Location /a>', "TwWebhookSecret $tok", '</Location>',
                '<Location /b>', 'TwWebhookDeliveryHeader X-Id', 'TwWebhookEventHeader X-Ev',
                '</Location>'], 4, 'TwWebhookDeliveryHeader', '<Location /b>'],
              ['an <If> in a <Location> without a secret',
               ['<Location /h>', '<If "-n %{HTTP:X-Hook}">', 'TwWebhookRequireJSON On', '</If>',
                '</Location>'], 2, 'TwWebhookRequireJSON', '<If "-n %{HTTP:X-Hook}">'],
              ['an <If> at server level, no secret anywhere',
               ['<If "-n %{HTTP:X-Hook}">', 'TwWebhookEvents push', '</If>'], 1, 'TwWebhookEvents',
               '<If "-n %{HTTP:X-Hook}">'],
              ['a <Location> in a <VirtualHost>, a secret only in another one',
               ['<VirtualHost 127.0.0.1:8081>', "TwWebhookSecret $tok", '</VirtualHost>',
                '<VirtualHost 127.0.0.1:8082>', '<Location /b>', 'TwWebhookProfile stripe',
                '</Location>', '</VirtualHost>'], 5, 'TwWebhookProfile', '<Location /b>']) {
    my ($name, $lines, $bad, $directive, $section) = @$case;
    my ($rc, $out, $file) = configtest($lines);
    my $line = @preamble + $bad + 1;
    subtest "configtest fails: a TwWebhook* directive where no secret applies: $name" => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/TWW0807: \Q$file:$line\E: \Q$directive\E in \Q$section\E, but no TwWebhookSecret applies there/,
             "the message names $directive, $section and $file:$line") or diag($out);
        unlike($out, qr/Syntax OK/, 'no "Syntax OK"');
        unlike($out, qr/\Q$tok\E/, 'no secret in the message');
    };
}
for my $case (['TwWebhook Off in a <Location>, no secret anywhere',
               ['<Location /b>', 'TwWebhook Off', '</Location>']],
              ['defaults at server level, no secret anywhere',
               ['TwWebhookProfile github', 'TwWebhookMaxBodySize 4096', 'TwWebhookEvents push',
                'TwWebhookRequireJSON On', "TwWebhookInbox $dir/inbox", 'TwWebhookInboxHold On']],
              ['defaults in a <VirtualHost>, secrets in its <Location>s',
               ['<VirtualHost 127.0.0.1:8081>', 'TwWebhookMaxBodySize 4096',
                '<Location /a>', "TwWebhookSecret $tok", '</Location>', '</VirtualHost>']],
              ['a <Location> below one with a secret',
               ['<Location /a>', "TwWebhookSecret $tok", '</Location>',
                '<Location /a/b>', 'TwWebhookMaxBodySize 10', '</Location>']],
              ['a <Files> inside a <Directory> with a secret',
               ["<Directory $dir/a-directory>", "TwWebhookSecret $tok", '<Files hook.php>',
                'TwWebhookRequireJSON On', '</Files>', '</Directory>']],
              ['a <Location>, a secret at server level',
               ["TwWebhookSecret $tok", '<Location /b>', 'TwWebhookEvents page.*', '</Location>']],
              ['an <If> in a <Location> with a secret',
               ['<Location /a>', "TwWebhookSecret $tok", '<If "-n %{HTTP:X-Big}">',
                'TwWebhookMaxBodySize 16777216', '</If>', '</Location>']],
              ['a <Location> whose secrets are in its <If> and <Else>',
               ['<Location /a>', 'TwWebhookProfile github', '<If "%{HTTP_HOST} == \'a.test\'">',
                "TwWebhookSecret $tok", '</If>', '<Else>', "TwWebhookSecret $tok-b", '</Else>',
                '</Location>']],
              ['an <If> at server level, a secret in a <Location>',
               ['<Location /a>', "TwWebhookSecret $tok", '</Location>', '<If "-n %{HTTP:X-Big}">',
                'TwWebhookMaxBodySize 16777216', '</If>']]) {
    my ($name, $lines) = @$case;
    my ($rc, $out) = configtest($lines);
    subtest "configtest passes: $name" => sub {
        is($rc, 0, 'httpd -t exits 0') or diag($out);
        like($out, qr/Syntax OK/, 'Syntax OK');
    };
}

# A directive that needs another says so, with its file and line.
for my $case (['TwWebhookInboxHold On without TwWebhookInbox', 'TWW0808',
               'TwWebhookInboxHold On, but no TwWebhookInbox applies here',
               ['<Location /h>', "TwWebhookSecret $tok", 'TwWebhookInboxHold On', '</Location>'], 2],
              ['TwWebhookInboxHold On without TwWebhookInbox, at server level', 'TWW0808',
               'TwWebhookInboxHold On, but no TwWebhookInbox applies here',
               ["TwWebhookSecret $tok", 'TwWebhookInboxHold On'], 1],
              ['TwWebhookInboxHold On, an inbox only in a sibling <Location>', 'TWW0808',
               'TwWebhookInboxHold On, but no TwWebhookInbox applies here',
               ["TwWebhookSecret $tok", '<Location /a>', "TwWebhookInbox $dir/inbox", '</Location>',
                '<Location /b>', 'TwWebhookInboxHold On', '</Location>'], 5],
              ['TwWebhookQueue On without TwWebhookInbox', 'TWW0840',
               'TwWebhookQueue On, but no TwWebhookInbox applies here',
               ['<Location /h>', "TwWebhookSecret $tok", 'TwWebhookQueue On', '</Location>'], 2],
              ['TwWebhookQueue On without TwWebhookInbox, at server level', 'TWW0840',
               'TwWebhookQueue On, but no TwWebhookInbox applies here',
               ["TwWebhookSecret $tok", 'TwWebhookQueue On'], 1],
              ['TwWebhookQueue On, an inbox only in a sibling <Location>', 'TWW0840',
               'TwWebhookQueue On, but no TwWebhookInbox applies here',
               ["TwWebhookSecret $tok", '<Location /a>', "TwWebhookInbox $dir/inbox", '</Location>',
                '<Location /b>', 'TwWebhookQueue On', '</Location>'], 5],
              ['TwWebhookEvents under a profile that reads no event (slack)', 'TWW0809',
               'TwWebhookEvents, but TwWebhookProfile slack reads no event name and no TwWebhookEventHeader applies here',
               ['<Location /h>', "TwWebhookSecret $tok", 'TwWebhookProfile slack',
                'TwWebhookEvents message', '</Location>'], 3],
              ['TwWebhookTimestampTolerance, the section\'s own profile signs none', 'TWW0803',
               'TwWebhookTimestampTolerance, but no TwWebhookProfile that signs a timestamp applies here',
               ['<Location /s>', 'TwWebhookProfile stripe', "TwWebhookSecret $tok", '</Location>',
                '<Location /s/gh>', 'TwWebhookProfile github', 'TwWebhookTimestampTolerance 30',
                '</Location>'], 6]) {
    my ($name, $tag, $says, $lines, $bad) = @$case;
    my ($rc, $out, $file) = configtest($lines);
    my $line = @preamble + $bad + 1;
    subtest "configtest fails: $name" => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/\Q$tag: $file:$line: $says\E/, "$tag names $file:$line") or diag($out);
        unlike($out, qr/Syntax OK/, 'no "Syntax OK"');
    };
}
for my $case (['TwWebhookInboxHold On below a <Location> with an inbox',
               ['<Location /a>', "TwWebhookSecret $tok", "TwWebhookInbox $dir/inbox", '</Location>',
                '<Location /a/b>', 'TwWebhookInboxHold On', '</Location>']],
              ['TwWebhookInboxHold Off without an inbox',
               ['<Location /a>', "TwWebhookSecret $tok", 'TwWebhookInboxHold Off', '</Location>']],
              ['TwWebhookQueue On below a <Location> with an inbox, and its tuning',
               ['<Location /a>', "TwWebhookSecret $tok", "TwWebhookInbox $dir/inbox", '</Location>',
                '<Location /a/b>', 'TwWebhookQueue On',
                'TwWebhookQueueRetry attempts=5 max-age=2d base=200ms cap=30m',
                'TwWebhookQueueConcurrency 2', '</Location>']],
              ['TwWebhookQueue Off without an inbox; retry with one limit off',
               ['<Location /a>', "TwWebhookSecret $tok", 'TwWebhookQueue Off',
                'TwWebhookQueueRetry attempts=0 max-age=1h', '</Location>']],
              ['TwWebhookEvents under slack with TwWebhookEventHeader',
               ['<Location /h>', "TwWebhookSecret $tok", 'TwWebhookProfile slack',
                'TwWebhookEventHeader X-Ev', 'TwWebhookEvents message', '</Location>']]) {
    my ($name, $lines) = @$case;
    my ($rc, $out) = configtest($lines);
    subtest "configtest passes: $name" => sub {
        is($rc, 0, 'httpd -t exits 0') or diag($out);
        like($out, qr/Syntax OK/, 'Syntax OK');
    };
}

# Modes: a secret file or an inbox that group or others can reach passes,
# with one warn-level line naming the path and the mode to use.
{
    my $loose = write_file("$dir/loose.secret", "cfgL00se-4b6d8f0a2c4e\n", 0644);
    my $group = write_file("$dir/group.secret", "cfgGr0up-6d8f0a2c4e6a\n", 0640);
    make_path("$dir/loose-inbox");
    chmod 0755, "$dir/loose-inbox";
    push @secrets, 'cfgL00se-4b6d8f0a2c4e', 'cfgGr0up-6d8f0a2c4e6a';
    for my $case (['a secret file of mode 0644', 'TWW0810',
                   "TwWebhookSecret file $loose has mode 0644: group or others can reach it; make it 0400 or 0600",
                   ['<Location /h>', "TwWebhookSecret file:$loose", '</Location>'], 1],
                  ['a secret file of mode 0640, at server level', 'TWW0810',
                   "TwWebhookSecret file $group has mode 0640: group or others can reach it; make it 0400 or 0600",
                   ["TwWebhookSecret file:$group"], 0],
                  ['an inbox of mode 0755', 'TWW0811',
                   "TwWebhookInbox $dir/loose-inbox has mode 0755: group or others can reach the deliveries kept there; make it 0700",
                   ['<Location /h>', "TwWebhookSecret $tok", "TwWebhookInbox $dir/loose-inbox",
                    '</Location>'], 2]) {
        my ($name, $tag, $says, $lines, $at) = @$case;
        my ($rc, $out, $file) = configtest($lines);
        my $line = @preamble + $at + 1;
        subtest "configtest warns: $name" => sub {
            is($rc, 0, 'httpd -t exits 0 (a warning, not an error)') or diag($out);
            like($out, qr/\[twwebhook:warn\].*\Q$tag: $file:$line: $says\E/, "a warn-level $tag line")
                or diag($out);
            is(scalar(() = $out =~ /\Q$tag\E/g), 1, '... once');
            unlike($out, qr/cfgL00se|cfgGr0up/, 'no secret in the message');
        };
    }
    my ($rc, $out) = configtest(['<Location /h>', "TwWebhookSecret file:$lf",
                                 "TwWebhookInbox $dir/inbox", '</Location>']);
    subtest 'configtest: a 0600 secret file and a 0700 inbox draw no warning' => sub {
        is($rc, 0, 'httpd -t exits 0') or diag($out);
        unlike($out, qr/TWW081[01]/, 'no TWW0810 nor TWW0811') or diag($out);
    };
}

# Profiles and timestamps.
{
    my ($rc, $out, $file) = configtest(['<Location /h>', 'TwWebhookProfile svix', '</Location>']);
    my $line = @preamble + 2;
    subtest 'configtest fails: an unknown TwWebhookProfile, listing the known ones' => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/line \Q$line\E of \Q$file\E/, "names $file line $line") or diag($out);
        like($out, qr/unknown profile 'svix' \(known: teamwork, teamwork-projects, teamwork-desk, github, standard-webhooks, stripe, slack, shopify\)/,
             'lists the known profiles') or diag($out);
    };
    ($rc, $out, $file) = configtest(['<Location /h>', 'TwWebhookProfile standard-webhooks',
                                     "TwWebhookSecret $tok", '</Location>']);
    $line = @preamble + 3;
    subtest 'configtest fails: standard-webhooks with a secret that is not whsec_' => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/line \Q$line\E of \Q$file\E/, "names $file line $line") or diag($out);
        like($out, qr/not a whsec_<base64> secret, which TwWebhookProfile standard-webhooks needs/,
             'says why') or diag($out);
        unlike($out, qr/\Q$tok\E/, 'no secret in the message');
    };
    ($rc, $out, $file) = configtest(['<Location /h>', "TwWebhookSecret $tok",
                                     'TwWebhookProfile standard-webhooks', '</Location>']);
    subtest 'configtest fails: TwWebhookProfile standard-webhooks after a plain secret' => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/secret 1 of this section is not a whsec_<base64> secret/, 'says which')
            or diag($out);
        unlike($out, qr/\Q$tok\E/, 'no secret in the message');
    };
    ($rc, $out, $file) = configtest(['<Location /h>', "TwWebhookSecret $tok",
                                     'TwWebhookTimestampTolerance 60', '</Location>']);
    $line = @preamble + 3;
    subtest 'configtest fails: TwWebhookTimestampTolerance under a profile without timestamps' => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/TWW0803: \Q$file:$line\E: TwWebhookTimestampTolerance, but no TwWebhookProfile that signs a timestamp applies here \(teamwork\)/,
             "names $file:$line and says why") or diag($out);
    };
    ($rc, $out, $file) = configtest([qq(LoadModule socache_shmcb_module "$libexec/mod_socache_shmcb.so"),
                                     'TwWebhookReplayCache shmcb', 'TwWebhookReplayWindow 120',
                                     '<Location /h>', 'TwWebhookProfile stripe', "TwWebhookSecret $tok",
                                     'TwWebhookTimestampTolerance 300', '</Location>']);
    subtest 'configtest fails: a replay window shorter than the tolerance' => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/TWW0804: .*TwWebhookReplayWindow \(120 s\) is shorter than TwWebhookTimestampTolerance \(300 s\)/,
             'says why') or diag($out);
    };
    for my $bad ('0', '-5', '10s', '2592001', '99999999999999999999999') {
        ($rc, $out) = configtest(['<Location /h>', 'TwWebhookProfile slack', "TwWebhookSecret $tok",
                                  qq(TwWebhookTimestampTolerance "$bad"), '</Location>']);
        like($out, qr/TwWebhookTimestampTolerance: '\Q$bad\E' is not a whole number of seconds/,
             "configtest fails: TwWebhookTimestampTolerance '$bad'") or diag($out);
    }
    for my $good (['a tolerance under a profile set in an enclosing section',
                   ['<Location /s>', 'TwWebhookProfile stripe', "TwWebhookSecret $tok", '</Location>',
                    '<Location /s/tight>', 'TwWebhookTimestampTolerance 30', '</Location>']],
                  ['standard-webhooks with a whsec_ secret',
                   ['<Location /s>', 'TwWebhookProfile standard-webhooks',
                    'TwWebhookSecret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '</Location>']],
                  ['every profile', [ map { ("<Location /$_>", "TwWebhookProfile $_",
                                             "TwWebhookSecret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                             '</Location>') }
                                      qw(teamwork teamwork-projects teamwork-desk github
                                         standard-webhooks stripe slack shopify) ]]) {
        ($rc, $out) = configtest($good->[1]);
        is($rc, 0, "configtest passes: $good->[0]") or diag($out);
    }
}

# Tuning a replay cache that is not there is refused by the check_config
# hook, naming the directive and its file and line.
for my $tuning ('TwWebhookReplayWindow 600', 'TwWebhookReplayCacheFailure closed',
                'TwWebhookReplayLease 60', 'TwWebhookReplayCacheTimeout 500ms') {
    my ($rc, $out, $file) = configtest([$tuning]);
    my $line = @preamble + 1;
    (my $directive = $tuning) =~ s/ .*//;
    subtest "configtest fails: $directive without TwWebhookReplayCache" => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/TWW0708: \Q$directive ($file:$line)\E is set but TwWebhookReplayCache is not/,
             'the message says why, with the file and line') or diag($out);
        unlike($out, qr/Syntax OK/, 'no "Syntax OK"');
    };
}

# A lease no longer than one engine call could run out during its renewal.
{
    my ($rc, $out) = configtest(['TwWebhookReplayCache redis:127.0.0.1:1',
                                 'TwWebhookReplayLease 3', 'TwWebhookReplayCacheTimeout 3']);
    subtest 'configtest fails: TwWebhookReplayLease not longer than TwWebhookReplayCacheTimeout' => sub {
        isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
        like($out, qr/TWW0718: TwWebhookReplayLease \(3 s\) must be longer than TwWebhookReplayCacheTimeout \(3000 ms\)/,
             'the message says why') or diag($out);
    };
    ($rc, $out) = configtest(['TwWebhookReplayCache redis:127.0.0.1:1',
                              'TwWebhookReplayLease 3', 'TwWebhookReplayCacheTimeout 2500ms']);
    is($rc, 0, 'configtest passes: a lease of 3 s, calls of 2.5 s at most') or diag($out);
}

my @good = (
    ['inline and file: secrets, limits, spool dir, nested Off',
     [qq(TwWebhookSpoolDir "$dir/spool"),
      "TwWebhookSecret $tok",
      "TwWebhookMaxBodySize 1048576",
      '<Location /hooks>',
      "    TwWebhookSecret file:$lf",
      "    TwWebhookSecret file:$crlf",
      "    TwWebhookSecret $tok",
      '    TwWebhookMaxBodySize 4096',
      '    TwWebhookSpoolMemoryLimit 0',
      '    TwWebhook On',
      '</Location>',
      '<Location /hooks/open>',
      '    TwWebhook Off',
      '</Location>',
      "<Directory $dir>",
      "    TwWebhookSecret $tok",
      '    TwWebhookMaxBodySize 1',
      '</Directory>',
      '<VirtualHost 127.0.0.1:8081>',
      qq(    TwWebhookSpoolDir "$dir/spool"),
      "    TwWebhookSecret file:$lf",
      '    TwWebhookMaxBodySize 16777216',
      '    TwWebhookSpoolMemoryLimit 67108864',
      '</VirtualHost>']],
    ['TwWebhook Off alone', ['TwWebhook Off']],
    ['a 4096-byte secret file (the longest allowed)', ["TwWebhookSecret file:$max"]],
    ['a relative file: path, taken from ServerRoot', ['TwWebhookSecret file:relative.secret']],
    ['the documented extras',
     ['<Location /h>', "    TwWebhookSecret $tok", '    TwWebhookEvents page.* comment.created *.deleted',
      '    TwWebhookExportJSON /page/id TW_PAGE_ID', '    TwWebhookRequireJSON On',
      '    TwWebhookSignatureHeader X-Hub-Signature-256', '    TwWebhookEventHeader X-GitHub-Event',
      '    TwWebhookDeliveryHeader X-GitHub-Delivery', '</Location>',
      qq(LoadModule socache_shmcb_module "$libexec/mod_socache_shmcb.so"),
      'TwWebhookReplayCache shmcb',
      'TwWebhookReplayWindow 2592000', 'TwWebhookReplayCacheFailure closed']],
    ['module loaded, no directive', []],
    ['TwWebhookInbox redis:host, redis:host:port and redis:host:port/db (no directory checks)',
     ['<Location /a>', "    TwWebhookSecret $tok", '    TwWebhookInbox redis:127.0.0.1:6379',
      '    TwWebhookInboxHold On', '</Location>',
      '<Location /b>', "    TwWebhookSecret $tok", '    TwWebhookInbox redis:localhost:6380/15',
      '</Location>',
      '<Location /c>', "    TwWebhookSecret $tok", '    TwWebhookInbox redis:127.0.0.1',
      '</Location>']],
    (map { ["TwWebhookInboxTimeout $_ (server config)",
            ["TwWebhookInboxTimeout $_", '<Location /q>', "    TwWebhookSecret $tok",
             '    TwWebhookInbox redis:127.0.0.1:6379', '    TwWebhookQueue On', '</Location>']] }
         qw(10ms 500ms 2 60)),
);
for my $case (@good) {
    my ($name, $lines) = @$case;
    my ($rc, $out) = configtest($lines);
    subtest "configtest passes: $name" => sub {
        is($rc, 0, 'httpd -t exits 0') or diag($out);
        like($out, qr/Syntax OK/, 'Syntax OK');
    };
}

# conf/twwebhook.load and conf/twwebhook.conf, as shipped. The .load file
# names the installed module; here it is pointed at the build tree.
subtest 'conf/twwebhook.load and conf/twwebhook.conf parse' => sub {
    my $load = "$top/conf/twwebhook.load";
    my $conf = "$top/conf/twwebhook.conf";
    ok(-f $load, 'conf/twwebhook.load exists') or return;
    ok(-f $conf, 'conf/twwebhook.conf exists') or return;
    my $text = slurp($load);
    like($text, qr/^\s*LoadModule\s+twwebhook_module\s+\S*mod_twwebhook\.so\s*$/m,
         'the .load file loads twwebhook_module from mod_twwebhook.so');
    (my $local = $text) =~ s/^(\s*LoadModule\s+twwebhook_module\s+)\S+/$1"$so"/m;
    my $local_load = write_file("$dir/twwebhook.load", $local, 0644);
    my @pre = @preamble[0 .. $#preamble - 1];   # without our own LoadModule

    my ($rc, $out) = configtest([qq(Include "$local_load"), qq(Include "$conf")], \@pre);
    is($rc, 0, 'twwebhook.load + twwebhook.conf: httpd -t exits 0') or diag($out);
    ($rc, $out) = configtest([qq(Include "$conf")], \@pre);
    is($rc, 0, 'twwebhook.conf without the module loaded: httpd -t exits 0') or diag($out);

    # The commented example between "BEGIN EXAMPLE" and "END EXAMPLE",
    # uncommented, with its file: secrets pointed at real files.
    my ($example) = slurp($conf) =~ /BEGIN EXAMPLE[^\n]*\n(.*?)\n[^\n]*END EXAMPLE/s;
    ok(defined $example && length $example, 'the example block is marked') or return;
    my @lines = map { s/^\s*#//r } split /\n/, $example;
    my $uncommented = join "\n", @lines;
    like($uncommented, qr/^\s*TwWebhookSecret\s/m, 'the example sets a TwWebhookSecret');
    $uncommented =~ s{file:\S+}{file:$lf}g;
    my $example_file = write_file("$dir/example.conf", "$uncommented\n", 0644);
    ($rc, $out) = configtest([qq(Include "$local_load"), qq(Include "$example_file")],
                             [@pre, qq(LoadModule proxy_module "$libexec/mod_proxy.so"),
                              qq(LoadModule proxy_fcgi_module "$libexec/mod_proxy_fcgi.so")]);
    is($rc, 0, 'the uncommented example: httpd -t exits 0') or diag($out . $uncommented);
};

done_testing();
