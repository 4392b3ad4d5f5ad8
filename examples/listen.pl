#!/usr/bin/perl
# Tiny stand-in "service" for the examples: opens the listeners named on the
# command line and then just waits.  Uses only perl-base (present in every
# Debian image, -slim included), so the example images need no package install.
#
#   listen.pl tcp:80 tcp:443 udp:5353 tcp6:8080
#
# tcp:PORT / udp:PORT bind 0.0.0.0, tcp6:PORT / udp6:PORT bind ::.
use strict;
use warnings;
use IO::Socket::IP;

$SIG{TERM} = $SIG{INT} = sub { exit 0 };    # we run as PID 1: exit on docker stop
$| = 1;

my @socks;
for my $spec (@ARGV) {
    my ($proto, $port) = $spec =~ /^(tcp6?|udp6?):(\d+)$/
        or die "listen.pl: bad spec '$spec' (want tcp:PORT, udp:PORT, tcp6:PORT, udp6:PORT)\n";
    my $v6 = $proto =~ /6$/;
    my %common = (LocalHost => $v6 ? '::' : '0.0.0.0', LocalPort => $port, ReuseAddr => 1);
    my $s = $proto =~ /^tcp/
        ? IO::Socket::IP->new(%common, Proto => 'tcp', Listen => 16)
        : IO::Socket::IP->new(%common, Proto => 'udp');
    die "listen.pl: cannot open $spec: $@\n" unless $s;
    push @socks, $s;
    print "listening on $spec\n";
}
sleep 3600 while 1;
